"""Facts of the DEAM dataset (Aljanaki, Yang & Soleymani, 2017) that code in every layer
relies on: one place for them."""

ANNOTATION_START_S = 15.0  # dynamic annotations begin 15 s into each song ...
ANNOTATION_STEP_S = 0.5  # ... and follow every 500 ms (2 Hz)
CLIP_IDS = range(2, 2001)  # the 45-s clips of 2013 and 2014 (1744 of these ids exist)
FULL_SONG_IDS = range(2001, 2059)  # the 58 full songs of 2015, MediaEval 2015's test set

# SHA-256 of the official archives (as reported by people who downloaded them, 2026-09):
# annotations are "the official DEAM annotations" only when they were unpacked from an
# archive with one of these digests (emoreco.data.provenance)
OFFICIAL_ARCHIVE_SHA256 = {
    "DEAM_Annotations.zip": "809b0feb4ba6196c1eda9b2b7b33b892b11fa71457cfceb0d47e832ed1a5f15f",
    "DEAM_audio.zip": "e2814325f573ade8caebc697f0efcfdf7207142b737d72558a416117ca591353",
    "metadata.zip": "3d1d5ab42e852803a770f2cfbd685c6b464e1ebe76f26b0e10954597902b90f8",
}

"""Facts of the DEAM dataset (Aljanaki, Yang & Soleymani, 2017) that code in every layer
relies on: one place for them."""

ANNOTATION_START_S = 15.0  # dynamic annotations begin 15 s into each song ...
ANNOTATION_STEP_S = 0.5  # ... and follow every 500 ms (2 Hz)
CLIP_IDS = range(2, 2001)  # the 45-s clips of 2013 and 2014 (1744 of these ids exist)
FULL_SONG_IDS = range(2001, 2059)  # the 58 full songs of 2015, MediaEval 2015's test set

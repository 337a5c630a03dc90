"""Bounds on every number the program takes from files it did not write in this run
(model folders, bundles, records, manifests), in one place.

A models folder received from someone else is untrusted input until checked: its
parameters decide how much memory every prediction allocates (a sample rate and FFT
sizes a thousand times the default made an 8-second song allocate 4 GB). Each bound is
generous for any sensible model (the defaults are in brackets) and keeps the work of a
ten-minute song within a few hundred MB, so a hostile folder is refused in one line
before any work.
"""

from __future__ import annotations

# JSON read back (emoreco.core.jsonfile): records, journals, manifests
JSON_MAX_BYTES = 64 << 20
JSON_MAX_DEPTH = 64  # emoreco's own records nest at most 6 levels

# FeatureParams: field -> (lowest, highest) accepted value, inclusive
FEATURE_BOUNDS: dict[str, tuple[float, float]] = {
    "sample_rate": (4000, 48000),  # [12000] Hz
    "start_s": (0.0, 3600.0),  # [15] s
    "window_s": (0.05, 30.0),  # [1.5] s
    "hop_s": (0.05, 10.0),  # [0.5] s
    "annotation_step_s": (0.05, 10.0),  # [0.5] s
    "n_fft": (32, 8192),  # [512] samples: one STFT block of 4096 frames stays < 300 MB
    "win_length": (16, 8192),  # [256] samples, at most n_fft
    "hop_length": (8, 8192),  # [250] samples
    "n_mels": (8, 256),  # [96]
    "n_mfcc": (1, 256),  # [40], at most n_mels
    "chroma_n_fft": (64, 8192),  # [2048] samples
    "chroma_tuning": (-0.5, 0.5),  # [0] semitones
    "segment_s": (0.05, 10.0),  # [0.5] s
    "context_segments": (1, 64),  # [6]
}
MAX_FRAMES_PER_SECOND = 400  # sample_rate / hop_length [48]
MAX_FRAMES_PER_WINDOW = 4096  # STFT frames in one model input [72]
MAX_INPUT_VALUES = 1 << 18  # rows x columns of one model input [40 x 72]

# The files of a saved model (emoreco.model.files)
MODEL_META_MAX_BYTES = 16 << 20  # <name>.meta.json [about 60 kB]
ARCHITECTURE_MAX_BYTES = 4 << 20  # <name>.json, the Keras architecture [about 10 kB]
ARCHITECTURE_MAX_LAYERS = 256  # [11 and 5 layers]
ONNX_MAX_BYTES = 256 << 20  # <name>.onnx [about 100 kB]
WEIGHTS_MAX_BYTES = 256 << 20  # <name>.weights.h5 [about 150 kB]

# Corpora
MAX_SONG_ID = 999_999_999  # a song id in annotations (training keys: corpus * 10**9 + id)

"""Layer 2, audio to features: decoding any file to mono at 12 kHz (``decode``), the
filterbanks, and song-level MFCC and chroma on one frame grid (``features``).

Imports only ``emoreco.core``. Installed with the core install (NumPy, SciPy, soundfile,
soxr, PyAV).
"""

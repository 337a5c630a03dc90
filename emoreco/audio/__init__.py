"""Layer 2, audio to features: decoding any file to mono at 12 kHz (``decode``, with the
resampler of ``resample``), the filterbanks, song-level MFCC and chroma on one frame grid
(``features``), and the same frames of a live stream as its audio arrives (``stream``).

Imports only ``emoreco.core``. Installed with the core install (NumPy, SciPy, soundfile,
PyAV).
"""

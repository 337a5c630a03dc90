"""emoreco: dynamic music emotion recognition (valence and arousal) on DEAM.

Layers, as in CREPE and basic-pitch:

1. pure array functions: :mod:`emoreco.features` (features, window alignment),
   :mod:`emoreco.models` (Keras architectures), :mod:`emoreco.metrics`;
2. per-file / per-song processing: :mod:`emoreco.annotations`, :mod:`emoreco.audio`,
   :mod:`emoreco.dataset`, :mod:`emoreco.training`, :mod:`emoreco.predict`,
   :mod:`emoreco.report`, :mod:`emoreco.demo`;
3. thin command-line entry points: :mod:`emoreco.cli` (used by ``MAIN*.py`` and
   ``python -m emoreco``).

Importing the package imports neither TensorFlow nor librosa.
"""

__version__ = "0.1.0"

"""emoreco: dynamic music emotion recognition (valence and arousal) on DEAM.

Layers, as in CREPE and basic-pitch (a module imports only from its own layer or below):

1. pure array functions: :mod:`~emoreco.config` (parameters), :mod:`~emoreco.digest`,
   :mod:`~emoreco.filterbanks` (mel, chroma, DCT), :mod:`~emoreco.features`
   (song-level MFCC/chroma, framing, target alignment), :mod:`~emoreco.windows` (model
   inputs for output times), :mod:`~emoreco.scaler`, :mod:`~emoreco.curves` (curves,
   quadrants), :mod:`~emoreco.metrics`, :mod:`~emoreco.models` (Keras architectures),
   :mod:`~emoreco.targets` (what differs between targets), :mod:`~emoreco.scoring` (the
   one scoring path);
2. per-file and per-song processing: :mod:`~emoreco.audio`, :mod:`~emoreco.annotations`,
   :mod:`~emoreco.deam_layout`, :mod:`~emoreco.corpus`, :mod:`~emoreco.feature_cache`,
   :mod:`~emoreco.extraction`, :mod:`~emoreco.engine` (this process or Dask),
   :mod:`~emoreco.result_parts` (resumable results), :mod:`~emoreco.examples`,
   :mod:`~emoreco.split`,
   :mod:`~emoreco.model_meta`, :mod:`~emoreco.persistence`, :mod:`~emoreco.runtime` (ONNX
   Runtime), :mod:`~emoreco.provenance`, :mod:`~emoreco.fetch`, :mod:`~emoreco.training`,
   :mod:`~emoreco.predict`, :mod:`~emoreco.output_set`, :mod:`~emoreco.plots`,
   :mod:`~emoreco.report`, :mod:`~emoreco.demo`;
3. thin command-line entry points: :mod:`emoreco.cli` (used by ``MAIN*.py``,
   ``python -m emoreco`` and the ``emoreco`` command).

Importing the package imports neither TensorFlow nor librosa; prediction never does.
"""

__version__ = "0.2.0"

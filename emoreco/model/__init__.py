"""Layer 3, models and scoring: what differs between targets (``targets``), model
inputs for output times (``windows``), the scaler, curves, metrics, the one scoring path
(``scoring``), the Keras architectures, model files and metadata, ONNX Runtime, and the
:class:`~emoreco.model.predictor.Predictor` that turns a song into curves, and the curves
of a live stream (``live``).

Imports only ``emoreco.core`` and ``emoreco.audio`` (never ``emoreco.data``). Prediction
runs with the core install; Keras and TensorFlow are imported only to build, train, save
or export a model (the ``training`` extra).
"""

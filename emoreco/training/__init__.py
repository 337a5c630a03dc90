"""Layer 5, training: examples of a labelled corpus, song-level splits, fitting and the
evaluation protocols (``fit``), and :func:`~emoreco.training.run.train`, the work of
``MAIN_arousal.py`` and ``MAIN_valence.py``.

Imports the layers below, never ``emoreco.runs``. Needs the ``training`` extra
(TensorFlow/Keras, tf2onnx, h5py, pandas).
"""

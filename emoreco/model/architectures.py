"""Keras architectures and the Keras model call. Keras/TensorFlow are imported lazily.

Each builder takes the input shape (rows, columns) and the learning rate, and returns a
compiled model with output shape (batch, 1); :mod:`emoreco.model.targets` says which target
uses which builder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emoreco.model.keras_import import import_keras

# Keras' default (0.99) lets the running statistics lag far behind the weights when an
# epoch has few steps (small corpora): validation loss then rises from epoch 1.
BATCHNORM_MOMENTUM = 0.9


def build_arousal_cnn(input_shape: tuple[int, int], learning_rate: float) -> Any:
    """2-D CNN over one MFCC window (coefficients x frames) -> arousal.

    Input shape (batch, n_mfcc, n_frames); output shape (batch, 1). Frames are first
    averaged in pairs (41.7 ms resolution is plenty for arousal), which halves the cost:
    see ``benchmarks/bench_training.py`` for the epoch time.
    """
    keras = import_keras()
    from keras import layers

    n_mfcc, n_frames = input_shape
    inputs = keras.Input(shape=(n_mfcc, n_frames), name="mfcc_window")
    x = layers.Reshape((n_mfcc, n_frames, 1))(inputs)
    x = layers.AveragePooling2D((1, 2))(x)
    for filters in (8, 16, 32):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=BATCHNORM_MOMENTUM)(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(32, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(1, name="arousal")(x)
    model = keras.Model(inputs, outputs, name="arousal_cnn")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


def build_valence_lstm(input_shape: tuple[int, int], learning_rate: float) -> Any:
    """LSTM over a sequence of 0.5 s chroma vectors -> valence of the last segment.

    Input shape (batch, context_segments, 12); output shape (batch, 1). Key invariance
    is learnt from random transpositions of the training sequences
    (:func:`random_transpose`).
    """
    keras = import_keras()
    from keras import layers

    context_segments, n_chroma = input_shape
    inputs = keras.Input(shape=(context_segments, n_chroma), name="chroma_sequence")
    x = layers.LSTM(64)(inputs)
    x = layers.Dense(32, activation="relu")(x)
    outputs = layers.Dense(1, name="valence")(x)
    model = keras.Model(inputs, outputs, name="valence_lstm")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


def random_transpose(batch: Any, seed: int) -> Any:
    """Shift each sequence's 12 pitch classes by a random number of semitones (TensorFlow).

    Parameters
    ----------
    batch : tf.Tensor, shape (n, context, 12)
    seed : int
        Op seed; with Keras' global seed the shifts are reproducible.

    Returns
    -------
    tf.Tensor, same shape: ``out[i, :, p] = batch[i, :, (p - shift_i) % 12]``, the same
    shift for every segment of a sequence (a key change, not a chord change).
    """
    import tensorflow as tf

    n_chroma = batch.shape[-1]
    shifts = tf.random.uniform([tf.shape(batch)[0]], 0, n_chroma, dtype=tf.int32, seed=seed)
    index = tf.math.floormod(tf.range(n_chroma)[None, :] - shifts[:, None], n_chroma)
    return tf.gather(batch, index, axis=2, batch_dims=1)


def model_summary(model: Any) -> str:
    """The Keras summary table as a string."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    return "\n".join(lines)


def keras_call(model: Any, batch_size: int = 1024) -> Callable[[np.ndarray], np.ndarray]:
    """A function that runs ``model`` in inference mode on a batch, shape (n, ...) -> (n,)."""

    def call(inputs: np.ndarray) -> np.ndarray:
        parts = [np.asarray(model(inputs[i:i + batch_size], training=False)).reshape(-1)
                 for i in range(0, len(inputs), batch_size)]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    return call

"""Keras, with TensorFlow under it, imported with TensorFlow's start-up lines kept quiet.

TensorFlow 2.21 writes "All log messages before absl::InitializeLog() is called are
written to STDERR" and "oneDNN custom operations are on ..." (twice) to standard error as
it loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says: library chatter in every training run.
The first import therefore runs with file descriptor 2 pointed at the null device; a
failing import still raises its exception, which carries its message.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType


def import_keras() -> ModuleType:
    """The ``keras`` module (TensorFlow loaded under it), imported quietly the first time."""
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return sys.modules["keras"]
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to protect
        saved = None
    if saved is not None:
        sys.stderr.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
    try:
        import keras
        import tensorflow  # noqa: F401  (keras' backend: loaded here, quietly)
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
    return keras

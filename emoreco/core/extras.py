"""Optional parts of the install: which extra brings which library.

The core install predicts (decode, features, ONNX Runtime, tables, pictures, the
report); ``emoreco[catalog]`` adds Dask and pyarrow (local worker processes, clusters,
Parquet tables), ``emoreco[training]`` TensorFlow/Keras, tf2onnx, h5py and pandas.
"""

from __future__ import annotations

import importlib.util

from emoreco.core.errors import EmorecoError


class MissingExtra(EmorecoError):
    """An option needs a library of an extra that is not installed."""


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


def require(module: str, extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` (one line naming the extra) unless ``module`` can be
    imported."""
    if not installed(module):
        raise MissingExtra(f"{what} needs the {extra} extra ({module} is not installed): "
                           f"pip install 'emoreco[{extra}]' (pinned in "
                           f"requirements-{extra}.txt)")


def require_training() -> None:
    """One line naming the ``training`` extra when a library of it is missing (call it
    before importing the modules that need them)."""
    for module in ("tensorflow", "keras", "tf2onnx", "h5py", "pandas"):
        require(module, "training", "training")

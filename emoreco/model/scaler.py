"""Input standardisation fitted on training songs (pure numpy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Scaler:
    """``(x - mean) / std`` with statistics broadcast against a batch.

    Attributes
    ----------
    mean, std : np.ndarray, float32
        Shape (1, rows, 1) when fitted per row (arousal: one value per MFCC
        coefficient), (1, 1, 1) when fitted globally (valence: one value, so transposing
        chroma stays harmless).
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, inputs: np.ndarray, axes: tuple[int, ...]) -> "Scaler":
        """Statistics of ``inputs`` (n, rows, columns) over ``axes`` (kept as size 1)."""
        mean = inputs.mean(axis=axes, keepdims=True, dtype=np.float64)
        std = inputs.std(axis=axes, keepdims=True, dtype=np.float64)
        return cls(mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32))

    def apply(self, inputs: np.ndarray) -> np.ndarray:
        """Standardised copy, float32."""
        return ((inputs - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> "Scaler":
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(record["mean"], np.float32), np.asarray(record["std"], np.float32))

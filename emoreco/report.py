"""Pictures and the offline HTML report. matplotlib is imported lazily (Agg backend)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.atomic import atomic_path

QUADRANTS = {  # (valence >= 0, arousal >= 0) -> label, as on the valence-arousal diagram
    (True, True): "happy / excited",
    (False, True): "angry / tense",
    (False, False): "sad / depressed",
    (True, False): "calm / relaxed",
}


def quadrant(valence: float, arousal: float) -> str:
    """Emotion label of a point of the valence-arousal plane."""
    return QUADRANTS[(valence >= 0, arousal >= 0)]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: str | Path) -> None:
    plt = _pyplot()
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    plt.close(figure)


def plot_loss(history: dict[str, list[float]], path: str | Path, title: str) -> None:
    """Training and validation loss per epoch."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 3.5))
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if key in history:
            axis.plot(np.arange(1, len(history[key]) + 1), history[key], label=label)
    axis.set(xlabel="epoch", ylabel="MSE", title=title)
    axis.grid(alpha=0.3)
    axis.legend()
    _save(figure, path)

"""Matplotlib pictures: loss curves, curve tracks, the valence-arousal plane, song means.

Figures are built with :class:`matplotlib.figure.Figure` directly (no ``pyplot``), so
drawing changes no process-wide state such as the backend. matplotlib is imported lazily.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.core.atomic import atomic_path
from emoreco.core.text import printable
from emoreco.model.curves import QUADRANTS, EmotionCurve

COLOURS = {"arousal": "tab:red", "valence": "tab:blue"}


def _figure(width: float, height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def png_bytes(figure: Any, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def write_png(data: bytes, path: str | Path) -> None:
    """Write PNG bytes atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def loss_figure(history: dict[str, list[float]], title: str) -> Any:
    """Training and validation loss per epoch."""
    figure, axis = _figure(6, 3.5)
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if key in history:
            axis.plot(np.arange(1, len(history[key]) + 1), history[key], label=label)
    axis.set(xlabel="epoch", ylabel="MSE", title=title)
    axis.grid(alpha=0.3)
    axis.legend()
    return figure


def tracks_figure(curves: Sequence[EmotionCurve], target: str) -> Any:
    """One target's curve for every song."""
    figure, axis = _figure(8, 3.8)
    for curve in curves:
        axis.plot(curve.times_s, curve.values[target], label=printable(curve.song), linewidth=1.6)
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set(xlabel="time (s)", ylabel=target, ylim=(-1, 1), title=f"Predicted {target} (2 Hz)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return figure


def plane_figure(curves: Sequence[EmotionCurve]) -> Any:
    """Trajectories in the valence-arousal plane (dot: start, star: mean)."""
    figure, axis = _figure(6.4, 6)
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.axvline(0, color="grey", linewidth=0.8)
    for (positive_v, positive_a), label in QUADRANTS.items():
        axis.text(0.55 if positive_v else -0.55, 0.9 if positive_a else -0.9, label,
                  ha="center", va="center", fontsize=10, color="dimgray", style="italic")
    for curve in curves:
        both = np.isfinite(curve.valence) & np.isfinite(curve.arousal)
        valence, arousal = curve.valence[both], curve.arousal[both]
        line, = axis.plot(valence, arousal, linewidth=1.0, alpha=0.7)
        axis.plot(valence[:1], arousal[:1], "o", color=line.get_color(), markersize=4)
        axis.plot(np.nanmean(curve.valence), np.nanmean(curve.arousal), "*",
                  color=line.get_color(), markersize=14, markeredgecolor="black",
                  label=printable(curve.song))
    axis.set(xlim=(-1, 1), ylim=(-1, 1), xlabel="valence", ylabel="arousal",
             title="Valence-arousal trajectories (dot: start, star: mean)")
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return figure

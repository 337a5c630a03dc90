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


def mark_demo(figure: Any, warning: str | None) -> None:
    """Write a short demo-models warning across the bottom of ``figure`` (if any)."""
    if warning:
        figure.text(0.5, -0.02, "DEMO MODELS (synthetic corpus): not meaningful for real "
                    "music", ha="center", va="top", color="#a05a00", fontsize=10,
                    fontweight="bold")


def loss_figure(history: dict[str, list[float]], title: str,
                warning: str | None = None) -> Any:
    """Training and validation loss per epoch on a log scale (the first epochs' loss
    would flatten the rest), the kept epoch marked (lowest validation loss: early
    stopping restores its weights)."""
    figure, axis = _figure(6, 3.5)
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if key in history:
            axis.plot(np.arange(1, len(history[key]) + 1), history[key], label=label)
    losses = [v for key in ("loss", "val_loss") for v in history.get(key, [])]
    if losses and min(losses) > 0:
        axis.set_yscale("log")
    if history.get("val_loss"):
        kept = int(np.argmin(history["val_loss"])) + 1
        axis.axvline(kept, color="black", linestyle="--", linewidth=1,
                     label=f"kept: epoch {kept} (lowest validation loss)")
    axis.set(xlabel="epoch", ylabel="MSE (log scale)", title=title)
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    mark_demo(figure, warning)
    return figure


MAX_TRACK_PANELS = 12  # songs drawn in a tracks picture; the tables hold every song


def tracks_figure(curves: Sequence[EmotionCurve], target: str, warning: str | None = None,
                  band_level: float | None = None) -> Any:
    """One target's curve for each song (the first :data:`MAX_TRACK_PANELS`), one panel
    per song in the target's colour (:data:`COLOURS`), its band (at ``band_level``, the
    level the model's band promises) shaded around it."""
    shown = list(curves[:MAX_TRACK_PANELS])
    columns = 1 if len(shown) <= 2 else 2
    rows = max(1, -(-len(shown) // columns))
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8 if columns == 1 else 11, 1.0 + 1.9 * rows))
    axes = np.atleast_1d(figure.subplots(rows, columns, sharey=True, squeeze=False)).ravel()
    colour = COLOURS.get(target, "black")
    banded = False
    for axis, curve in zip(axes, shown):
        if target in curve.bands:
            low, high = curve.bands[target]
            axis.fill_between(curve.times_s, low, high, color=colour, alpha=0.2, linewidth=0)
            banded = True
        axis.plot(curve.times_s, curve.values[target], color=colour, linewidth=1.4)
        axis.axhline(0, color="grey", linewidth=0.8)
        axis.set(ylim=(-1, 1), xlabel="time (s)", ylabel=target)
        axis.set_title(printable(curve.song), fontsize=9, loc="left")
        axis.grid(alpha=0.3)
    for axis in axes[len(shown):]:
        axis.set_visible(False)
    more = f" (first {len(shown)} of {len(curves)} songs)" if len(curves) > len(shown) else ""
    band = ("; shaded: " + (f"the {band_level:.0%} band" if band_level else "the band")
            if banded else "")
    figure.suptitle(f"Predicted {target}, 2 values a second{band}{more}", fontsize=11)
    figure.tight_layout()
    mark_demo(figure, warning)
    return figure


def plane_figure(curves: Sequence[EmotionCurve], warning: str | None = None) -> Any:
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
    mark_demo(figure, warning)
    return figure

"""The PNG pictures: loss on a log scale with the kept epoch, the demo warning on them."""

from __future__ import annotations

import numpy as np

from emoreco.model.curves import EmotionCurve
from emoreco.outputs.plots import loss_figure, plane_figure, png_bytes, tracks_figure


def _texts(figure) -> list[str]:
    return [text.get_text() for text in figure.texts]


def test_loss_is_on_a_log_scale_and_marks_the_kept_epoch():
    history = {"loss": [1.04, 0.2, 0.05, 0.04, 0.041],
               "val_loss": [0.9, 0.1, 0.03, 0.035, 0.04]}
    figure = loss_figure(history, "arousal model loss (MSE)")
    axis = figure.axes[0]
    assert axis.get_yscale() == "log"
    marks = [line for line in axis.get_lines() if line.get_linestyle() == "--"]
    assert len(marks) == 1 and marks[0].get_xdata()[0] == 3  # lowest validation loss
    assert "kept: epoch 3" in marks[0].get_label()
    assert not _texts(figure)  # no warning without demo models
    flat = loss_figure({"loss": [0.0, 0.1]}, "t")  # a zero loss: a linear scale
    assert flat.axes[0].get_yscale() == "linear"


def test_every_picture_carries_the_demo_warning_when_the_models_are_demo_models():
    times = np.arange(0, 10, 0.5)
    curve = EmotionCurve("s", times, {"arousal": np.sin(times) / 2,
                                      "valence": np.cos(times) / 2})
    warning = "these models were trained on the synthetic demo corpus"
    for figure in (tracks_figure([curve], "arousal", warning), plane_figure([curve], warning),
                   loss_figure({"loss": [1.0, 0.5], "val_loss": [1.0, 0.6]}, "t", warning)):
        assert any("DEMO MODELS" in text for text in _texts(figure))
        assert png_bytes(figure)[:4] == b"\x89PNG"
    assert not any("DEMO" in text for text in _texts(tracks_figure([curve], "arousal")))


def test_tracks_draw_one_colour_per_target_a_panel_per_song_and_the_band():
    times = np.arange(0, 10, 0.5)
    values = {"arousal": np.sin(times) / 2, "valence": np.cos(times) / 2}
    banded = EmotionCurve("a", times, values,
                          {"arousal": (values["arousal"] - 0.1, values["arousal"] + 0.1)})
    plain = EmotionCurve("b", times, values)
    figure = tracks_figure([banded, plain], "arousal", band_level=0.8)
    first, second = figure.axes
    assert [line.get_color() for line in first.get_lines()][0] == "tab:red"
    assert len(first.collections) == 1 and not second.collections  # the band is shaded
    np.testing.assert_allclose(first.collections[0].get_paths()[0].vertices[:, 1].max(),
                               (values["arousal"] + 0.1).max())
    assert "the 80% band" in figure._suptitle.get_text()
    valence = tracks_figure([banded, plain], "valence")
    assert {line.get_color() for axis in valence.axes for line in axis.get_lines()[:1]} == {
        "tab:blue"}
    many = tracks_figure([plain] * 30, "valence")
    assert "first 12 of 30 songs" in many._suptitle.get_text()

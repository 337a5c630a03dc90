"""Curves of a live stream: each target's value at a time as soon as its input is final.

:class:`LiveCurves` receives the frames of :class:`~emoreco.audio.stream.FeatureStream`
and computes, for every target, the times that :func:`~emoreco.model.scoring.song_curve`
would compute once the song so far ended there, with the same input builders and models
on a window of the frames; so when the stream ends, its curve equals ``song_curve``'s
on the whole song, value for value. Memory is bounded by the frames the next inputs read.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from emoreco.audio.features import SongFeatures, frame_times
from emoreco.model.curves import EmotionCurve, band_columns, target_columns
from emoreco.model.scoring import ScaledModel, common_params


class LiveCurves:
    """Values of every target of ``models`` from ``start_s`` on, as frames arrive.

    Attributes
    ----------
    values : dict of float to dict of str to float
        Every value computed so far, time -> column -> value (for :meth:`curve`): the
        targets and, for models with a band, ``<target>_low`` and ``<target>_high``; kept
        only with ``keep_values`` (an endless stream without tables goes without).
    """

    def __init__(self, models: Mapping[str, ScaledModel], start_s: float = 0.0,
                 keep_values: bool = True) -> None:
        self.models = dict(models)
        self.params = common_params(self.models)
        params = self.params
        self._hop = params.hop_s
        self._first = {name: float(np.ceil(max(start_s, m.spec.context_s(m.params))
                                           / self._hop - 1e-9)) * self._hop
                       for name, m in self.models.items()}
        self._done = dict.fromkeys(self.models, 0)  # values computed per target
        self._mfcc = np.zeros((params.n_mfcc, 0), np.float32)
        self._chroma = np.zeros((12, 0), np.float32)
        self._base = 0  # absolute index of the buffers' first frame
        self._frames = {"mfcc": 0, "chroma": 0}  # frames received of each matrix
        self._keep = keep_values
        self.values: dict[float, dict[str, float]] = {}

    def add(self, mfcc: np.ndarray, chroma: np.ndarray) -> list[tuple[float, dict[str, float]]]:
        """Append final frames (the matrices may be of different lengths: each target
        waits for the one it reads); return the new values, ``(time, {target: value})``
        in time order (a time may come twice: once per target that reaches it); the
        band's bounds come with their target's value (``arousal_low``, ...)."""
        if not mfcc.shape[1] and not chroma.shape[1]:
            return []
        self._mfcc = np.concatenate([self._mfcc, mfcc], axis=1)
        self._chroma = np.concatenate([self._chroma, chroma], axis=1)
        self._frames["mfcc"] += mfcc.shape[1]
        self._frames["chroma"] += chroma.shape[1]
        params = self.params
        view = SongFeatures(self._mfcc, self._chroma,
                            frame_times(self._mfcc.shape[1], params),
                            (self._mfcc.shape[1] - 1) * params.frame_period_s)
        offset_s = self._base * params.frame_period_s
        new: dict[float, dict[str, float]] = {}
        for name, model in self.models.items():
            duration = (self._frames[model.spec.feature] - 1) * params.frame_period_s
            span = model.spec.span_s(model.params)
            room = duration - self._first[name] - span  # as window_grid counts them
            count = int(np.floor(room / self._hop + 1e-9)) + 1 if room >= -1e-9 else 0
            if count <= self._done[name]:
                continue
            times = self._first[name] + self._hop * np.arange(self._done[name], count)
            values = model(model.spec.build_inputs(view, times - offset_s, model.params))
            columns = {name: values}
            if model.band is not None:
                columns.update(zip(band_columns(name), model.band.interval(values)))
            for number, time_s in enumerate(times.tolist()):
                at_time = {key: float(column[number]) for key, column in columns.items()}
                new.setdefault(time_s, {}).update(at_time)
                if self._keep:
                    self.values.setdefault(time_s, {}).update(at_time)
            self._done[name] = count
        self._forget()
        return sorted(new.items())

    def frames_wanted(self) -> dict[str, int]:
        """For each matrix a target reads, the frame count (from the stream's start) at
        which :meth:`add` can compute the next value of a target reading it (for
        :meth:`~emoreco.audio.stream.FeatureStream.push`)."""
        period = self.params.frame_period_s
        wanted: dict[str, int] = {}
        for name, model in self.models.items():
            end_s = (self._first[name] + self._hop * self._done[name]
                     + model.spec.span_s(model.params))
            frames = int(np.ceil(end_s / period - 1e-6)) + 1  # add(): (frames - 1) * period
            feature = model.spec.feature
            wanted[feature] = min(wanted.get(feature, frames), frames)
        return wanted

    def _forget(self) -> None:
        """Drop the frames no later input reads (keeping the segment grid aligned)."""
        params = self.params
        earliest = min(self._first[name] + self._done[name] * self._hop
                       - model.spec.context_s(model.params)
                       for name, model in self.models.items())
        keep_from = int(np.floor(earliest / params.hop_s + 1e-9)) * params.frames_per_hop
        drop = min(keep_from - self._base, self._chroma.shape[1], self._mfcc.shape[1])
        drop -= drop % params.frames_per_hop  # the base stays on the segment grid
        if drop > 0:
            self._mfcc = self._mfcc[:, drop:]
            self._chroma = self._chroma[:, drop:]
            self._base += drop

    def curve(self, song: str) -> EmotionCurve:
        """Everything computed, as :func:`~emoreco.model.scoring.song_curve` returns it."""
        return curve_of_values(song, self.values, list(self.models), self._hop)


def curve_of_values(song: str, values: Mapping[float, Mapping[str, float]],
                    targets: list[str], hop_s: float) -> EmotionCurve:
    """Values by time (on a ``hop_s`` grid) as an :class:`EmotionCurve` from the first
    time to the last, NaN where a target has no value (before its first input, or in a
    gap of a stream); bands from the ``<target>_low`` and ``_high`` columns present."""
    if not values:
        return EmotionCurve(song, np.zeros(0), {name: np.zeros(0, np.float32)
                                                for name in targets})
    first, last = min(values), max(values)
    axis = first + hop_s * np.arange(int(round((last - first) / hop_s)) + 1)
    present = {key for at_time in values.values() for key in at_time}
    banded = {t for t in targets if all(key in present for key in band_columns(t))}
    columns = {}
    for key in target_columns(targets, banded):
        column = np.full(len(axis), np.nan, np.float32)
        for time_s, at_time in values.items():
            if key in at_time:
                column[int(round((time_s - first) / hop_s))] = at_time[key]
        columns[key] = column
    bands = {t: tuple(columns[key] for key in band_columns(t)) for t in banded}
    return EmotionCurve(song, axis, {t: columns[t] for t in targets}, bands)

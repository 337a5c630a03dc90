"""Training examples of a labelled corpus: model inputs with their annotated targets."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from emoreco.data.annotations import AnnotationSeries
from emoreco.core.config import FeatureParams
from emoreco.data.corpus import Corpus
from emoreco.core.errors import ConfigError, DataLayoutError
from emoreco.data.feature_cache import FeatureCache
from emoreco.audio.features import SongFeatures, align_window_targets
from emoreco.model.targets import TargetSpec

log = logging.getLogger(__name__)


@dataclass
class WindowSet:
    """Model inputs with their targets, song ids and time axis.

    Attributes
    ----------
    inputs : np.ndarray, shape (n, rows, columns), float32
        ``TargetSpec.input_shape``: arousal (n_mfcc, frames_per_window), valence
        (context_segments, 12).
    targets : np.ndarray, shape (n,), float32
    song_ids : np.ndarray, shape (n,), int64
    times_s : np.ndarray, shape (n,)
        The output time each example refers to.
    """

    inputs: np.ndarray
    targets: np.ndarray
    song_ids: np.ndarray
    times_s: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, song_ids: np.ndarray | Iterable[int]) -> "WindowSet":
        """The windows of the given songs, in their original order."""
        mask = np.isin(self.song_ids, np.asarray(list(song_ids)))
        return WindowSet(self.inputs[mask], self.targets[mask], self.song_ids[mask],
                         self.times_s[mask])

    def shuffled(self, rng: np.random.Generator) -> "WindowSet":
        """A copy in random order."""
        order = rng.permutation(len(self))
        return WindowSet(self.inputs[order], self.targets[order], self.song_ids[order],
                         self.times_s[order])


@dataclass(frozen=True)
class LabelledSongs:
    """The songs of a corpus with their cached features, read one song at a time."""

    corpus: Corpus
    cache: FeatureCache

    def features(self, song_id: int) -> SongFeatures:
        """Cached features of one song (extraction must have run)."""
        audio_path = self.corpus.audio[song_id]
        features = self.cache.load(song_id, audio_path)
        if features is None:
            raise DataLayoutError(f"song {song_id}: no usable cached features "
                                  f"({self.cache.check(song_id, audio_path) or 'corrupt'}); "
                                  "extract the corpus again")
        return features

    def annotation(self, song_id: int) -> AnnotationSeries:
        """The song's annotation series for the corpus' target."""
        return self.corpus.annotations[song_id]


def annotated_targets(spec: TargetSpec, annotation: AnnotationSeries, times_s: np.ndarray,
                      params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """Target of each output time: the mean annotation in ``[t, t + span_s)``.

    Returns
    -------
    targets : np.ndarray, shape (n_kept,)
    keep : np.ndarray of bool, shape (n_times,)
        False where the annotations do not cover the span.
    """
    step = annotation.step_s or params.annotation_step_s
    if not np.isclose(step, params.annotation_step_s):
        raise ConfigError(f"song {annotation.song_id}: annotations every {step} s, "
                          f"expected {params.annotation_step_s} s (--annotation-step-s)")
    return align_window_targets(annotation.times_s, annotation.values, times_s,
                                spec.span_s(params), params.annotation_step_s)


def song_examples(spec: TargetSpec, features: SongFeatures, annotation: AnnotationSeries,
                  params: FeatureParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs, targets and times of one annotated song, from ``params.start_s`` on.

    The times are those of :meth:`TargetSpec.output_times` that the annotations cover,
    and the inputs are built by the same function as for prediction.

    Returns
    -------
    inputs : np.ndarray, shape (n, rows, columns)
    targets : np.ndarray, shape (n,)
    times_s : np.ndarray, shape (n,)
    """
    times = spec.output_times(features.duration_s, params, params.start_s)
    targets, keep = annotated_targets(spec, annotation, times, params)
    return spec.build_inputs(features, times[keep], params), targets, times[keep]


def build_window_set(spec: TargetSpec, songs: LabelledSongs, params: FeatureParams,
                     skip: set[int] | None = None, progress: bool = True) -> WindowSet:
    """Assemble training arrays from cached features for every song not in ``skip``."""
    from tqdm import tqdm

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    for song_id in tqdm(songs.corpus.song_ids, desc=f"{spec.name} windows", unit="song",
                        disable=not progress):
        if skip and song_id in skip:
            continue
        inputs, targets, times = song_examples(spec, songs.features(song_id),
                                               songs.annotation(song_id), params)
        if len(targets):
            parts.append((inputs, targets, times, song_id))
        else:
            log.warning("song %s: no %s window is covered by annotations; skipped",
                        song_id, spec.name)
    if not parts:
        raise DataLayoutError("no usable song: every song failed or has no covered window")
    return WindowSet(
        inputs=np.concatenate([p[0] for p in parts]).astype(np.float32, copy=False),
        targets=np.concatenate([p[1] for p in parts]).astype(np.float32),
        song_ids=np.concatenate([np.full(len(p[1]), p[3], np.int64) for p in parts]),
        times_s=np.concatenate([p[2] for p in parts]),
    )

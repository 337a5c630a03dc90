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


KEY_STRIDE = 1_000_000_000  # a song's key: its corpus' index * KEY_STRIDE + its id there


@dataclass(frozen=True)
class CorpusSongs:
    """One corpus of a training run: its label (``deam``, ``pmemo``, ``csv-2``), its songs
    and the feature cache that holds them."""

    label: str
    corpus: Corpus
    cache: FeatureCache


@dataclass(frozen=True)
class LabelledSongs:
    """The songs of one or more corpora with their cached features, read one song at a time.

    A song is known by its *key*: ``corpus index * KEY_STRIDE + id in the corpus``, so the
    first corpus' keys are its own ids (DEAM's song ids stay what they are in the
    metadata) and, e.g., key 1000000012 is song 12 of the second corpus.
    """

    parts: tuple[CorpusSongs, ...]

    def __post_init__(self) -> None:
        for part in self.parts:
            bad = [i for i in part.corpus.annotations if not 0 <= i < KEY_STRIDE]
            if bad:
                raise DataLayoutError(f"{part.label}: song id {bad[0]} is outside "
                                      f"0-{KEY_STRIDE - 1}")

    @classmethod
    def single(cls, corpus: Corpus, cache: FeatureCache, label: str = "deam"
               ) -> "LabelledSongs":
        """The songs of one corpus (keys are its song ids)."""
        return cls((CorpusSongs(label, corpus, cache),))

    def keys(self, label: str | None = None) -> list[int]:
        """Keys of every song (or of the corpus ``label``), in corpus order then id order."""
        return [index * KEY_STRIDE + song_id for index, part in enumerate(self.parts)
                if label in (None, part.label) for song_id in part.corpus.song_ids]

    def _locate(self, key: int) -> tuple[CorpusSongs, int]:
        index, song_id = divmod(int(key), KEY_STRIDE)
        return self.parts[index], song_id

    def label(self, key: int) -> str:
        """The label of the song's corpus."""
        return self._locate(key)[0].label

    def name(self, key: int) -> str:
        """How the user knows the song: ``label:id`` or ``label:file``."""
        part, song_id = self._locate(key)
        return f"{part.label}:{part.corpus.name(song_id)}"

    def strata(self, keys: Iterable[int]) -> list[np.ndarray]:
        """``keys`` grouped by corpus (one sorted array per corpus that has any)."""
        keys = np.unique(np.asarray(list(keys), dtype=np.int64))
        groups = keys // KEY_STRIDE
        return [keys[groups == group] for group in np.unique(groups)]

    def features(self, key: int) -> SongFeatures:
        """Cached features of one song (extraction must have run)."""
        part, song_id = self._locate(key)
        audio_path = part.corpus.audio[song_id]
        features = part.cache.load(song_id, audio_path)
        if features is None:
            raise DataLayoutError(f"song {self.name(key)}: no usable cached features "
                                  f"({part.cache.check(song_id, audio_path) or 'corrupt'}); "
                                  "extract the corpus again")
        return features

    def annotation(self, key: int) -> AnnotationSeries:
        """The song's annotation series for the corpus' target."""
        part, song_id = self._locate(key)
        return part.corpus.annotations[song_id]

    def rater_spread(self, key: int) -> AnnotationSeries | None:
        """The annotators' standard deviation over time, where the corpus has it."""
        part, song_id = self._locate(key)
        return part.corpus.rater_spread.get(song_id)

    def genre(self, key: int) -> str | None:
        """The song's genre, where the corpus' metadata names one."""
        part, song_id = self._locate(key)
        return part.corpus.genres.get(song_id)


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
                     skip: set[int] | None = None, progress: bool = True,
                     keys: Iterable[int] | None = None) -> WindowSet:
    """Assemble training arrays from cached features for the songs ``keys`` (default:
    all) that are not in ``skip``; ``song_ids`` of the result are song keys."""
    from tqdm import tqdm

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    for key in tqdm(list(songs.keys() if keys is None else keys), desc=f"{spec.name} windows",
                    unit="song", disable=not progress):
        if skip and key in skip:
            continue
        inputs, targets, times = song_examples(spec, songs.features(key),
                                               songs.annotation(key), params)
        if len(targets):
            parts.append((inputs, targets, times, key))
        else:
            log.warning("song %s: no %s window is covered by annotations; skipped",
                        songs.name(key), spec.name)
    if not parts:
        raise DataLayoutError("no usable song: every song failed or has no covered window")
    return WindowSet(
        inputs=np.concatenate([p[0] for p in parts]).astype(np.float32, copy=False),
        targets=np.concatenate([p[1] for p in parts]).astype(np.float32),
        song_ids=np.concatenate([np.full(len(p[1]), p[3], np.int64) for p in parts]),
        times_s=np.concatenate([p[2] for p in parts]),
    )

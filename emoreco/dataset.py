"""Per-song processing: locating DEAM data, cached feature extraction, training arrays.

Two layouts are accepted:

* the official archives unzipped side by side (``--deam-dir``): ``MEMD_audio/`` and
  ``annotations/annotations averaged per song/dynamic (per second annotations)/``;
* the original design's ``data/`` folder: ``--annotations-dir data/annotations``
  (``arousal.csv``, ``valence.csv``) with ``--audio-dir`` for the songs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emoreco.annotations import AnnotationSeries, load_dynamic_annotations
from emoreco.atomic import atomic_path
from emoreco.audio import index_audio_folder, load_audio
from emoreco.config import FeatureParams
from emoreco.errors import AudioError, ConfigError, DataLayoutError, EmorecoError
from emoreco.features import (N_CHROMA, SongFeatures, align_window_targets,
                              compute_song_features, frame_times, frame_windows,
                              segment_means, segment_sequences, window_grid)

log = logging.getLogger(__name__)

OFFICIAL_AUDIO = Path("MEMD_audio")
OFFICIAL_DYNAMIC = Path("annotations", "annotations averaged per song",
                        "dynamic (per second annotations)")
OFFICIAL_STATIC = Path("annotations", "annotations averaged per song", "song_level")
TARGETS = ("arousal", "valence")


@dataclass(frozen=True)
class DeamPaths:
    """Where one corpus lives: an audio folder and the dynamic annotation CSVs."""

    audio_dir: Path
    annotations_dir: Path

    def annotation_csv(self, target: str) -> Path:
        """``arousal.csv`` or ``valence.csv``."""
        return self.annotations_dir / f"{target}.csv"


def locate_deam(deam_dir: str | Path | None = None, audio_dir: str | Path | None = None,
                annotations_dir: str | Path | None = None) -> DeamPaths:
    """Resolve the audio folder and annotation folder from the user's options.

    ``deam_dir`` may be the official layout or the design's ``data/`` layout (with
    ``annotations/arousal.csv``); ``audio_dir`` / ``annotations_dir`` override either.

    Raises
    ------
    DataLayoutError
        Naming every place that was looked at.
    """
    if deam_dir is None and (audio_dir is None or annotations_dir is None):
        raise DataLayoutError("give --deam-dir, or both --audio-dir and --annotations-dir")
    if deam_dir is not None:
        root = Path(deam_dir)
        if not root.is_dir():
            raise DataLayoutError(f"{root}: DEAM folder not found")
        candidates = [root / OFFICIAL_DYNAMIC, root / "annotations", root]
        found = next((c for c in candidates if (c / "arousal.csv").is_file()
                      or (c / "valence.csv").is_file()), None)
        if annotations_dir is None:
            if found is None:
                raise DataLayoutError(
                    f"{root}: no arousal.csv / valence.csv in "
                    + ", ".join(f"'{c}'" for c in candidates))
            annotations_dir = found
        if audio_dir is None:
            audio_dir = root / OFFICIAL_AUDIO
    audio_path, annotations_path = Path(audio_dir), Path(annotations_dir)  # type: ignore[arg-type]
    if not audio_path.is_dir():
        raise DataLayoutError(f"{audio_path}: audio folder not found (expected <song_id>.mp3 "
                              "files; use --audio-dir)")
    if not annotations_path.is_dir():
        raise DataLayoutError(f"{annotations_path}: annotation folder not found")
    return DeamPaths(audio_path, annotations_path)


@dataclass
class Corpus:
    """Songs that have both audio and the requested annotations.

    Attributes
    ----------
    audio : dict of int to Path
    annotations : dict of int to AnnotationSeries
        Only songs that also have audio.
    missing_audio, missing_annotations : list of int
        Annotated songs without audio, and audio files without annotations.
    """

    audio: dict[int, Path]
    annotations: dict[int, AnnotationSeries]
    missing_audio: list[int] = field(default_factory=list)
    missing_annotations: list[int] = field(default_factory=list)

    @property
    def song_ids(self) -> list[int]:
        """Ids usable for training, sorted."""
        return sorted(self.annotations)

    def summary(self) -> str:
        """One line per fact, for the user."""
        lines = [f"{len(self.annotations)} songs with audio and annotations"]
        if self.missing_audio:
            lines.append(f"{len(self.missing_audio)} annotated songs have no audio "
                         f"(e.g. {self.missing_audio[:5]}); skipped")
        if self.missing_annotations:
            lines.append(f"{len(self.missing_annotations)} audio files have no annotations "
                         f"(e.g. {self.missing_annotations[:5]}); skipped")
        return "\n".join(lines)


def load_corpus(paths: DeamPaths, target: str) -> Corpus:
    """Match the ``target`` annotations (arousal or valence) to audio files by song id."""
    if target not in TARGETS:
        raise ConfigError(f"target must be one of {TARGETS}, got {target!r}")
    annotations = load_dynamic_annotations(paths.annotation_csv(target))
    audio = index_audio_folder(paths.audio_dir)
    if not audio:
        raise DataLayoutError(f"{paths.audio_dir}: no <song_id>.mp3/.wav/.flac/.ogg files")
    both = sorted(set(annotations) & set(audio))
    return Corpus(audio={i: audio[i] for i in both},
                  annotations={i: annotations[i] for i in both},
                  missing_audio=sorted(set(annotations) - set(audio)),
                  missing_annotations=sorted(set(audio) - set(annotations)))


class FeatureCache:
    """Song-level features cached as ``<root>/DEAM_mfccs/<key>/<id>.npy`` and ``DEAM_chroma``.

    ``key`` hashes every audio feature parameter (:meth:`FeatureParams.cache_key`), so a
    parameter change never reuses a stale file; each key folder holds ``params.json``.
    Files are written atomically, and a file that does not load or has the wrong shape is
    recomputed rather than trusted.
    """

    def __init__(self, root: str | Path, params: FeatureParams) -> None:
        self.params = params
        key = params.cache_key()
        self.mfcc_dir = Path(root) / "DEAM_mfccs" / key
        self.chroma_dir = Path(root) / "DEAM_chroma" / key

    def _paths(self, song_id: int) -> tuple[Path, Path]:
        return self.mfcc_dir / f"{song_id}.npy", self.chroma_dir / f"{song_id}.npy"

    def _read(self, song_id: int, header_only: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """Both matrices if present and well-formed, else None (logged when corrupt).

        ``header_only`` memory-maps the files: shape and size are checked (a truncated
        file fails to map) without reading the data.
        """
        mfcc_path, chroma_path = self._paths(song_id)
        if not (mfcc_path.is_file() and chroma_path.is_file()):
            return None
        mode = "r" if header_only else None
        try:
            mfcc = np.load(mfcc_path, allow_pickle=False, mmap_mode=mode)
            chroma = np.load(chroma_path, allow_pickle=False, mmap_mode=mode)
        except (ValueError, OSError, EOFError) as exc:
            log.warning("song %s: corrupt cache file (%s); recomputing", song_id, exc)
            return None
        shapes_ok = (mfcc.ndim == 2 and chroma.ndim == 2 and mfcc.shape[0] == self.params.n_mfcc
                     and chroma.shape[0] == N_CHROMA and mfcc.shape[1] == chroma.shape[1]
                     and mfcc.shape[1] > 0)
        if not shapes_ok or not (header_only or (np.isfinite(mfcc).all()
                                                 and np.isfinite(chroma).all())):
            log.warning("song %s: cache file has unexpected content; recomputing", song_id)
            return None
        return mfcc, chroma

    def is_cached(self, song_id: int) -> bool:
        """Cheap check (headers only) that both files exist with the expected shapes."""
        return self._read(song_id, header_only=True) is not None

    def load(self, song_id: int) -> SongFeatures | None:
        """The cached features, or None when absent or unusable."""
        matrices = self._read(song_id, header_only=False)
        if matrices is None:
            return None
        mfcc, chroma = matrices
        n_frames = mfcc.shape[1]
        duration = (n_frames - 1) * self.params.frame_period_s
        return SongFeatures(mfcc, chroma, frame_times(n_frames, self.params), duration)

    def save(self, song_id: int, features: SongFeatures) -> None:
        """Write both matrices atomically (and the folder's ``params.json`` once)."""
        for folder in (self.mfcc_dir, self.chroma_dir):
            record = folder / "params.json"
            if not record.is_file():
                with atomic_path(record) as tmp:
                    tmp.write_text(json.dumps(self.params.to_dict(), indent=2))
        mfcc_path, chroma_path = self._paths(song_id)
        for path, matrix in ((mfcc_path, features.mfcc), (chroma_path, features.chroma)):
            with atomic_path(path) as tmp:
                np.save(tmp, matrix)


def song_features(audio_path: Path, params: FeatureParams,
                  cache: FeatureCache | None = None, song_id: int | None = None) -> SongFeatures:
    """Features of one song, from the cache when valid, else decoded and cached."""
    if cache is not None and song_id is not None:
        cached = cache.load(song_id)
        if cached is not None:
            return cached
    samples = load_audio(audio_path, params.sample_rate, min_duration_s=params.min_duration_s)
    features = compute_song_features(samples, params)
    if cache is not None and song_id is not None:
        cache.save(song_id, features)
    return features


def _extract_one(song_id: int, audio_path: Path, params: FeatureParams,
                 cache: FeatureCache) -> tuple[int, str | None]:
    """Worker: fill the cache for one song; return (id, error message or None)."""
    try:
        song_features(audio_path, params, cache, song_id)
    except EmorecoError as exc:
        return song_id, str(exc)
    return song_id, None


def extract_corpus(audio: dict[int, Path], params: FeatureParams, cache: FeatureCache,
                   n_jobs: int = -1, progress: bool = True) -> dict[int, str]:
    """Fill the feature cache for every song, in parallel, with a progress bar.

    Workers write to the cache and return only a status, so memory stays bounded by the
    few songs in flight, not the corpus.

    Returns
    -------
    dict of int to str
        Songs that failed, with a one-line reason each (the others are cached).
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    todo = {i: p for i, p in audio.items() if not cache.is_cached(i)}
    failures: dict[int, str] = {}
    if not todo:
        return failures
    runner = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=4)
    jobs = (delayed(_extract_one)(i, p, params, cache) for i, p in todo.items())
    for song_id, error in tqdm(runner(jobs), total=len(todo), desc="features", unit="song",
                               disable=not progress):
        if error is not None:
            log.warning("skipped: %s", error)
            failures[song_id] = error
    return failures


@dataclass
class WindowSet:
    """Model inputs with their targets, song ids and time axis.

    Attributes
    ----------
    inputs : np.ndarray, shape (n, ...), float32
        Arousal: (n, n_mfcc, frames_per_window); valence: (n, context_segments, 12).
    targets : np.ndarray, shape (n,), float32
    song_ids : np.ndarray, shape (n,), int64
    times_s : np.ndarray, shape (n,)
        Window (arousal) or target segment (valence) start time within the song.
    """

    inputs: np.ndarray
    targets: np.ndarray
    song_ids: np.ndarray
    times_s: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, song_ids: np.ndarray | list[int]) -> "WindowSet":
        """The windows of the given songs, in their original order."""
        mask = np.isin(self.song_ids, np.asarray(song_ids))
        return WindowSet(self.inputs[mask], self.targets[mask], self.song_ids[mask],
                         self.times_s[mask])

    def shuffled(self, rng: np.random.Generator) -> "WindowSet":
        """A copy in random order."""
        order = rng.permutation(len(self))
        return WindowSet(self.inputs[order], self.targets[order], self.song_ids[order],
                         self.times_s[order])


def arousal_windows(features: SongFeatures, start_s: float, end_s: float,
                    params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """MFCC windows of 1.5 s every 0.5 s from ``start_s`` that end by ``end_s``.

    Returns
    -------
    inputs : np.ndarray, shape (n_windows, n_mfcc, frames_per_window)
    starts_s : np.ndarray, shape (n_windows,)
    """
    end_s = min(end_s, features.duration_s)
    starts = window_grid(start_s, end_s, params.hop_s, params.window_s)
    return frame_windows(features.mfcc, starts, params.frames_per_window, params), starts


def valence_sequences(features: SongFeatures, target_times_s: np.ndarray,
                      params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """Chroma sequences ending with the 0.5 s segment at each target time.

    Returns
    -------
    inputs : np.ndarray, shape (n_kept, context_segments, 12)
    keep : np.ndarray of bool, shape (n_targets,)
    """
    segments = segment_means(features.chroma, params.frames_per_segment)
    return segment_sequences(segments, target_times_s, params)


def song_examples(target: str, features: SongFeatures, annotation: AnnotationSeries,
                  params: FeatureParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs, targets and times of one annotated song for ``target``.

    Returns
    -------
    inputs : np.ndarray, shape (n, ...)
    targets : np.ndarray, shape (n,)
    times_s : np.ndarray, shape (n,)
    """
    step = annotation.step_s or params.annotation_step_s
    if not np.isclose(step, params.annotation_step_s):
        raise ConfigError(f"song {annotation.song_id}: annotations every {step} s, "
                          f"expected {params.annotation_step_s} s (--annotation-step-s)")
    if target == "arousal":
        inputs, starts = arousal_windows(features, params.start_s, features.duration_s, params)
        targets, keep = align_window_targets(annotation.times_s, annotation.values, starts,
                                             params.window_s, params.annotation_step_s)
        return inputs[keep], targets, starts[keep]
    # valence: one target per annotation (its 0.5 s segment), with preceding context
    starts = window_grid(params.start_s, features.duration_s, params.segment_s, params.segment_s)
    targets, covered = align_window_targets(annotation.times_s, annotation.values, starts,
                                            params.segment_s, params.annotation_step_s)
    inputs, keep = valence_sequences(features, starts[covered], params)
    return inputs, targets[keep], starts[covered][keep]


def build_window_set(target: str, corpus: Corpus, params: FeatureParams,
                     cache: FeatureCache, skip: set[int] | None = None,
                     progress: bool = True) -> WindowSet:
    """Assemble training arrays from cached features for every song not in ``skip``."""
    from tqdm import tqdm

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    for song_id in tqdm(corpus.song_ids, desc=f"{target} windows", unit="song",
                        disable=not progress):
        if skip and song_id in skip:
            continue
        features = cache.load(song_id)
        if features is None:
            raise AudioError(f"song {song_id}: features missing from the cache")
        inputs, targets, times = song_examples(target, features, corpus.annotations[song_id],
                                               params)
        if len(targets):
            parts.append((inputs, targets, times, song_id))
        else:
            log.warning("song %s: no %s window is covered by annotations; skipped",
                        song_id, target)
    if not parts:
        raise DataLayoutError("no usable song: every song failed or has no covered window")
    return WindowSet(
        inputs=np.concatenate([p[0] for p in parts]).astype(np.float32, copy=False),
        targets=np.concatenate([p[1] for p in parts]).astype(np.float32),
        song_ids=np.concatenate([np.full(len(p[1]), p[3], np.int64) for p in parts]),
        times_s=np.concatenate([p[2] for p in parts]),
    )

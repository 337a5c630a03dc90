"""Song-level features cached on disk, one pair of ``.npy`` files per song."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from emoreco.atomic import atomic_path
from emoreco.audio import load_audio
from emoreco.config import FeatureParams
from emoreco.features import N_CHROMA, SongFeatures, compute_song_features, frame_times

log = logging.getLogger(__name__)


class FeatureCache:
    """Features cached as ``<root>/DEAM_mfccs/<key>/<id>.npy`` and ``DEAM_chroma``.

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

"""Song-level features cached on disk, checked against the audio they came from.

Layout: ``<root>/DEAM_mfccs/<key>/[<namespace>/]<folder>/<id>.npy`` and the same under
``DEAM_chroma``, where ``<key>`` hashes every audio feature parameter
(:meth:`FeatureParams.cache_key`), ``<namespace>`` separates corpora of other kinds than
DEAM (``pmemo``, ``csv-<hash>``) and ``<folder>`` names the audio folder (its name and a
hash of its absolute path), so two corpora sharing a cache never meet. Beside the MFCCs,
``<id>.source.json`` records the audio file's size, modification time (ns) and SHA-256.
An entry is used only if the file still has that size and time, or, when either
changed, still has that SHA-256 (a touched but identical file is kept); otherwise it is
recomputed, and the log says why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emoreco.core.atomic import atomic_path, write_json
from emoreco.core.jsonfile import read_json
from emoreco.audio.decode import load_audio
from emoreco.core.config import FeatureParams
from emoreco.core.digest import sha256_of, short_digest
from emoreco.audio.features import N_CHROMA, SongFeatures, compute_song_features, frame_times



@dataclass(frozen=True)
class Fingerprint:
    """What identifies the content of an audio file."""

    size: int
    mtime_ns: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> "Fingerprint":
        """Size and time from ``stat``, SHA-256 of the content (about 1 ms per MB)."""
        stat = path.stat()
        return cls(stat.st_size, stat.st_mtime_ns, sha256_of(path))


def folder_tag(folder: Path) -> str:
    """``<name>-<hash of the absolute path>``: one cache namespace per audio folder."""
    resolved = folder.resolve()
    return f"{resolved.name or 'root'}-{short_digest(str(resolved), 8)}"


class FeatureCache:
    """Features cached per song and audio folder, valid only for unchanged audio."""

    def __init__(self, root: str | Path, params: FeatureParams, namespace: str = "") -> None:
        """``namespace``: a subfolder only one corpus uses (``pmemo``, ``csv-<hash>``), so
        that song ids of different corpora never share an entry; "" for DEAM."""
        self.params = params
        self.namespace = namespace
        key = params.cache_key()
        self.mfcc_root = Path(root) / "DEAM_mfccs" / key
        self.chroma_root = Path(root) / "DEAM_chroma" / key

    def _paths(self, song_id: int, audio_path: Path) -> tuple[Path, Path, Path]:
        tag = Path(self.namespace, folder_tag(audio_path.parent))
        mfcc_dir = self.mfcc_root / tag
        return (mfcc_dir / f"{song_id}.npy", self.chroma_root / tag / f"{song_id}.npy",
                mfcc_dir / f"{song_id}.source.json")

    def check(self, song_id: int, audio_path: Path) -> str | None:
        """Why the entry of this song cannot be used, or None when it can.

        Cheap: file headers and ``stat`` only, unless the audio's size or time changed.
        """
        mfcc_path, chroma_path, source_path = self._paths(song_id, audio_path)
        if not (mfcc_path.is_file() and chroma_path.is_file() and source_path.is_file()):
            return "not cached"
        try:
            recorded = Fingerprint(**read_json(source_path, 4096))
            stat = audio_path.stat()
        except (ValueError, TypeError, OSError) as exc:
            return f"unreadable cache record ({exc})"
        if (stat.st_size, stat.st_mtime_ns) != (recorded.size, recorded.mtime_ns):
            current = Fingerprint.of(audio_path)
            if current.sha256 != recorded.sha256:
                return (f"{audio_path} changed since its features were cached "
                        f"({recorded.size} -> {current.size} bytes, new content)")
            self._write_source(source_path, current)  # touched, same content
        if self._read(mfcc_path, chroma_path, header_only=True) is None:
            return "corrupt cache file"
        return None

    def _read(self, mfcc_path: Path, chroma_path: Path,
              header_only: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """Both matrices if well-formed, else None.

        ``header_only`` memory-maps the files: shape and size are checked (a truncated
        file fails to map) without reading the data.
        """
        mode = "r" if header_only else None
        try:
            mfcc = np.load(mfcc_path, allow_pickle=False, mmap_mode=mode)
            chroma = np.load(chroma_path, allow_pickle=False, mmap_mode=mode)
        except (ValueError, OSError, EOFError):
            return None
        shapes_ok = (mfcc.ndim == 2 and chroma.ndim == 2 and mfcc.shape[0] == self.params.n_mfcc
                     and chroma.shape[0] == N_CHROMA and mfcc.shape[1] == chroma.shape[1]
                     and mfcc.shape[1] > 0)
        if not shapes_ok or not (header_only or (np.isfinite(mfcc).all()
                                                 and np.isfinite(chroma).all())):
            return None
        return mfcc, chroma

    def load(self, song_id: int, audio_path: Path) -> SongFeatures | None:
        """The cached features, or None when absent, stale or unusable (:meth:`check`
        says why)."""
        if self.check(song_id, audio_path) is not None:
            return None
        mfcc_path, chroma_path, _ = self._paths(song_id, audio_path)
        matrices = self._read(mfcc_path, chroma_path, header_only=False)
        if matrices is None:
            return None
        mfcc, chroma = matrices
        n_frames = mfcc.shape[1]
        duration = (n_frames - 1) * self.params.frame_period_s
        return SongFeatures(mfcc, chroma, frame_times(n_frames, self.params), duration)

    def save(self, song_id: int, audio_path: Path, features: SongFeatures,
             source: Fingerprint) -> None:
        """Write both matrices, then the source record that makes them valid."""
        mfcc_path, chroma_path, source_path = self._paths(song_id, audio_path)
        for root in (self.mfcc_root, self.chroma_root):
            record = root / "params.json"
            if not record.is_file():
                write_json(record, self.params.to_dict(), indent=2)
        source_path.unlink(missing_ok=True)  # invalid while the matrices are replaced
        for path, matrix in ((mfcc_path, features.mfcc), (chroma_path, features.chroma)):
            with atomic_path(path) as tmp:
                np.save(tmp, matrix)
        self._write_source(source_path, source)

    @staticmethod
    def _write_source(path: Path, source: Fingerprint) -> None:
        write_json(path, asdict(source), indent=None)


def song_features(audio_path: Path, params: FeatureParams,
                  cache: FeatureCache | None = None, song_id: int | None = None) -> SongFeatures:
    """Features of one song, from the cache when valid, else decoded (and cached)."""
    if cache is not None and song_id is not None:
        cached = cache.load(song_id, audio_path)
        if cached is not None:
            return cached
    source = Fingerprint.of(audio_path) if cache is not None and audio_path.is_file() else None
    samples = load_audio(audio_path, params.sample_rate, min_duration_s=params.min_duration_s)
    features = compute_song_features(samples, params)
    if cache is not None and song_id is not None and source is not None:
        cache.save(song_id, audio_path, features, source)
    return features

"""Where a DEAM-layout corpus keeps its audio and dynamic annotations.

Two layouts are accepted:

* the official archives unzipped side by side (``--deam-dir``): ``MEMD_audio/`` and
  ``annotations/annotations averaged per song/dynamic (per second annotations)/``;
* the original design's ``data/`` folder: ``--annotations-dir data/annotations``
  (``arousal.csv``, ``valence.csv``) with ``--audio-dir`` for the songs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emoreco.core.errors import DataLayoutError

OFFICIAL_AUDIO = Path("MEMD_audio")
OFFICIAL_DYNAMIC = Path("annotations", "annotations averaged per song",
                        "dynamic (per second annotations)")
OFFICIAL_STATIC = Path("annotations", "annotations averaged per song", "song_level")


@dataclass(frozen=True)
class DeamPaths:
    """Where one corpus lives: an audio folder and the dynamic annotation CSVs."""

    audio_dir: Path
    annotations_dir: Path

    def annotation_csv(self, target: str) -> Path:
        """``<target>.csv``: ``arousal.csv`` or ``valence.csv``."""
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
    assert audio_dir is not None and annotations_dir is not None
    audio_path, annotations_path = Path(audio_dir), Path(annotations_dir)
    if not audio_path.is_dir():
        raise DataLayoutError(f"{audio_path}: audio folder not found (expected <song_id>.mp3 "
                              "files; use --audio-dir)")
    if not annotations_path.is_dir():
        raise DataLayoutError(f"{annotations_path}: annotation folder not found")
    return DeamPaths(audio_path, annotations_path)

"""A song's emotion values in the audio file's own tags, written so that no file is damaged.

Tag names come from the targets (:data:`~emoreco.model.targets.TARGETS`): for each target
``EMORECO_<TARGET>`` (the song's mean on DEAM's [-1, 1] scale), ``EMORECO_<TARGET>_START``
and ``EMORECO_<TARGET>_END`` (its first and last 15 s), ``EMORECO_<TARGET>_BAND`` (the
mean half-width of its values' band: "0.31 ± 0.18"; absent for models without a band),
all as ``%.3f``; and
``EMORECO_MODELS``, a short digest of the models that made them. Optionally the standard
``MOOD`` tag, one word per quadrant (:data:`MOOD_WORDS`).

They are stored as the tools that read custom tags expect (MusicBrainz Picard, beets'
mediafile, foobar2000, Navidrome): ID3v2.4 ``TXXX`` frames (MP3; WAV and AIFF ID3 chunks;
the mood as ``TMOO``), Vorbis comments (FLAC, Ogg Vorbis, Opus) and MP4 freeform atoms
``----:com.apple.iTunes:<NAME>`` (M4A: AAC, ALAC). mutagen reads and writes them.

mutagen writes in place and may rewrite the whole file, so :func:`write_tags` tags a copy
beside the file, reads the copy back (tags and stream properties), flushes it to disk and
renames it over the file: a run killed at any moment leaves the file as it was or fully
tagged; the next run removes the copy left behind (:func:`remove_stale_copies`). The copy
keeps the file's mode, owner (where allowed) and modification time.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emoreco.core.atomic import create_unique_file, fsync_path
from emoreco.core.errors import EmorecoError
from emoreco.model.curves import QUADRANTS
from emoreco.model.targets import TARGETS

TAG_PREFIX = "EMORECO_"
MODELS_TAG = "EMORECO_MODELS"
MOOD_TAG = "MOOD"
TAG_STATISTICS = {"mean": "", "start": "_START", "end": "_END",  # summary key -> suffix
                  "band": "_BAND"}  # the band's mean half-width: mean ± band
MOOD_WORDS = {  # the quadrant of the song's mean point -> MOOD
    QUADRANTS[(True, True)]: "Happy",
    QUADRANTS[(False, True)]: "Tense",
    QUADRANTS[(False, False)]: "Sad",
    QUADRANTS[(True, False)]: "Calm",
}
TEMPORARY_SUFFIX = ".emoreco-tmp"  # the copy being tagged: not an audio suffix
MAX_TAG_CHARS = 64  # longer values of our tags are not ours: a damaged or planted tag
MP4_FREEFORM = "----:com.apple.iTunes:"


class TagError(EmorecoError):
    """A file whose tags cannot be read or written (one line naming the file)."""


def tag_names() -> tuple[str, ...]:
    """Every tag this module writes, mood excluded, in a stable order."""
    return (*(f"{TAG_PREFIX}{target.upper()}{suffix}" for target in TARGETS
              for suffix in TAG_STATISTICS.values()), MODELS_TAG)


def tag_values(summary: Mapping[str, Any], models: str) -> dict[str, str]:
    """The tags of one song, from :meth:`EmotionCurve.summary` and the models' digest.

    A value that is NaN (a target with no value in the song) is not written.
    """
    values = {}
    for target in TARGETS:
        for statistic, suffix in TAG_STATISTICS.items():
            value = float(summary[f"{target}_{statistic}"])
            if value == value:
                values[f"{TAG_PREFIX}{target.upper()}{suffix}"] = f"{value:.3f}"
    values[MODELS_TAG] = models
    return values


def parse_value(text: str | None) -> float | None:
    """A tag's number, or None when absent or not a number in [-1, 1]."""
    if text is None or len(text) > MAX_TAG_CHARS:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if -1.0 <= value <= 1.0 else None


# --- one reader and writer per tag storage -----------------------------------------------

def _storage(audio: Any) -> str:
    """``id3``, ``vorbis`` or ``mp4``: how this mutagen file object keeps its tags."""
    from mutagen.aiff import AIFF
    from mutagen.flac import FLAC
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis
    from mutagen.wave import WAVE

    if isinstance(audio, (MP3, WAVE, AIFF)):
        return "id3"
    if isinstance(audio, (FLAC, OggVorbis, OggOpus)):
        return "vorbis"
    if isinstance(audio, MP4):
        return "mp4"
    return ""


def _get(audio: Any, storage: str, name: str) -> str | None:
    tags = audio.tags
    if tags is None:
        return None
    if storage == "id3":
        frames = tags.getall("TMOO" if name == MOOD_TAG else f"TXXX:{name}")
        return str(frames[0].text[0]) if frames and frames[0].text else None
    if storage == "vorbis":
        found = tags.get(name)
        return str(found[0]) if found else None
    found = tags.get(MP4_FREEFORM + name)
    return bytes(found[0]).decode("utf-8", "replace") if found else None


def _set(audio: Any, storage: str, name: str, value: str) -> None:
    if audio.tags is None:
        audio.add_tags()
    tags = audio.tags
    if storage == "id3":
        from mutagen.id3 import TMOO, TXXX

        if name == MOOD_TAG:
            tags.delall("TMOO")
            tags.add(TMOO(encoding=3, text=[value]))
        else:
            tags.delall(f"TXXX:{name}")
            tags.add(TXXX(encoding=3, desc=name, text=[value]))
    elif storage == "vorbis":
        tags[name] = [value]
    else:
        from mutagen.mp4 import AtomDataType, MP4FreeForm

        tags[MP4_FREEFORM + name] = [MP4FreeForm(value.encode("utf-8"),
                                                 dataformat=AtomDataType.UTF8)]


def _save(audio: Any, storage: str) -> None:
    if storage == "id3":
        audio.save(v2_version=4)
    else:
        audio.save()


def _open(path: Path, kind: type | None = None) -> Any:
    """The mutagen object of ``path`` (of class ``kind`` when given), or a one-line
    :class:`TagError`."""
    import mutagen

    try:
        audio = kind(path) if kind is not None else mutagen.File(path)
    except mutagen.MutagenError as exc:
        raise TagError(f"{path}: damaged or unreadable tags ({exc})") from None
    except (ValueError, IndexError, KeyError, UnicodeError, OverflowError) as exc:
        raise TagError(f"{path}: damaged tags ({type(exc).__name__}: {exc})") from None
    if audio is None or not _storage(audio):
        raise TagError(f"{path}: not a format whose tags emoreco writes (MP3, WAV, AIFF, "
                       "FLAC, Ogg Vorbis, Opus, M4A)")
    return audio


def _open_readable(path: Path) -> Any:
    """:func:`_open`, a file that cannot be read being a :class:`TagError` too."""
    try:
        return _open(path)
    except OSError as exc:
        raise TagError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def read_tags(path: str | Path) -> dict[str, str]:
    """This module's tags of a file (names of :func:`tag_names` and ``MOOD``) that it has.

    Raises
    ------
    TagError
        Unknown format, damaged tags, or the file cannot be read.
    """
    audio = _open_readable(Path(path))
    storage = _storage(audio)
    found = {name: _get(audio, storage, name) for name in (*tag_names(), MOOD_TAG)}
    return {name: value for name, value in found.items() if value is not None}


@dataclass(frozen=True)
class TagChange:
    """What :func:`write_tags` did (or, with ``dry_run``, would do) to one file.

    ``changes`` maps each tag whose value changes to ``(old or None, new)``.
    """

    path: Path
    changes: dict[str, tuple[str | None, str]]


STALE_COPY = re.compile(rf"\..+\.[0-9a-f]{{12}}{re.escape(TEMPORARY_SUFFIX)}")


def remove_stale_copies(folder: Path) -> int:
    """Remove the copies a killed run left in ``folder`` while tagging (one pass over the
    folder; one tagging run per folder at a time). Returns how many."""
    removed = 0
    try:
        with os.scandir(folder) as entries:
            stale = [Path(e.path) for e in entries
                     if STALE_COPY.fullmatch(e.name) and e.is_file(follow_symlinks=False)]
    except OSError:
        return 0
    for path in stale:
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _writable(path: Path, status: os.stat_result) -> bool:
    """Whether we may and should write ``path``: a mode without any write permission
    means read-only, for root too (who may write anything)."""
    return bool(status.st_mode & 0o222) and os.access(path, os.W_OK)


def _keep_attributes(original: os.stat_result, copy: Path, keep_mtime: bool) -> None:
    """Give ``copy`` the mode, owner (where the user may) and times of the original."""
    os.chmod(copy, original.st_mode & 0o7777)
    try:
        os.chown(copy, original.st_uid, original.st_gid)
    except PermissionError:
        pass  # another user's file in a folder we may write: it becomes ours
    if keep_mtime:
        os.utime(copy, ns=(original.st_atime_ns, original.st_mtime_ns))


def write_tags(path: str | Path, values: Mapping[str, str], mood: str | None = None,
               replace_mood: bool = False, dry_run: bool = False,
               keep_mtime: bool = True) -> TagChange:
    """Write ``values`` (and ``mood`` into ``MOOD``) into the tags of ``path``, safely.

    A tagged copy is written beside the file, read back and checked (every value, the
    stream's length and rate), flushed to disk and renamed over the file; a symbolic link
    is followed (the file it names is replaced, the link kept). Other tags are kept. A
    mood the file already has is kept unless ``replace_mood``. Nothing is written when no
    value changes or with ``dry_run``.

    Raises
    ------
    TagError
        A read-only file or folder, an unknown format, damaged tags, or a copy that does
        not read back as written (the file is left as it was).
    """
    path = Path(path).resolve()
    try:
        original = _open(path)
        storage = _storage(original)
        wanted = dict(values)
        current_mood = _get(original, storage, MOOD_TAG)
        if mood is not None and (current_mood is None or replace_mood):
            wanted[MOOD_TAG] = mood
        current = {name: _get(original, storage, name) for name in wanted}
        changes = {name: (current[name], value) for name, value in wanted.items()
                   if current[name] != value}
        if not changes or dry_run:
            return TagChange(path, changes)
        status = path.stat()
        if not _writable(path, status) or not _writable(path.parent, path.parent.stat()):
            raise TagError(f"{path}: read-only (the file or its folder); not tagged")
        copy = create_unique_file(path.parent, f".{path.name}.", TEMPORARY_SUFFIX)
    except OSError as exc:
        raise TagError(f"{path}: {exc.strerror or exc}") from None
    try:
        shutil.copyfile(path, copy)
        audio = _open(copy, type(original))
        for name, value in wanted.items():
            _set(audio, storage, name, value)
        _save(audio, storage)
        _check_copy(copy, type(original), original, wanted)
        _keep_attributes(status, copy, keep_mtime)
        fsync_path(copy)
        os.replace(copy, path)
        fsync_path(path.parent)
    except OSError as exc:
        raise TagError(f"{path}: not tagged ({exc.strerror or exc})") from None
    except Exception as exc:
        import mutagen

        if isinstance(exc, (mutagen.MutagenError, ValueError)):
            raise TagError(f"{path}: not tagged ({type(exc).__name__}: {exc})") from None
        raise
    finally:
        copy.unlink(missing_ok=True)
    return TagChange(path, changes)


def _check_copy(copy: Path, kind: type, original: Any, wanted: Mapping[str, str]) -> None:
    """Raise :class:`TagError` unless the tagged copy reads back with ``wanted`` and the
    original's stream properties."""
    audio = _open(copy, kind)
    storage = _storage(audio)
    wrong = [name for name, value in wanted.items() if _get(audio, storage, name) != value]
    same_stream = all(getattr(audio.info, key, None) == getattr(original.info, key, None)
                      for key in ("length", "sample_rate", "channels", "bitrate"))
    if wrong or not same_stream:
        raise TagError(f"{copy}: the tagged copy does not read back as written "
                       f"({', '.join(wrong) or 'stream properties changed'}); file left as it was")


def read_values(path: str | Path) -> tuple[dict[tuple[str, str], float], float | None]:
    """A tagged file's values, ``(target, statistic) -> value`` (those present and valid),
    and its duration in seconds from the stream's header (None if unknown).

    Raises
    ------
    TagError
        As :func:`read_tags`.
    """
    audio = _open_readable(Path(path))
    storage = _storage(audio)
    values = {}
    for target in TARGETS:
        for statistic, suffix in TAG_STATISTICS.items():
            value = parse_value(_get(audio, storage, f"{TAG_PREFIX}{target.upper()}{suffix}"))
            if value is not None:
                values[(target, statistic)] = value
    length = getattr(audio.info, "length", None)
    return values, (float(length) if length else None)

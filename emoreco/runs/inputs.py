"""Which files a run reads: files and folders expanded into audio files, named uniquely."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from emoreco.audio.decode import AUDIO_SUFFIXES
from emoreco.core.errors import DataLayoutError


def _walk(folder: Path, recursive: bool, seen_folders: set[tuple[int, int]]) -> Iterator[Path]:
    """Files of ``folder`` (and, if ``recursive``, of its subfolders), sorted by name.

    Symbolic links are followed, each real folder once, so a link loop ends.
    """
    stat = folder.stat()
    if (stat.st_dev, stat.st_ino) in seen_folders:
        return
    seen_folders.add((stat.st_dev, stat.st_ino))
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    for entry in entries:
        if entry.is_file():
            yield entry
    if recursive:
        for entry in entries:
            if entry.is_dir():
                yield from _walk(entry, recursive, seen_folders)


def find_audio_files(inputs: Iterable[str | Path], recursive: bool = False,
                     pattern: str | None = None) -> list[Path]:
    """Expand files and folders into a list of audio files, each listed once.

    Parameters
    ----------
    inputs : iterable of path
        Files are taken as given (any name); folders contribute their audio files
        (:data:`AUDIO_SUFFIXES`), sorted by name.
    recursive : bool
        Also search subfolders (symbolic links followed, each folder once).
    pattern : str, optional
        Shell pattern that a folder's file names must match (``*.m4a``, ``*live*``).

    Raises
    ------
    DataLayoutError
        A path that does not exist, or no audio file at all.
    """
    found: list[Path] = []
    seen_folders: set[tuple[int, int]] = set()
    for item in map(Path, inputs):
        if item.is_dir():
            found.extend(p for p in _walk(item, recursive, seen_folders)
                         if p.suffix.lower() in AUDIO_SUFFIXES
                         and (pattern is None or fnmatch.fnmatch(p.name, pattern)))
        elif item.is_file():
            found.append(item)
        elif os.path.lexists(item) and not item.is_symlink():
            raise DataLayoutError(f"{item}: not a regular file (a named pipe or a device); "
                                  "give audio files or folders, or read a stream with "
                                  "`emoreco listen`")
        else:
            raise DataLayoutError(f"{item}: no such file or folder")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)  # the same file by two routes: once
    if not unique:
        raise DataLayoutError("no audio files (" + " ".join(AUDIO_SUFFIXES) + ") in "
                              + ", ".join(map(str, inputs))
                              + ("" if recursive else "; add -r for subfolders")
                              + (f" matching {pattern!r}" if pattern else ""))
    return list(unique.values())


def unique_song_names(files: list[Path]) -> dict[Path, str]:
    """A name per file, unique within the run: the file name, or, where two files share
    it, the path relative to the folder that holds all the files."""
    counts: dict[str, int] = {}
    for path in files:
        counts[path.name] = counts.get(path.name, 0) + 1
    if all(count == 1 for count in counts.values()):
        return {path: path.name for path in files}
    common = Path(os.path.commonpath([str(p.resolve().parent) for p in files]))
    return {path: (path.name if counts[path.name] == 1
                   else path.resolve().relative_to(common).as_posix()) for path in files}

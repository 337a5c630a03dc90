"""An output set that is complete or absent, written by one run at a time.

A run writes every file into a staging folder inside the output folder.
:meth:`OutputSet.commit` then writes a journal (the files to move, the previous set's
files to remove, and the manifest to write with every new file's size and SHA-256),
removes the manifest, removes the previous files, moves the new ones into place and
writes the manifest (``TestSongSummary.json``) last. So the manifest exists only beside
a complete, consistent set.

What protects the folder:

* **One run at a time.** An :class:`OutputSet` holds an exclusive ``flock`` on
  ``.emoreco.lock`` in the folder until it is closed; a second run is refused with a
  message. The kernel releases the lock when a process dies, so a killed run never
  blocks the next.
* **Read-back files are data, never instructions.** Journals and manifests name files
  of the output set; every name must be a plain relative name (one optional sub-folder,
  no ``..``, no absolute path, no leading dot) of a known output, and sub-folders must
  be real folders, not links. A record that breaks these rules, or cannot be read, is
  reported and set aside; nothing outside the folder is ever moved or removed.
* **Power cuts.** Each file is written to a temporary name, fsynced, renamed and its
  folder fsynced (:func:`emoreco.core.atomic.atomic_path`); the journal is durable before
  anything moves, and the folder is fsynced after the moves and before the manifest is
  written. A run killed before the journal leaves the previous set untouched; one killed
  after it is completed by the next run in the folder (:func:`recover`), which first
  checks every new file against the journal's size and SHA-256. If one does not match
  (its data never reached the disk), nothing more is moved: a resumable run's journal is
  kept as ``interrupted.json`` and the same command rebuilds the outputs from the run's
  saved work; other staging folders are set aside for inspection.

A *resumable* set (``resume_key``) keeps its staging folder, named after the key, when
the run is interrupted, with the work done so far in :attr:`OutputSet.work_dir`; the
next run with the same key continues in it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from emoreco.core.atomic import create_unique_file, fsync_path, write_json
from emoreco.core.checks import is_plain_name, is_sha256
from emoreco.core.digest import sha256_of
from emoreco.core.errors import EmorecoError
from emoreco.core.jsonfile import UnreadableJSON, read_json

log = logging.getLogger(__name__)
MANIFEST = "TestSongSummary.json"  # the summary CSV's companion: describes the whole run
LOCK = ".emoreco.lock"
STAGING_PREFIX = ".emoreco-staging-"
RESUMABLE_PREFIX = STAGING_PREFIX + "run-"
STAGING_NAME = re.compile(r"\.emoreco-staging-(?:[0-9a-f]{8}|run-[0-9a-f]{16})")
SET_ASIDE_PREFIX = ".emoreco-set-aside-"
JOURNAL = "commit.json"
INTERRUPTED = "interrupted.json"  # the journal of a commit that could not be completed
DAMAGED_JOURNAL = "commit.json.damaged"
WORK = ".work"  # a resumable run's own files, never committed


class DamagedRecord(ValueError):
    """A journal or manifest that cannot be trusted: unreadable, or naming files that
    are not plain files of the output set."""


def _is_file(path: Path) -> bool:
    """A regular file, not a link (``lstat``)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return False


def _is_folder(path: Path) -> bool:
    """A real folder, not a link (``lstat``)."""
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except FileNotFoundError:
        return False


def check_names(names: Any, allowed: Iterable[str], what: str) -> list[str]:
    """``names`` if it is a list of plain names of output files, else :class:`DamagedRecord`.

    A plain name is ``file`` or ``folder/file``, each part a letter or digit followed
    by letters, digits, ``_ . + -``, whose first part is one of ``allowed``.
    """
    allowed = frozenset(allowed)
    if not isinstance(names, list):
        raise DamagedRecord(f"{what} is not a list of names")
    for name in names:
        parts = name.split("/") if isinstance(name, str) else []
        if not (1 <= len(parts) <= 2 and all(map(is_plain_name, parts))
                and parts[0] in allowed):
            raise DamagedRecord(f"{what} names {name!r}, which is not a file of the output set")
    return names


def _load_json(path: Path) -> Any:
    try:
        return read_json(path)
    except UnreadableJSON as exc:
        raise DamagedRecord(f"unreadable ({exc})") from exc


def _checked_manifest(record: Any, allowed: Iterable[str]) -> dict[str, Any]:
    """A manifest record after checking its file list (names, sizes, digests)."""
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        raise DamagedRecord("not a manifest (no 'files' record)")
    files = record["files"]
    check_names(list(files), allowed, "the file list")
    for name, info in files.items():
        if not (isinstance(info, dict) and type(info.get("bytes")) is int and info["bytes"] >= 0
                and is_sha256(info.get("sha256"))):
            raise DamagedRecord(f"the size or SHA-256 of {name!r} is malformed")
    return record


def read_manifest(out_dir: Path, allowed: Iterable[str] | None = None) -> dict[str, Any] | None:
    """The manifest of the complete set in ``out_dir``, or None when there is none.

    ``allowed``: the top-level output names its files may have (default: any plain
    name). A manifest that cannot be read or names other files is reported and treated
    as absent.
    """
    path = out_dir / MANIFEST
    if not _is_file(path):
        return None
    try:
        record = _load_json(path)
        names = record.get("files", {}) if isinstance(record, dict) else {}
        roots = allowed if allowed is not None else {
            name.split("/")[0] for name in names if isinstance(name, str)}
        return _checked_manifest(record, roots)
    except DamagedRecord as exc:
        log.warning("%s: %s; ignored", path, exc)
        return None


def _checked_journal(staging: Path, allowed: Iterable[str]) -> dict[str, Any]:
    """The journal of ``staging`` after checking every name and digest in it."""
    record = _load_json(staging / JOURNAL)
    if not isinstance(record, dict):
        raise DamagedRecord("not a journal")
    files = check_names(record.get("files"), allowed, "the list of new files")
    check_names(record.get("remove"), allowed, "the list of files to remove")
    manifest = _checked_manifest(record.get("manifest"), allowed)
    if sorted(manifest["files"]) != sorted(files):
        raise DamagedRecord("its manifest does not list its new files")
    return record


def _target(out_dir: Path, name: str, create: bool = False) -> Path | None:
    """``out_dir / name``, or None when its sub-folder is not a real folder of
    ``out_dir`` (a link planted there would lead elsewhere)."""
    parts = name.split("/")
    if len(parts) == 2:
        folder = out_dir / parts[0]
        if create and not os.path.lexists(folder):
            folder.mkdir()
        if not _is_folder(folder):
            return None
    return out_dir / name


def _intact(path: Path | None, expected: dict[str, Any]) -> bool:
    """``path`` is a regular file of the expected size and SHA-256."""
    return (path is not None and _is_file(path) and path.stat().st_size == expected["bytes"]
            and sha256_of(path) == expected["sha256"])


def _unfinished(out_dir: Path, staging: Path, journal: dict[str, Any]) -> str | None:
    """Why the journal's commit cannot be completed, or None when it can: every new
    file, staged or already moved, must match the journal's size and SHA-256."""
    for name in journal["files"]:
        expected = journal["manifest"]["files"][name]
        staged = staging / name
        if not (_intact(staged, expected) if os.path.lexists(staged)
                else _intact(_target(out_dir, name), expected)):
            return f"{name} does not match the journal's size and SHA-256"
    return None


def _remove_output(out_dir: Path, name: str) -> None:
    """Remove file ``name`` of an earlier set (never through a link), and its
    sub-folder if that leaves it empty."""
    path = _target(out_dir, name)
    if path is None:
        log.warning("%s: not a real folder; %s left alone", out_dir / name.split("/")[0], name)
        return
    if os.path.lexists(path) and not _is_folder(path):
        path.unlink()
    if path.parent != out_dir:
        try:
            path.parent.rmdir()  # a sub-folder emptied by this: drop it
        except OSError:
            pass


def _finish(out_dir: Path, staging: Path, journal: dict[str, Any]) -> None:
    """Carry out a checked journal: remove old files, move new ones, write the manifest."""
    blocked = [name for name in journal["files"] if "/" in name
               and os.path.lexists(out_dir / name.split("/")[0])
               and not _is_folder(out_dir / name.split("/")[0])]
    if blocked:  # checked before anything moves: the folder is never left half-replaced
        raise EmorecoError(f"{out_dir / blocked[0].split('/')[0]}: not a real folder; remove "
                           "it or choose another output folder")
    manifest = out_dir / MANIFEST
    if os.path.lexists(manifest):
        manifest.unlink()
        fsync_path(out_dir)
    for name in journal["remove"]:
        _remove_output(out_dir, name)
    folders = {out_dir}
    for name in journal["files"]:
        staged = staging / name
        if _is_file(staged):  # absent if moved before an interruption
            target = _target(out_dir, name, create=True)
            if target is None:
                raise EmorecoError(f"{out_dir / name.split('/')[0]}: not a real folder; "
                                   "remove it or choose another output folder")
            os.replace(staged, target)
            folders.add(target.parent)
    for folder in folders:  # the moves are on the disk before the manifest says so
        fsync_path(folder)
    write_json(manifest, journal["manifest"])
    shutil.rmtree(staging)


def _set_aside(path: Path) -> Path:
    """Rename ``path`` out of the way (kept for inspection); return the new path."""
    aside = path.with_name(f"{SET_ASIDE_PREFIX}{path.name}-{time.strftime('%Y%m%d-%H%M%S')}-"
                           f"{secrets.token_hex(2)}")
    os.replace(path, aside)
    return aside


def _clear_staged_outputs(staging: Path) -> None:
    """Remove a staging folder's outputs, keeping the run's work and interrupted journal."""
    for entry in staging.iterdir():
        if entry.name in (WORK, INTERRUPTED, DAMAGED_JOURNAL):
            continue
        if _is_folder(entry):
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _recover(out_dir: Path, allowed: Iterable[str]) -> None:
    """Complete or set aside interrupted commits; drop staging folders of killed runs
    (except those of resumable runs, which hold their work). Call it under the lock."""
    allowed = frozenset(allowed)
    for staging in sorted(out_dir.glob(STAGING_PREFIX + "*")):
        if not (STAGING_NAME.fullmatch(staging.name) and _is_folder(staging)):
            log.warning("%s: not a staging folder of emoreco; left alone", staging)
            continue
        resumable = staging.name.startswith(RESUMABLE_PREFIX)
        if os.path.lexists(staging / JOURNAL):
            try:
                journal = _checked_journal(staging, allowed)
                reason = _unfinished(out_dir, staging, journal)
            except DamagedRecord as exc:
                journal, reason = None, f"its journal: {exc}"
            if reason is None:
                assert journal is not None
                log.info("%s: completing an interrupted commit", out_dir)
                _finish(out_dir, staging, journal)
                continue
            if not resumable:
                aside = _set_aside(staging)
                log.warning("%s: an interrupted commit cannot be completed (%s); it is kept "
                            "in %s and the folder's files are left as they are", out_dir,
                            reason, aside)
                continue
            os.replace(staging / JOURNAL,
                       staging / (INTERRUPTED if journal is not None else DAMAGED_JOURNAL))
            fsync_path(staging)
            _clear_staged_outputs(staging)
            log.warning("%s: an interrupted commit cannot be completed (%s); the same "
                        "command rebuilds its outputs from the run's saved work in %s",
                        out_dir, reason, staging)
        elif not resumable:
            shutil.rmtree(staging)  # a run killed before its commit: nothing to keep


class FolderLock:
    """An exclusive lock on ``folder`` (``flock`` on its ``.emoreco.lock``).

    Held until :meth:`release`; the kernel releases it when the process dies, so a
    killed run never blocks the next one.

    Raises
    ------
    EmorecoError
        Another process holds it, or the lock file is a link or not a file.
    """

    def __init__(self, folder: Path) -> None:
        path = folder / LOCK
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise EmorecoError(f"{path}: is a symbolic link; remove it") from exc
            raise
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise EmorecoError(f"{path}: not a regular file; remove it")
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(descriptor, 20, 0).decode(errors="replace").strip()
                by = f" (process {holder})" if holder.isdigit() else ""
                raise EmorecoError(f"{folder} is in use by another emoreco run{by}; wait for "
                                   "it to end or choose another output folder") from None
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(descriptor)
            raise
        self.descriptor: int | None = descriptor

    def release(self) -> None:
        """Let the next run in."""
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None


def recover(out_dir: Path, allowed: Iterable[str]) -> None:
    """Complete an interrupted commit in ``out_dir`` (or set it aside), under its lock.

    ``allowed``: the top-level names of the output files (anything else named in a
    journal makes it untrustworthy).
    """
    if not out_dir.is_dir():
        return
    lock = FolderLock(out_dir)
    try:
        _recover(out_dir, allowed)
    finally:
        lock.release()


def check_writable(out_dir: Path) -> None:
    """Check, before any work, that ``out_dir`` can be created or written.

    Nothing is created: an existing folder gets a probe file made and removed; for a
    new one, its nearest existing ancestor must be a writable folder.

    Raises
    ------
    OSError
        Naming the folder.
    """
    existing = out_dir
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(existing))
    if existing == out_dir:
        create_unique_file(out_dir, ".emoreco-probe-", "").unlink()
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "cannot create a folder in it", str(existing))


def _existing_outputs(out_dir: Path, known_names: Iterable[str]) -> list[str]:
    """Files in ``out_dir`` that an earlier run may have written under ``known_names``:
    the files themselves, and the plain files of known sub-folders."""
    found = []
    for name in known_names:
        path = out_dir / name
        if _is_file(path):
            found.append(name)
        elif _is_folder(path):
            found.extend(f"{name}/{entry.name}" for entry in sorted(path.iterdir())
                         if is_plain_name(entry.name) and not _is_folder(entry))
    return found


def _has_work(staging: Path) -> bool:
    return any(p.is_file() for p in (staging / WORK).rglob("*"))


class OutputSet:
    """The files of one run, staged until :meth:`commit`, in a folder it holds locked.

    Use it as a context manager (or call :meth:`close`): the staged files of a run that
    did not commit are dropped (a resumable run's work is kept) and the lock released.

    Parameters
    ----------
    out_dir : Path
    names : list of str
        The top-level files (or sub-folders) this run will produce.
    overwrite : bool
        Replace a previous set (otherwise any existing file of the set, or a previous
        manifest, is an error).
    known_names : iterable of str
        Top-level outputs any run may write (this version or an older one); their files
        are removed with ``overwrite`` when the new run does not produce them, and a
        journal or manifest naming anything else is not trusted.
    resume_key : str, optional
        Makes the set resumable: an interrupted run with this key is continued (its
        :attr:`work_dir` kept); one with another key is an error, or discarded with
        ``overwrite``.

    Raises
    ------
    EmorecoError
        Another run holds the folder; outputs, or an interrupted run with another key,
        exist and ``overwrite`` is false.
    OSError
        The folder cannot be created or written.
    """

    def __init__(self, out_dir: Path, names: list[str], overwrite: bool,
                 known_names: Iterable[str] = (), resume_key: str | None = None) -> None:
        self.out_dir = out_dir
        self.names = list(names)
        self.allowed = frozenset(self.names) | frozenset(known_names)
        self.resumable = resume_key is not None
        self.committed = self.abandoned = False
        self.created = not os.path.lexists(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.lock = FolderLock(out_dir)
        try:
            self._open(overwrite, resume_key)
        except BaseException:
            self.lock.release()
            raise

    def _open(self, overwrite: bool, resume_key: str | None) -> None:
        out_dir = self.out_dir
        _recover(out_dir, self.allowed)
        self.staging = out_dir / (f"{RESUMABLE_PREFIX}{resume_key}" if self.resumable
                                  else f"{STAGING_PREFIX}{secrets.token_hex(4)}")
        if not STAGING_NAME.fullmatch(self.staging.name):
            raise ValueError(f"resume key {resume_key!r} is not 16 hex digits")
        own = self._interrupted_outputs()  # what this run's own interrupted commit left
        previous = read_manifest(out_dir, self.allowed)
        old = set(previous["files"] if previous else ()) | set(
            _existing_outputs(out_dir, sorted(self.allowed | {MANIFEST})))
        clashing = sorted(old - own)
        linked = [name for name in sorted(self.allowed) if (out_dir / name).is_symlink()]
        if linked:  # found now, before any work, not in the middle of a commit
            raise EmorecoError(f"{out_dir / linked[0]}: a symbolic link where emoreco writes "
                               "an output; remove it or choose another output folder")
        if clashing and not overwrite:
            shown = ", ".join(str(out_dir / n) for n in clashing[:3])
            raise EmorecoError(f"{len(clashing)} output file(s) exist ({shown}"
                               f"{', ...' if len(clashing) > 3 else ''}); use --overwrite or "
                               "--out-dir")
        self.previous = sorted((old | own) - {MANIFEST})
        for other in sorted(out_dir.glob(RESUMABLE_PREFIX + "*")):
            if other == self.staging or not (STAGING_NAME.fullmatch(other.name)
                                             and _is_folder(other)):
                continue
            if _has_work(other) and not overwrite:
                raise EmorecoError(f"{out_dir} holds an interrupted run with other models or "
                                   "--start/--end: run that command again to finish it, or "
                                   "add --overwrite to discard its work")
            shutil.rmtree(other)
        if os.path.lexists(self.staging) and not _is_folder(self.staging):
            raise EmorecoError(f"{self.staging}: not a folder; remove it")
        self.staging.mkdir(exist_ok=self.resumable)  # fails now on a read-only folder
        self.work_dir = self.staging / WORK
        self.work_dir.mkdir(exist_ok=True)
        _clear_staged_outputs(self.staging)  # outputs of an interrupted assembly

    def _interrupted_outputs(self) -> set[str]:
        """Files of the folder named by this run's interrupted commit (new and old)."""
        path = self.staging / INTERRUPTED
        if not _is_file(path):
            return set()
        try:
            journal = _load_json(path)
            names = (check_names(journal.get("files"), self.allowed, "the list of new files")
                     + check_names(journal.get("remove"), self.allowed,
                                   "the list of files to remove"))
        except (DamagedRecord, AttributeError) as exc:
            log.warning("%s: %s; ignored", path, exc)
            return set()
        return {name for name in names if os.path.lexists(self.out_dir / name)}

    def _staged_files(self) -> list[str]:
        """Names of the staged output files: plain files at the top of the staging
        folder or in its real sub-folders (never through a link), sorted."""
        found = []
        for entry in self.staging.iterdir():
            if _is_file(entry) and entry.name not in (INTERRUPTED, DAMAGED_JOURNAL):
                found.append(entry.name)
            elif _is_folder(entry) and entry != self.work_dir:
                found.extend(f"{entry.name}/{inner.name}" for inner in entry.iterdir()
                             if _is_file(inner))
        return sorted(found)

    def path(self, name: str) -> Path:
        """Where to write file ``name`` of the set."""
        assert name.split("/")[0] in self.names, f"{name} is not part of this output set"
        return self.staging / name

    def commit(self, description: dict[str, Any]) -> list[Path]:
        """Move every staged file (sub-folders included) into place; return their paths.

        ``description`` goes into the manifest beside the list of files.
        """
        produced = self._staged_files()
        check_names(produced, self.allowed, "the staged outputs")
        manifest = dict(description, files={
            n: {"bytes": (self.staging / n).stat().st_size,
                "sha256": sha256_of(self.staging / n)} for n in produced})
        journal = {"files": produced, "remove": [n for n in self.previous if n not in produced],
                   "manifest": manifest}
        write_json(self.staging / JOURNAL, journal, indent=None)
        _finish(self.out_dir, self.staging, journal)
        self.committed = True
        return [self.out_dir / n for n in produced]

    def abandon(self, keep_work: bool = True) -> None:
        """Drop the staged files (the previous set stays as it was); a resumable run's
        work is kept for the next run (said once), unless ``keep_work`` is false (a run
        whose work no rerun can use: every song failed)."""
        if self.committed or self.abandoned or not _is_folder(self.staging):
            return
        self.abandoned = True
        if keep_work and self.resumable and _has_work(self.staging):
            log.info("%s: the work done is kept; run the same command again to resume",
                     self.out_dir)
            return
        shutil.rmtree(self.staging, ignore_errors=True)

    def close(self) -> None:
        """Abandon what was not committed and release the folder; a folder this set
        created and left empty is removed again."""
        try:
            self.abandon()
        finally:
            empty = (self.created and not self.committed and self.lock.descriptor is not None
                     and [p.name for p in self.out_dir.iterdir()] == [LOCK])
            if empty:
                (self.out_dir / LOCK).unlink()
            self.lock.release()
            if empty:
                with contextlib.suppress(OSError):
                    self.out_dir.rmdir()

    def __enter__(self) -> "OutputSet":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

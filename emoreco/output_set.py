"""An output set that is complete or absent: staged, then moved into place.

A run writes every file into a staging folder inside the output folder (created first,
so an unwritable folder fails before any work). :meth:`OutputSet.commit` then records
the move in a journal, removes the manifest, deletes the previous set's files that the
new run does not produce, moves the new files into place and writes the manifest
(``TestSongSummary.json``, the summary's companion: the run's description and every
file of the set with its size and SHA-256) last. So the
manifest exists only beside a complete, consistent set; a run killed before the
commit leaves the previous set untouched, and one killed during it is completed by the
next run in that folder (:func:`recover`).

A *resumable* set (``resume_key``) keeps its staging folder, named after the key, when
the run is interrupted, with the work done so far in :attr:`OutputSet.work_dir`; the
next run with the same key continues in it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from emoreco.atomic import atomic_path, create_unique_file
from emoreco.digest import sha256_of
from emoreco.errors import EmorecoError

log = logging.getLogger(__name__)
MANIFEST = "TestSongSummary.json"  # the summary CSV's companion: describes the whole run
STAGING_PREFIX = ".emoreco-staging-"
JOURNAL = "commit.json"
RESUMABLE_PREFIX = STAGING_PREFIX + "run-"
WORK = ".work"  # a resumable run's own files, never committed


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of the complete set in ``out_dir``, or None."""
    try:
        record = json.loads((out_dir / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EmorecoError(f"{out_dir / MANIFEST}: unreadable ({exc}); remove it") from exc
    return record if isinstance(record, dict) else None


def _finish(out_dir: Path, staging: Path) -> None:
    """Carry out a written journal: remove old files, move new ones, write the manifest."""
    journal = json.loads((staging / JOURNAL).read_text())
    (out_dir / MANIFEST).unlink(missing_ok=True)
    for name in journal["remove"]:
        (out_dir / name).unlink(missing_ok=True)
        if (out_dir / name).parent != out_dir:
            with contextlib.suppress(OSError):  # a sub-folder emptied by this: drop it
                (out_dir / name).parent.rmdir()
    for name in journal["files"]:
        if (staging / name).exists():  # absent if moved before an interruption
            (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, out_dir / name)
    with atomic_path(out_dir / MANIFEST) as tmp:
        tmp.write_text(json.dumps(journal["manifest"], indent=1) + "\n")
    shutil.rmtree(staging)


def recover(out_dir: Path) -> None:
    """Complete a commit that was interrupted; drop staging folders of killed runs
    (except those of resumable runs, which hold their work)."""
    if not out_dir.is_dir():
        return
    for staging in sorted(out_dir.glob(STAGING_PREFIX + "*")):
        if (staging / JOURNAL).is_file():
            log.info("%s: completing an interrupted commit", out_dir)
            _finish(out_dir, staging)
        elif not staging.name.startswith(RESUMABLE_PREFIX):
            shutil.rmtree(staging, ignore_errors=True)


def ensure_writable(out_dir: Path) -> None:
    """Create ``out_dir`` and check that files can be made in it (before any work).

    Raises
    ------
    OSError
        Naming the folder.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    create_unique_file(out_dir, ".emoreco-probe-", "").unlink()


def _has_work(staging: Path) -> bool:
    return any(p.is_file() for p in (staging / WORK).rglob("*"))


class OutputSet:
    """The files of one run, staged until :meth:`commit`.

    Parameters
    ----------
    out_dir : Path
    names : list of str
        The files this run will produce.
    overwrite : bool
        Replace a previous set (otherwise any existing file of the set, or a previous
        manifest, is an error).
    known_names : iterable of str
        Files a previous run may have written without a manifest (older versions); with
        ``overwrite`` they are removed when the new run does not produce them.
    resume_key : str, optional
        Makes the set resumable: an interrupted run with this key is continued (its
        :attr:`work_dir` kept); one with another key is an error, or discarded with
        ``overwrite``.

    Raises
    ------
    EmorecoError
        Outputs, or an interrupted run with another key, exist and ``overwrite`` is false.
    OSError
        The folder cannot be created or written (checked before any work).
    """

    def __init__(self, out_dir: Path, names: list[str], overwrite: bool,
                 known_names: tuple[str, ...] = (), resume_key: str | None = None) -> None:
        self.out_dir = out_dir
        self.names = names
        self.resumable = resume_key is not None
        out_dir.mkdir(parents=True, exist_ok=True)
        recover(out_dir)
        previous = read_manifest(out_dir)
        old = list(previous["files"]) if previous else [n for n in known_names
                                                          if (out_dir / n).is_file()]
        clashing = sorted(set(old) | {n for n in names if (out_dir / n).exists()})
        if clashing and not overwrite:
            shown = ", ".join(str(out_dir / n) for n in clashing[:3])
            raise EmorecoError(f"{len(clashing)} output file(s) exist ({shown}"
                               f"{', ...' if len(clashing) > 3 else ''}); use --overwrite or "
                               "--out-dir")
        self.previous = old
        self.staging = out_dir / (f"{RESUMABLE_PREFIX}{resume_key}" if self.resumable
                                  else f"{STAGING_PREFIX}{secrets.token_hex(4)}")
        for other in sorted(out_dir.glob(RESUMABLE_PREFIX + "*")):
            if other == self.staging:
                continue
            if _has_work(other) and not overwrite:
                raise EmorecoError(f"{out_dir} holds an interrupted run with other models or "
                                   "--start/--end: run that command again to finish it, or "
                                   "add --overwrite to discard its work")
            shutil.rmtree(other)
        self.staging.mkdir(exist_ok=self.resumable)  # fails now on a read-only folder
        self.work_dir = self.staging / WORK
        self.work_dir.mkdir(exist_ok=True)
        for leftover in self.staging.iterdir():  # outputs of an interrupted assembly
            if leftover.is_dir() and leftover != self.work_dir:
                shutil.rmtree(leftover)
            elif leftover.is_file():
                leftover.unlink()

    def path(self, name: str) -> Path:
        """Where to write file ``name`` of the set."""
        assert name.split("/")[0] in self.names, f"{name} is not part of this output set"
        return self.staging / name

    def commit(self, description: dict[str, Any]) -> list[Path]:
        """Move every staged file (sub-folders included) into place; return their paths.

        ``description`` goes into the manifest beside the list of files.
        """
        produced = sorted(p.relative_to(self.staging).as_posix()
                          for p in self.staging.rglob("*")
                          if p.is_file() and self.work_dir not in p.parents)
        manifest = dict(description, files={
            n: {"bytes": (self.staging / n).stat().st_size,
                "sha256": sha256_of(self.staging / n)} for n in produced})
        journal = {"files": produced, "remove": [n for n in self.previous if n not in produced],
                   "manifest": manifest}
        with atomic_path(self.staging / JOURNAL) as tmp:
            tmp.write_text(json.dumps(journal))
        _finish(self.out_dir, self.staging)
        return [self.out_dir / n for n in produced]

    def abandon(self) -> None:
        """Drop the staged files (the previous set stays as it was); a resumable run's
        work is kept for the next run."""
        if self.resumable and self.staging.is_dir() and _has_work(self.staging):
            log.info("%s: the work done is kept; run the same command again to resume",
                     self.out_dir)
            return
        shutil.rmtree(self.staging, ignore_errors=True)

"""Crash-safe file writes: a temporary file beside the target, fsync, rename, fsync.

After :func:`atomic_path` returns, the target holds either its old content or the whole
new content, and keeps it through a power cut: the temporary file's data reaches the
disk before the rename, and the rename reaches it before the function returns.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def create_unique_file(folder: Path, prefix: str, suffix: str) -> Path:
    """Create an empty new file in ``folder`` with a random name and the user's umask.

    (``tempfile.mkstemp`` would create it with mode 0600 whatever the umask, so that
    other users and web servers could not read what we write.)
    """
    for _ in range(100):
        path = folder / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o666))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{folder}: no free temporary name")  # pragma: no cover


def fsync_path(path: Path) -> None:
    """Flush a file's data, or a folder's entries (renames, removals), to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def naming_path(exc: OSError, path: Path) -> OSError:
    """``exc`` with ``path`` in its message when it names no file (a full disk on write)."""
    if exc.filename is not None:
        return exc
    if exc.errno is None:
        return OSError(f"{path}: {exc}")
    return OSError(exc.errno, exc.strerror, str(path))


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``target`` durably, in one rename.

    The temporary file lives in the target's folder (same file system), is created with
    the user's umask (as a plain ``open`` would) and keeps the target's suffixes, so
    libraries that choose a format by suffix still work. It is fsynced before the rename
    and the folder after it. On error the temporary file is removed and ``target`` is
    left as it was; an ``OSError`` that names no file (a full disk) is raised naming
    ``target``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes[-2:])  # keeps ".weights.h5", which Keras requires
    temporary = create_unique_file(target.parent, f".{target.name}.", f".tmp{suffix}")
    try:
        yield temporary
        fsync_path(temporary)
        os.replace(temporary, target)
        fsync_path(target.parent)
    except OSError as exc:
        raised = naming_path(exc, target)
        if raised is exc:
            raise
        raise raised from exc
    finally:
        temporary.unlink(missing_ok=True)


def write_json(path: str | Path, record: Any, indent: int | None = 1) -> None:
    """Write ``record`` as JSON (floats of numpy as floats), atomically and durably."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=indent, default=float) + "\n",
                       encoding="utf-8")

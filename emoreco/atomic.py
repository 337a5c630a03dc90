"""Atomic file writes: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def create_unique_file(folder: Path, prefix: str, suffix: str) -> Path:
    """Create an empty new file in ``folder`` with a random name and the user's umask.

    (``tempfile.mkstemp`` would create it with mode 0600 whatever the umask, so that
    other users and web servers could not read what we write.)
    """
    for _ in range(100):
        path = folder / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{folder}: no free temporary name")  # pragma: no cover


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``target`` in one rename.

    The temporary file lives in the target's folder (same file system), is created with
    the user's umask (as a plain ``open`` would) and keeps the target's suffixes, so
    libraries that choose a format by suffix still work. On error the temporary file is
    removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes[-2:])  # keeps ".weights.h5", which Keras requires
    temporary = create_unique_file(target.parent, f".{target.name}.", f".tmp{suffix}")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)

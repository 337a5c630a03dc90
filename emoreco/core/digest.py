"""SHA-256 digests: of files (models, audio, archives, output sets) and of JSON records."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def short_digest(record: Any, length: int = 16) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``record`` as canonical JSON
    (sorted keys): a stable name for a set of values (cache keys, run keys)."""
    blob = json.dumps(record, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:length]

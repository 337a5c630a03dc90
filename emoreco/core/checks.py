"""Checks of values that the program reads back from files (journals, manifests, fetch
records, download manifests): such files are untrusted data, never instructions."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}")  # no slash, no leading dot
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def is_plain_name(value: Any) -> bool:
    """A file name of letters, digits and ``_ . + -`` that starts with a letter or digit."""
    return isinstance(value, str) and PLAIN_NAME.fullmatch(value) is not None


def is_sha256(value: Any) -> bool:
    """64 lowercase hex digits."""
    return isinstance(value, str) and SHA256_HEX.fullmatch(value) is not None


def is_relative_path(value: Any) -> bool:
    """A non-empty relative POSIX path without ``..`` or backslashes."""
    if not isinstance(value, str) or not value or "\\" in value:
        return False
    path = PurePosixPath(value)
    return not path.is_absolute() and ".." not in path.parts

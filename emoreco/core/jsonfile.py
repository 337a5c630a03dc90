"""The one reader of JSON that the program reads back (journals, manifests, part
records, fetch records, download manifests, model metadata, bundle manifests).

Such files are untrusted data: a file may be truncated, not UTF-8, megabytes of
``[``, or too large to parse. :func:`read_json` and :func:`parse_json` bound the size
and the nesting before parsing, and turn every way a file can be unreadable into one
:class:`UnreadableJSON` (a ``ValueError``) that callers handle like a truncated file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.core.limits import JSON_MAX_BYTES, JSON_MAX_DEPTH

# A JSON string, escapes included ("unrolled": no backtracking on long strings)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPENERS = np.frombuffer(b"[{", np.uint8)
_CLOSERS = np.frombuffer(b"]}", np.uint8)


class UnreadableJSON(ValueError):
    """A JSON file that cannot be read, is too large or too deep, or is not JSON."""


def nesting_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text ``data`` (0 for a
    scalar), counted outside strings; a linear scan, no recursion."""
    codes = np.frombuffer(_STRING.sub(b'""', data), np.uint8)
    steps = np.isin(codes, _OPENERS).astype(np.int32) - np.isin(codes, _CLOSERS)
    return int(np.cumsum(steps).max(initial=0))


def parse_json(data: bytes | str, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """Parse JSON text after checking its nesting.

    Raises
    ------
    UnreadableJSON
        Not UTF-8, nested deeper than ``max_depth``, or not JSON (the reason in words).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise UnreadableJSON(f"nested {depth} levels deep (at most {max_depth} are read)")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UnreadableJSON(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except (ValueError, RecursionError) as exc:
        raise UnreadableJSON(f"not JSON ({type(exc).__name__}: {exc})") from exc


def read_json(path: str | Path, max_bytes: int = JSON_MAX_BYTES,
              max_depth: int = JSON_MAX_DEPTH) -> Any:
    """The JSON value in file ``path``, read only if it is at most ``max_bytes`` long
    and nested at most ``max_depth`` levels.

    Raises
    ------
    UnreadableJSON
        The file cannot be read (missing, a folder, permissions), is larger than
        ``max_bytes``, or :func:`parse_json` refuses it.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise UnreadableJSON(f"cannot be read ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise UnreadableJSON(f"larger than {max_bytes:,} bytes")
    return parse_json(data, max_depth)

"""Corpora that share songs: a test corpus must hold none of the training songs.

A song is shared when two corpora name the same file (after resolving links and
``..``) or files with the same content (SHA-256). Digests are computed only for files
whose size occurs on both sides, so disjoint corpora cost a ``stat`` per file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from emoreco.core.digest import sha256_of


def shared_files(first: Iterable[Path], second: Iterable[Path]) -> list[tuple[Path, Path]]:
    """Pairs (a file of ``first``, a file of ``second``) that are the same file or have
    the same content, sorted; empty when the two sets share no song."""
    def by_size(paths: Iterable[Path]) -> dict[int, list[Path]]:
        sizes: dict[int, list[Path]] = defaultdict(list)
        for path in paths:
            sizes[path.stat().st_size].append(path)
        return sizes

    left, right = by_size(first), by_size(second)
    pairs = set()
    for size in left.keys() & right.keys():
        digests: dict[str, Path] = {}
        for path in left[size]:
            digests.setdefault(sha256_of(path), path)
        resolved = {path.resolve(): path for path in left[size]}
        for path in right[size]:
            match = resolved.get(path.resolve()) or digests.get(sha256_of(path))
            if match is not None:
                pairs.add((match, path))
    return sorted(pairs)

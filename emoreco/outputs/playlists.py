"""Playlists from songs' values: a region of the emotion plane, or an order that flows.

A song is a point per statistic (``mean``, ``start``, ``end``) in the space of the targets
(arousal, valence). **Flow** orders songs so that each starts near where the previous one
ended. The objective, minimised, is the sum of the transition distances

    J = d(from, start_1) + sum_k d(end_k, start_{k+1}) + d(end_n, to)

with d the Euclidean distance over the targets on DEAM's [-1, 1] scale, ``from`` and
``to`` optional mood points (no term when absent), and a fixed first song as an option.
It is an asymmetric travelling-salesman path; :func:`flow_order` solves it with a greedy
nearest-neighbour tour improved by moving one song at a time to its best position until
no move helps (or-opt), which is within a few per cent of optimal on small sets
(``benchmarks/bench_playlist_flow.py`` compares it with random and sorted orders).

M3U8 files (:func:`write_m3u8`) are UTF-8 with ``#EXTM3U``/``#EXTINF`` lines and paths
relative to the playlist's folder, with ``/`` separators, so players on other machines
that see the same music folder open them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoreco.core.atomic import atomic_path
from emoreco.core.errors import ConfigError
from emoreco.model.targets import TARGETS

# Named points of the plane (valence, arousal) for --from/--to and regions for
# --quadrant: each quadrant's centre, under the quadrant's words and the MOOD tag's word.
QUADRANT_WORDS = {"happy": (True, True), "tense": (False, True), "sad": (False, False),
                  "calm": (True, False)}
MOOD_SYNONYMS = {"excited": "happy", "energetic": "happy", "joyful": "happy",
                 "angry": "tense", "anxious": "tense", "depressed": "sad",
                 "melancholic": "sad", "relaxed": "calm", "peaceful": "calm"}
MOOD_CENTRE = 0.5


def mood_name(word: str) -> str:
    """The quadrant word (``happy``, ``tense``, ``sad``, ``calm``) of a mood word."""
    key = word.strip().lower()
    key = MOOD_SYNONYMS.get(key, key)
    if key not in QUADRANT_WORDS:
        known = ", ".join([*QUADRANT_WORDS, *MOOD_SYNONYMS])
        raise ConfigError(f"unknown mood {word!r}; known: {known}")
    return key


def mood_point(word: str) -> dict[str, float]:
    """The centre of a mood's quadrant: target -> value (valence and arousal ±0.5)."""
    valence_high, arousal_high = QUADRANT_WORDS[mood_name(word)]
    return {"valence": MOOD_CENTRE if valence_high else -MOOD_CENTRE,
            "arousal": MOOD_CENTRE if arousal_high else -MOOD_CENTRE}


@dataclass(frozen=True)
class LibrarySong:
    """One file and its values: ``values[(target, statistic)]`` on [-1, 1]."""

    path: Path
    values: Mapping[tuple[str, str], float]
    duration_s: float | None = None

    def point(self, statistic: str) -> np.ndarray:
        """The song's values of ``statistic`` over the targets, shape (n_targets,)."""
        return np.array([self.values[(target, statistic)] for target in TARGETS])


def parse_range(text: str) -> tuple[float, float]:
    """``LO:HI`` (either side may be empty) -> (lo, hi) within [-1, 1]."""
    low, sep, high = text.partition(":")
    try:
        bounds = (float(low) if low.strip() else -1.0, float(high) if high.strip() else 1.0)
    except ValueError:
        bounds = (math.nan, math.nan)
    finite = all(math.isfinite(b) for b in bounds)
    if not sep or not finite or not -1 <= bounds[0] <= bounds[1] <= 1:
        raise ConfigError(f"not a range LO:HI of values in [-1, 1]: {text!r}")
    return bounds


def in_region(song: LibrarySong, ranges: Mapping[str, tuple[float, float]],
              quadrant: str | None = None) -> bool:
    """Whether the song's mean point lies in every range and in the quadrant (if any)."""
    for target, (low, high) in ranges.items():
        if not low <= song.values[(target, "mean")] <= high:
            return False
    if quadrant is not None:
        point = (song.values[("valence", "mean")] >= 0, song.values[("arousal", "mean")] >= 0)
        return point == QUADRANT_WORDS[mood_name(quadrant)]
    return True


def transition_costs(songs: Sequence[LibrarySong], start: Mapping[str, float] | None = None,
                     end: Mapping[str, float] | None = None, first: int | None = None
                     ) -> np.ndarray:
    """Costs of the flow's cycle through a virtual node 0, shape (n + 1, n + 1).

    ``cost[i + 1, j + 1]`` = distance from song i's end to song j's start; from the
    virtual node to song j: distance from ``start`` (0 without one; only song ``first``
    reachable when given); from song i to the virtual node: distance to ``end``.
    """
    n = len(songs)
    ends = np.array([song.point("end") for song in songs]).reshape(n, len(TARGETS))
    starts = np.array([song.point("start") for song in songs]).reshape(n, len(TARGETS))
    cost = np.zeros((n + 1, n + 1))
    cost[1:, 1:] = np.linalg.norm(ends[:, None, :] - starts[None, :, :], axis=2)
    if start is not None:
        origin = np.array([start[target] for target in TARGETS])
        cost[0, 1:] = np.linalg.norm(starts - origin, axis=1)
    if first is not None:
        cost[0, 1:] = np.where(np.arange(n) == first, 0.0, 1e6)
    if end is not None:
        goal = np.array([end[target] for target in TARGETS])
        cost[1:, 0] = np.linalg.norm(ends - goal, axis=1)
    np.fill_diagonal(cost, 0.0)
    return cost


def cycle_cost(order: Sequence[int], cost: np.ndarray) -> float:
    """The objective J of a cycle of node indices (the virtual node 0 included)."""
    nodes = np.asarray(order)
    return float(cost[nodes, np.roll(nodes, -1)].sum())


GREEDY_STARTS = 64  # first songs tried by the greedy tour (the most isolated starts)


def _greedy(cost: np.ndarray, first: int) -> list[int]:
    """Nearest-neighbour cycle from the virtual node 0 through node ``first``."""
    order, left = [0, first], set(range(1, len(cost))) - {first}
    while left:
        candidates = np.fromiter(left, dtype=int)
        best = int(candidates[np.argmin(cost[order[-1], candidates])])
        order.append(best)
        left.remove(best)
    return order


def _relocate(order: list[int], cost: np.ndarray, max_passes: int) -> list[int]:
    """Or-opt: move single nodes to their best place while the cycle gets cheaper."""
    for _ in range(max_passes):
        improved = False
        for node in list(order[1:]):
            index = order.index(node)
            before, after = order[index - 1], order[(index + 1) % len(order)]
            gain = cost[before, node] + cost[node, after] - cost[before, after]
            rest = np.array(order[:index] + order[index + 1:])
            following = np.roll(rest, -1)
            added = cost[rest, node] + cost[node, following] - cost[rest, following]
            place = int(np.argmin(added))
            if added[place] < gain - 1e-12:
                rest_list = rest.tolist()
                order = rest_list[:place + 1] + [node] + rest_list[place + 1:]
                improved = True
        if not improved:
            break
    return order


def flow_order(songs: Sequence[LibrarySong], start: Mapping[str, float] | None = None,
               end: Mapping[str, float] | None = None, first: int | None = None,
               max_passes: int = 20) -> list[int]:
    """Indices of ``songs`` in an order that flows (see the module's objective J)."""
    if len(songs) < 2:
        return list(range(len(songs)))
    cost = transition_costs(songs, start, end, first)
    # first songs to try: the cheapest to reach from the virtual node, then those whose
    # start is farthest from every other song's end (where a path naturally begins)
    inner = cost[1:, 1:] + np.diag(np.full(len(songs), np.inf))
    isolation = inner.min(axis=0)
    ranked = np.lexsort((-isolation, cost[0, 1:]))[:GREEDY_STARTS] + 1
    tours = [_greedy(cost, int(node)) for node in ranked]
    best = min(tours, key=lambda tour: cycle_cost(tour, cost))
    order = _relocate(best, cost, max_passes)
    zero = order.index(0)
    return [node - 1 for node in order[zero + 1:] + order[:zero]]


def flow_cost(songs: Sequence[LibrarySong], order: Sequence[int],
              start: Mapping[str, float] | None = None,
              end: Mapping[str, float] | None = None) -> float:
    """J of ``songs`` played in ``order`` (indices into ``songs``)."""
    cost = transition_costs(songs, start, end)
    return cycle_cost([0, *(i + 1 for i in order)], cost)


def m3u8_text(paths: Sequence[Path], playlist: Path, titles: Sequence[str],
              durations: Sequence[float | None]) -> str:
    """An extended M3U playlist: entries relative to ``playlist``'s folder.

    Raises
    ------
    ConfigError
        A path that cannot be written in a UTF-8 playlist (undecodable bytes, a line
        break in its name).
    """
    folder = playlist.resolve().parent
    lines = ["#EXTM3U", "#EXTENC:UTF-8"]
    for path, title, duration in zip(paths, titles, durations):
        relative = Path(os.path.relpath(path.resolve(), folder)).as_posix()
        try:
            relative.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigError(f"{path!s}: the name is not UTF-8 and cannot be listed in an "
                              "M3U8 playlist; rename it") from None
        if any(c in relative + title for c in "\r\n"):
            raise ConfigError(f"{path!r}: a line break in the name; rename it")
        seconds = -1 if duration is None else round(duration)
        lines += [f"#EXTINF:{seconds},{title}", relative]
    return "\n".join(lines) + "\n"


def write_m3u8(playlist: Path, songs: Sequence[LibrarySong]) -> None:
    """Write ``songs`` (in order) as the M3U8 file ``playlist``, atomically."""
    text = m3u8_text([song.path for song in songs], playlist,
                     [song.path.stem for song in songs],
                     [song.duration_s for song in songs])
    with atomic_path(playlist) as tmp:
        tmp.write_text(text, encoding="utf-8")

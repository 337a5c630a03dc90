"""``emoreco playlist``: the tagged songs of a library, chosen and ordered, as M3U8."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from emoreco.core.errors import DataLayoutError
from emoreco.core.extras import require
from emoreco.model.targets import TARGETS
from emoreco.outputs.playlists import (LibrarySong, flow_order, in_region, mood_point,
                                       write_m3u8)
from emoreco.outputs.tags import TAG_STATISTICS, TagError, read_values
from emoreco.runs.inputs import find_audio_files

log = logging.getLogger(__name__)


def read_library(inputs: Sequence[str | Path], glob: str | None = None,
                 report: Callable[[str], None] = log.warning
                 ) -> tuple[list[LibrarySong], list[Path]]:
    """The audio files of ``inputs`` (recursively) that carry every value tag, and those
    that do not (untagged); a file whose tags cannot be read is one ``report`` line."""
    require("mutagen", "library", "emoreco playlist")
    songs, untagged = [], []
    needed = {(target, statistic) for target in TARGETS for statistic in TAG_STATISTICS}
    for path in find_audio_files(inputs, True, glob):
        try:
            values, duration = read_values(path)
        except TagError as exc:
            report(str(exc))
            continue
        if needed <= values.keys():
            songs.append(LibrarySong(path, values, duration))
        else:
            untagged.append(path)
    return songs, untagged


@dataclass(frozen=True)
class PlaylistOptions:
    """What ``emoreco playlist`` selects and how it orders.

    ``ranges``: target -> (lo, hi) of the song mean; ``quadrant``: a mood word; ``flow``:
    order by flow (else by path), from ``first`` (a file) or from mood ``start`` to mood
    ``end``; ``limit``: at most this many songs (the flow's first ones).
    """

    ranges: Mapping[str, tuple[float, float]]
    quadrant: str | None = None
    flow: bool = False
    first: Path | None = None
    start: str | None = None
    end: str | None = None
    limit: int | None = None


def make_playlist(songs: Sequence[LibrarySong], options: PlaylistOptions) -> list[LibrarySong]:
    """The songs of the playlist, in order.

    Raises
    ------
    DataLayoutError
        No song in the region, or ``first`` is not one of the tagged songs chosen.
    """
    chosen = [song for song in songs if in_region(song, options.ranges, options.quadrant)]
    if not chosen:
        raise DataLayoutError("no tagged song in that region (emoreco tag tags a folder)")
    if options.flow:
        first = None
        if options.first is not None:
            wanted = options.first.resolve()
            matches = [i for i, song in enumerate(chosen) if song.path.resolve() == wanted]
            if not matches:
                raise DataLayoutError(f"{options.first}: not among the tagged songs chosen")
            first = matches[0]
        start = mood_point(options.start) if options.start else None
        end = mood_point(options.end) if options.end else None
        chosen = [chosen[i] for i in flow_order(chosen, start, end, first)]
    return chosen[:options.limit] if options.limit else chosen


def write_playlist(inputs: Sequence[str | Path], out: Path, options: PlaylistOptions,
                   glob: str | None = None, report: Callable[[str], None] = log.warning
                   ) -> tuple[list[LibrarySong], list[Path]]:
    """Read the library, make the playlist, write it to ``out``; return its songs and
    the untagged files."""
    songs, untagged = read_library(inputs, glob, report)
    playlist = make_playlist(songs, options)
    write_m3u8(out, playlist)
    return playlist, untagged

"""``emoreco tag`` and ``emoreco playlist``: the values in a music library's files."""

from __future__ import annotations

import argparse
from pathlib import Path

from emoreco.cli.common import (add_engine_options, add_model_options, log, model_names,
                                models_dir, positive_int, say)
from emoreco.core.text import printable


def tag_parser() -> argparse.ArgumentParser:
    """Options of ``emoreco tag``."""
    parser = argparse.ArgumentParser(
        prog="emoreco tag",
        description="Analyse songs and write their arousal and valence (song mean, first "
                    "and last 15 s, on DEAM's [-1, 1] scale) into the files' own tags: "
                    "EMORECO_AROUSAL, EMORECO_VALENCE, EMORECO_<TARGET>_START/_END and "
                    "EMORECO_MODELS (ID3 TXXX, Vorbis comments, MP4 freeform atoms). Files "
                    "already tagged by the same models are skipped without decoding.")
    parser.add_argument("inputs", nargs="+", type=Path, metavar="PATH",
                        help="audio files and/or folders (folders searched recursively)")
    parser.add_argument("--glob", metavar="PATTERN",
                        help="only files whose name matches this shell pattern, e.g. '*.flac'")
    add_model_options(parser)
    parser.add_argument("--mood", action="store_true",
                        help="also write the standard MOOD tag (ID3 TMOO) from the quadrant "
                             "of the song's mean: Happy, Tense, Sad or Calm; a mood the file "
                             "already has is kept unless --force")
    parser.add_argument("--force", action="store_true",
                        help="analyse and tag files already tagged by these models, and "
                             "replace an existing MOOD")
    parser.add_argument("--dry-run", action="store_true",
                        help="analyse and print what would change; write nothing")
    parser.add_argument("--allow-demo", action="store_true",
                        help="tag with models trained on the synthetic demo corpus (refused "
                             "by default: their values mean nothing for real music)")
    parser.add_argument("--touch", action="store_true",
                        help="give tagged files a new modification time (default: keep it)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar, no line per tagged file")
    add_engine_options(parser, "songs")
    return parser


def tag_main(args: argparse.Namespace) -> int:
    """Tag the files; exit 1 if any file failed (the others are tagged)."""
    from emoreco.runs.tagging import TagOptions, tag_files

    options = TagOptions(models_dir=models_dir(args), model_names=model_names(args),
                         mood=args.mood, force=args.force, dry_run=args.dry_run,
                         keep_mtime=not args.touch, allow_demo=args.allow_demo,
                         glob=args.glob, jobs=args.jobs, scheduler=args.scheduler,
                         progress=not args.quiet)
    result = tag_files(args.inputs, options, lambda line: say(f"failed: {line}"))
    verb = "would change" if args.dry_run else "tagged"
    for change in result.changed:
        if args.dry_run or not args.quiet:
            values = ", ".join(f"{name}={new}" for name, (_, new) in change.changes.items())
            log.info("%s %s: %s", verb, printable(str(change.path)), values)
    log.info("%d files %s, %d already up to date, %d skipped (tagged by these models), "
             "%d failed", len(result.changed), verb, len(result.unchanged),
             len(result.skipped), len(result.failures))
    return 1 if result.failures else 0


def playlist_parser() -> argparse.ArgumentParser:
    """Options of ``emoreco playlist``."""
    from emoreco.model.targets import TARGETS
    from emoreco.outputs.playlists import MOOD_SYNONYMS, QUADRANT_WORDS

    moods = ", ".join([*QUADRANT_WORDS, *MOOD_SYNONYMS])
    parser = argparse.ArgumentParser(
        prog="emoreco playlist",
        description="Write an M3U8 playlist of tagged songs (emoreco tag): those in a region "
                    "of the valence-arousal plane, in an order that flows (each song starts "
                    "near where the previous one ended) or by path. Paths are relative to "
                    "the playlist.")
    parser.add_argument("inputs", nargs="+", type=Path, metavar="PATH",
                        help="tagged audio files and/or folders (searched recursively)")
    parser.add_argument("-o", "--out", type=Path, required=True, metavar="FILE.m3u8",
                        help="the playlist to write (replaced if it exists)")
    parser.add_argument("--glob", metavar="PATTERN", help="only files matching this pattern")
    parser.add_argument("--quadrant", metavar="MOOD",
                        help=f"songs whose mean lies in this mood's quadrant ({moods})")
    for target in TARGETS:
        parser.add_argument(f"--{target}", metavar="LO:HI",
                            help=f"songs whose mean {target} is in [LO, HI] (e.g. 0.2:1, :0)")
    parser.add_argument("--flow", action="store_true",
                        help="order so that each song starts near where the previous one "
                             "ended (default order: by path)")
    parser.add_argument("--first", type=Path, metavar="FILE",
                        help="with --flow: start with this song")
    parser.add_argument("--from", dest="start", metavar="MOOD",
                        help="with --flow: begin near this mood")
    parser.add_argument("--to", dest="end", metavar="MOOD",
                        help="with --flow: end near this mood")
    parser.add_argument("--limit", type=positive_int, metavar="N",
                        help="at most N songs (the first N of the order)")
    return parser


def playlist_main(args: argparse.Namespace) -> int:
    """Write the playlist; exit 2 when no song qualifies."""
    from emoreco.core.errors import ConfigError
    from emoreco.model.targets import TARGETS
    from emoreco.outputs.playlists import mood_name, parse_range
    from emoreco.runs.library import PlaylistOptions, write_playlist

    if (args.first or args.start or args.end) and not args.flow:
        raise ConfigError("--first, --from and --to order a --flow playlist; add --flow")
    if args.first and args.start:
        raise ConfigError("give --first or --from, not both")
    for word in (args.quadrant, args.start, args.end):
        if word is not None:
            mood_name(word)
    ranges = {target: parse_range(getattr(args, target)) for target in TARGETS
              if getattr(args, target) is not None}
    options = PlaylistOptions(ranges, args.quadrant, args.flow, args.first, args.start,
                              args.end, args.limit)
    songs, untagged = write_playlist(args.inputs, args.out, options, args.glob,
                                     lambda line: say(f"skipped: {line}"))
    if untagged:
        log.info("%d files have no emoreco tags (emoreco tag PATH tags them)", len(untagged))
    log.info("wrote %s: %d songs", printable(str(args.out)), len(songs))
    return 0

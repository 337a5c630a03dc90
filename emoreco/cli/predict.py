"""``MAIN.py``: curves, tables, pictures and the report for any songs."""

from __future__ import annotations

import argparse
from pathlib import Path


from emoreco.cli.common import (DEFAULT_DATA, DEFAULT_RESULTS, add_engine_options,
                                add_model_options, finite_seconds, log, model_names,
                                models_dir, positive_int, say)
from emoreco.core.errors import ConfigError
from emoreco.core.text import printable
from emoreco.runs.catalog import (AUTO_PARQUET_SONGS, AUTO_PLOT_SONGS, EMBED_AUDIO_SONGS,
                                  CatalogOptions, CatalogRun)


def predict_parser(prog: str = "MAIN.py") -> argparse.ArgumentParser:
    """Options of ``MAIN.py`` (``emoreco predict``: ``prog``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Predict valence and arousal curves (2 Hz) of songs with the trained "
                    "models; write a CSV, a summary, pictures and an offline HTML report.")
    parser.add_argument("inputs", nargs="*", type=Path,
                        help="audio files and/or folders (default: data/test_songs, the demo "
                             "songs that `make demo` writes)")
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="also look for audio in the folders' subfolders")
    parser.add_argument("--glob", metavar="PATTERN",
                        help="only files whose name matches this shell pattern, e.g. '*.m4a'")
    add_model_options(parser)
    parser.add_argument("--start", type=finite_seconds, default=None,
                        help="first time step in seconds (default: the whole song, arousal "
                             "from 0 s and valence from 2.5 s; --start 15 is DEAM's convention)")
    parser.add_argument("--end", type=finite_seconds, default=None,
                        help="inputs end by this time (default: end of the song)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_RESULTS,
                        help=f"where the CSVs, pictures and report go (default: {DEFAULT_RESULTS})")
    parser.add_argument("--json", action="store_true", help="also write TestSongPredicted.json")
    parser.add_argument("--table", choices=("auto", "csv", "parquet"), default="auto",
                        help="per-step table: one TestSongPredicted.csv, or a folder "
                             "TestSongPredicted.parquet/ of parts with the same columns "
                             f"(default auto: CSV up to {AUTO_PARQUET_SONGS} songs)")
    parser.add_argument("--plots", action=argparse.BooleanOptionalAction, default=None,
                        help="draw the PNG pictures (default: only for up to "
                             f"{AUTO_PLOT_SONGS} songs)")
    parser.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                        help="write the interactive HTML report (default: yes)")
    parser.add_argument("--embed-audio", action="store_true",
                        help="embed compressed audio (Opus, 24 kbit/s) in the report so that "
                             f"it plays anywhere (at most {EMBED_AUDIO_SONGS} songs); by "
                             "default the player links the files by relative path")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing outputs (and an interrupted run of other "
                             "models or --start/--end)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar and no line per song (warnings, failures "
                             "and the files written are still said)")
    add_engine_options(parser, "songs")
    parser.add_argument("--part-songs", type=positive_int, default=256, metavar="N",
                        help="songs per part written as the run goes (default: 256); a "
                             "killed run loses at most this many songs or a minute of work "
                             "and resumes when started again with the same arguments")
    return parser


def validate_options(args: argparse.Namespace) -> None:
    """Build the run's :class:`CatalogOptions` (which check themselves: ``--end`` after
    ``--start``, ...) into ``args.options``, so that a conflict is refused by the parser.
    No inputs: the demo songs, or advice when there are none (a fresh clone)."""
    args.options = CatalogOptions(
        out_dir=args.out_dir, models_dir=models_dir(args),
        model_names=model_names(args),
        start_s=args.start, end_s=args.end, recursive=args.recursive, glob=args.glob,
        jobs=args.jobs, scheduler=args.scheduler, table=args.table, plots=args.plots,
        report=args.report, json=args.json, embed_audio=args.embed_audio,
        overwrite=args.overwrite, part_songs=args.part_songs, progress=not args.quiet)
    if not args.inputs:
        demo_songs = DEFAULT_DATA / "test_songs"
        if not any(demo_songs.glob("demo_song_*")):
            raise ConfigError("no songs given, and no demo songs in data/test_songs: give "
                              "audio files or folders (MAIN.py song.mp3 album/), or run "
                              "`make demo` first (it writes the demo songs and trains "
                              "models)")
        args.inputs = [demo_songs]


def predict_main(args: argparse.Namespace) -> int:
    """Run :class:`~emoreco.runs.catalog.CatalogRun` with the options of ``MAIN.py``
    (``args`` went through :func:`validate_options`).

    Exit 1 if any song failed (the others are written), 2 for a user error.
    """
    with CatalogRun(args.inputs, args.options) as run:
        log.info("models trained on %s", run.describe_models())
        if run.warning:
            say(f"WARNING: {run.warning}")
        result = run.run(lambda message: say(f"failed: {message}"))
    if not result.songs:
        say("error: no song could be predicted")
        return 1
    for item in [] if args.quiet else result.summaries:
        log.info("%-28s arousal %+.3f  valence %+.3f  %s", printable(item["song"]),
                 item["arousal_mean"],
                 item["valence_mean"], item["quadrant"])
    top = [p for p in result.written if p.parent == args.out_dir]  # not each Parquet part
    log.info("wrote %s%s", ", ".join(map(str, top)),
             f" ({len(result.written) - len(top)} files in sub-folders)"
             if len(result.written) > len(top) else "")
    return 1 if result.failures else 0

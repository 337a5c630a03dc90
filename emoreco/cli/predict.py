"""``MAIN.py``: curves, tables, pictures and the report for any songs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from emoreco.cli.common import (DEFAULT_DATA, DEFAULT_MODELS, DEFAULT_RESULTS,
                                add_engine_options, finite_seconds, log, positive_int)
from emoreco.errors import ConfigError
from emoreco.features import grid_indices
from emoreco.targets import TARGETS

AUTO_PLOT_SONGS = 12  # above this, PNGs are drawn only with --plots
AUTO_PARQUET_SONGS = 5000  # above this, the per-step table is Parquet parts by default
EMBED_AUDIO_SONGS = 200  # about 140 kB per 45-s song


def predict_parser() -> argparse.ArgumentParser:
    """Options of ``MAIN.py``."""
    parser = argparse.ArgumentParser(
        prog="MAIN.py",
        description="Predict valence and arousal curves (2 Hz) of songs with the trained "
                    "models; write a CSV, a summary, pictures and an offline HTML report.")
    parser.add_argument("inputs", nargs="*", type=Path, default=[DEFAULT_DATA / "test_songs"],
                        help="audio files and/or folders (default: data/test_songs)")
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="also look for audio in the folders' subfolders")
    parser.add_argument("--glob", metavar="PATTERN",
                        help="only files whose name matches this shell pattern, e.g. '*.m4a'")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    for target in TARGETS:
        parser.add_argument(f"--{target}-model", default=target, dest=f"{target}_model",
                            help=f"model name (default: {target})")
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
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_engine_options(parser, "songs")
    parser.add_argument("--part-songs", type=positive_int, default=256, metavar="N",
                        help="songs per part written as the run goes (default: 256); a "
                             "killed run loses at most this many songs or a minute of work "
                             "and resumes when started again with the same arguments")
    return parser


def validate_span(args: argparse.Namespace) -> None:
    """``--end`` after ``--start``."""
    if args.end is not None and args.end <= (args.start or 0.0):
        raise ConfigError(f"--end ({args.end}) must be after --start ({args.start or 0.0})")


def check_start(start_s: float, hop_s: float) -> None:
    """``--start`` on the models' time grid."""
    grid_indices(np.array([start_s]), hop_s, f"--start must be a multiple of {hop_s:g} s")


def audio_sources(files: list[Path], names: dict[Path, str], out_dir: Path, embed: bool,
                  sample_rate: int) -> dict[str, str]:
    """Song name -> what the report's player plays: a link relative to the report, or
    (``embed``) the song as an Opus data URI."""
    import base64
    import urllib.parse

    from emoreco.audio import encode_opus, load_audio
    from emoreco.errors import EmorecoError

    sources = {}
    for path in files:
        if embed:
            try:
                opus = encode_opus(load_audio(path, sample_rate), sample_rate)
            except EmorecoError:
                continue  # already reported as a failed song
            sources[names[path]] = "data:audio/ogg;base64," + base64.b64encode(opus).decode()
        else:
            relative = os.path.relpath(path.resolve(), out_dir.resolve())
            sources[names[path]] = urllib.parse.quote(Path(relative).as_posix())
    return sources


def run_key(metas: dict, start_s: float, end_s: float | None) -> str:
    """What makes two runs' per-song results interchangeable: the models' files and the
    time span (a resumed run must match)."""
    from emoreco.digest import short_digest

    return short_digest({"models": {target: meta.sha256 for target, meta in sorted(metas.items())},
                         "start_s": start_s, "end_s": end_s, "parts": 1})


def predict_main(args: argparse.Namespace) -> int:
    """Predict song by song into resumable parts, then write every output as one set.

    Exit 1 if any song failed (the others are written), 2 for a user error.
    """
    from emoreco import __version__
    from emoreco.output_set import OutputSet, check_writable
    from emoreco.predict import (Predictor, PredictorSetup, find_audio_files, predict_catalog,
                                 read_model_metas, song_jobs, unique_song_names)
    from emoreco.provenance import demo_warning, describe
    from emoreco.report import KNOWN_OUTPUTS, output_paths, write_report
    from emoreco.result_parts import write_parquet_dataset

    files = find_audio_files(args.inputs, args.recursive, args.glob)
    if args.embed_audio and len(files) > EMBED_AUDIO_SONGS:
        raise ConfigError(f"--embed-audio is for portable pages of up to {EMBED_AUDIO_SONGS} "
                          f"songs, not {len(files)}; without it the page links the files")
    pictures = args.plots if args.plots is not None else len(files) <= AUTO_PLOT_SONGS
    parquet = args.table == "parquet" or (args.table == "auto"
                                          and len(files) > AUTO_PARQUET_SONGS)
    roles = output_paths(args.out_dir, args.json, pictures, args.report, parquet)
    check_writable(args.out_dir)  # fails now, not after the work
    model_names = {target: getattr(args, f"{target}_model") for target in TARGETS}
    metas = read_model_metas(args.models_dir, model_names)
    start = 0.0 if args.start is None else args.start
    check_start(start, next(iter(metas.values())).feature_params.hop_s)  # before any work
    predictor = Predictor(args.models_dir, model_names, metas)
    with OutputSet(args.out_dir, [p.name for p in roles.values()], args.overwrite,
                   known_names=KNOWN_OUTPUTS,
                   resume_key=run_key(predictor.metas, start, args.end)) as outputs:
        trained_on = {target: describe(meta.data) for target, meta in predictor.metas.items()}
        shared = set(trained_on.values())
        log.info("models trained on %s", shared.pop() if len(shared) == 1 else
                 "; ".join(f"{target}: {d}" for target, d in trained_on.items()))
        warning = demo_warning([meta.data for meta in predictor.metas.values()])
        if warning:
            print(f"WARNING: {warning}", file=sys.stderr)
        setup = PredictorSetup(str(Path(args.models_dir).resolve()), tuple(model_names.items()))
        names = unique_song_names(files)
        jobs = song_jobs(files, names, start, args.end)
        curves, failures = predict_catalog(
            predictor, setup, jobs,
            outputs.work_dir, args.scheduler, args.jobs, args.part_songs, not args.quiet)
        for message in failures.values():
            print(f"failed: {message}", file=sys.stderr)
        if not curves:
            print("error: no song could be predicted", file=sys.stderr)
            return 1
        if parquet:
            write_parquet_dataset(curves, outputs.path(roles["parquet"].name))
        audio = (audio_sources([f for f, job in zip(files, jobs) if job.path not in failures],
                               names, args.out_dir, args.embed_audio,
                               predictor.params.sample_rate)
                 if "html" in roles else {})
        write_report(curves, {role: outputs.path(p.name) for role, p in roles.items()
                              if role != "parquet"}, failures, warning, audio)
        shown = [c.summary() for c in curves] if len(curves) <= AUTO_PLOT_SONGS else []
        models = {target: {"name": meta.name, "trained_on": trained_on[target],
                           "data": meta.data} for target, meta in predictor.metas.items()}
        written = outputs.commit({"emoreco_version": __version__, "warning": warning,
                                  "songs": len(curves), "models": models,
                                  "failures": failures, "start_s": start, "end_s": args.end})
    for item in shown:  # the parts are gone with the commit: summaries taken before
        log.info("%-28s arousal %+.3f  valence %+.3f  %s", item["song"], item["arousal_mean"],
                 item["valence_mean"], item["quadrant"])
    top = [p for p in written if p.parent == args.out_dir]  # not each Parquet part
    log.info("wrote %s%s", ", ".join(map(str, top)),
             f" ({len(written) - len(top)} files in sub-folders)" if len(written) > len(top)
             else "")
    return 1 if failures else 0

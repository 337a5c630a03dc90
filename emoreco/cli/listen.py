"""``emoreco listen SOURCE``: valence and arousal of a live stream, as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emoreco.cli.common import DEFAULT_MODELS, finite_seconds, log
from emoreco.model.targets import TARGETS


def listen_parser() -> argparse.ArgumentParser:
    """Options of ``emoreco listen``."""
    parser = argparse.ArgumentParser(
        prog="emoreco listen",
        description="Print one JSON line per new value while the audio arrives: "
                    '{"t": 12.5, "arousal": 0.31, "valence": null} (null: no value yet). '
                    "The values equal MAIN.py's for the same audio.")
    parser.add_argument("source", help="- (standard input: any format FFmpeg reads from a "
                        "pipe), a URL (http://, https://, ...) or an audio file")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    for target in TARGETS:
        parser.add_argument(f"--{target}-model", default=target, dest=f"{target}_model",
                            help=f"model name (default: {target})")
    parser.add_argument("--start", type=finite_seconds, default=0.0,
                        help="first time step in seconds (default: 0)")
    parser.add_argument("--realtime", action="store_true",
                        help="read a file at its own pace (default: as fast as it decodes)")
    return parser


def listen_main(args: argparse.Namespace) -> int:
    """Stream the values to standard output; exit 0 at the end of the input."""
    from emoreco.model.predictor import Predictor
    from emoreco.runs.listen import listen

    predictor = Predictor(args.models_dir, {t: getattr(args, f"{t}_model") for t in TARGETS})

    def emit(record: dict) -> None:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()

    try:
        listen(args.source, predictor, emit, start_s=args.start, realtime=args.realtime)
    except BrokenPipeError:  # the reader went away (`| head`): not an error of ours
        sys.stderr.close()
        return 0
    log.debug("end of input")
    return 0

"""Layer 6, command-line entry points: argument parsing only. Each command parses its
options, calls the package's API (:class:`~emoreco.runs.catalog.CatalogRun`,
:func:`~emoreco.training.run.train`, :func:`~emoreco.data.fetch.fetch_deam`, ...) and maps
errors to exit codes. It may import every layer below.

``MAIN_arousal.py``, ``MAIN_valence.py`` and ``MAIN.py`` call :func:`main_arousal`,
:func:`main_valence` and :func:`main_predict`; ``python -m emoreco`` and the ``emoreco``
console command offer the ``demo``, ``extract``, ``fetch-deam``, ``train-<target>`` and
``predict`` subcommands.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from emoreco.cli.common import EXIT_USER_ERROR, run
from emoreco.cli.data import (demo_main, demo_parser, extract_main, extract_parser,
                              fetch_main, fetch_parser)
from emoreco.cli.listen import listen_main, listen_parser, validate_listen
from emoreco.cli.predict import predict_main, predict_parser, validate_options
from emoreco.cli.train import train_main, training_parser, validate_training_args
from emoreco.model.targets import TARGETS


def main_training(target: str, argv: Sequence[str] | None = None) -> int:
    """Train the model of ``target``."""
    return run(lambda a: train_main(a, target), training_parser(target), argv,
               validate_training_args)


def main_arousal(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``MAIN_arousal.py``."""
    return main_training("arousal", argv)


def main_valence(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``MAIN_valence.py``."""
    return main_training("valence", argv)


def main_predict(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``MAIN.py``."""
    return run(predict_main, predict_parser(), argv, validate_options)


Command = tuple[str, Callable[[Sequence[str]], int]]


def _commands() -> dict[str, Command]:
    commands: dict[str, Command] = {
        "demo": ("write the synthetic DEAM-layout demo corpus",
                 lambda argv: run(demo_main, demo_parser(), argv)),
        "extract": ("compute and cache features of a DEAM-layout folder",
                    lambda argv: run(extract_main, extract_parser(), argv)),
        "fetch-deam": ("download, verify and unpack the official DEAM archives",
                       lambda argv: run(fetch_main, fetch_parser(), argv)),
    }
    for target in TARGETS:
        commands[f"train-{target}"] = (f"train the {target} model (as MAIN_{target}.py)",
                                       lambda argv, t=target: main_training(t, argv))
    commands["predict"] = ("curves for songs (as MAIN.py)", main_predict)
    commands["listen"] = ("curves of a live stream (pipe, URL, file) as JSON lines",
                          lambda argv: run(listen_main, listen_parser(), argv,
                                           validate_listen))
    return commands


def main_module(argv: Sequence[str] | None = None) -> int:
    """``python -m emoreco <command> ...`` and the ``emoreco`` console command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = _commands()
    if not argv or argv[0] not in commands:
        asked = bool(argv) and argv[0] in ("-h", "--help")
        lines = [f"  {name:<15}{text}" for name, (text, _) in commands.items()]
        print("usage: emoreco {" + ",".join(commands) + "} [options]\n" + "\n".join(lines),
              file=sys.stdout if asked else sys.stderr)
        return 0 if asked else EXIT_USER_ERROR
    return commands[argv[0]][1](argv[1:])


__all__ = ["main_arousal", "main_valence", "main_predict", "main_module"]

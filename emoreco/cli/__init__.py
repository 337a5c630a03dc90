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

from emoreco.cli.common import EXIT_USER_ERROR, fit_threads_to_a_memory_limit, run

# The command modules import NumPy and the libraries of the work, so each entry point
# imports them only after the process is set up (fit_threads_to_a_memory_limit must run
# before OpenBLAS loads).


def main_training(target: str, argv: Sequence[str] | None = None,
                  prog: str | None = None) -> int:
    """Train the model of ``target`` (``prog``: the command's name in its usage line,
    default ``MAIN_<target>.py``)."""
    fit_threads_to_a_memory_limit()
    from emoreco.cli.train import train_main, training_parser, validate_training_args

    return run(lambda a: train_main(a, target), training_parser(target, prog), argv,
               validate_training_args)


def main_arousal(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``MAIN_arousal.py``."""
    return main_training("arousal", argv)


def main_valence(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``MAIN_valence.py``."""
    return main_training("valence", argv)


def main_predict(argv: Sequence[str] | None = None, prog: str = "MAIN.py") -> int:
    """Entry point of ``MAIN.py`` (``prog``: the command's name in its usage line)."""
    fit_threads_to_a_memory_limit()
    from emoreco.cli.predict import predict_main, predict_parser, validate_options

    return run(predict_main, predict_parser(prog), argv, validate_options)


def _module_command(module: str, name: str) -> Callable[[Sequence[str]], int]:
    """The command ``name`` of ``emoreco.cli.<module>`` (its ``<name>_parser`` and
    ``<name>_main``), imported when run."""
    def command(argv: Sequence[str]) -> int:
        import importlib

        commands = importlib.import_module(f"emoreco.cli.{module}")
        return run(getattr(commands, f"{name}_main"), getattr(commands, f"{name}_parser")(),
                   argv)

    return command


def _listen(argv: Sequence[str]) -> int:
    from emoreco.cli.listen import listen_main, listen_parser, validate_listen

    return run(listen_main, listen_parser(), argv, validate_listen)


Command = tuple[str, Callable[[Sequence[str]], int]]


def _commands() -> dict[str, Command]:
    from emoreco.model.targets import TARGETS

    commands: dict[str, Command] = {
        "demo": ("write the synthetic DEAM-layout demo corpus",
                 _module_command("data", "demo")),
        "extract": ("compute and cache features of a DEAM-layout folder",
                    _module_command("data", "extract")),
        "fetch-deam": ("download, verify and unpack the official DEAM archives",
                       _module_command("data", "fetch")),
    }
    for target in TARGETS:
        commands[f"train-{target}"] = (f"train the {target} model (as MAIN_{target}.py)",
                                       lambda argv, t=target: main_training(
                                           t, argv, f"emoreco train-{t}"))
    commands["predict"] = ("curves for songs (as MAIN.py)",
                           lambda argv: main_predict(argv, "emoreco predict"))
    commands["listen"] = ("curves of a live stream (pipe, URL, file) as JSON lines", _listen)
    commands["tag"] = ("write songs' values into their files' tags",
                       _module_command("library", "tag"))
    commands["models"] = ("pack, install, list and verify models to share",
                          _module_command("models", "models"))
    commands["playlist"] = ("M3U8 playlists by mood or by flow, from tagged files",
                            _module_command("library", "playlist"))
    return commands


def main_module(argv: Sequence[str] | None = None) -> int:
    """``python -m emoreco <command> ...`` and the ``emoreco`` console command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    fit_threads_to_a_memory_limit()
    commands = _commands()
    if not argv or argv[0] not in commands:
        asked = bool(argv) and argv[0] in ("-h", "--help")
        lines = [f"  {name:<15}{text}" for name, (text, _) in commands.items()]
        print("usage: emoreco {" + ",".join(commands) + "} [options]\n" + "\n".join(lines),
              file=sys.stdout if asked else sys.stderr)
        return 0 if asked else EXIT_USER_ERROR
    return commands[argv[0]][1](argv[1:])


__all__ = ["main_arousal", "main_valence", "main_predict", "main_module"]

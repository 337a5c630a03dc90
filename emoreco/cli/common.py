"""What every command shares: error handling, data options, process-wide set-up."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from emoreco.core.errors import ConfigError, EmorecoError
from emoreco.core.text import printable

log = logging.getLogger("emoreco")
DEFAULT_DATA = Path("data")
DEFAULT_MODELS = Path("models")
DEFAULT_RESULTS = Path("results")
EXIT_USER_ERROR = 2


def job_count(text: str) -> int:
    """argparse type for ``--jobs``: a non-zero int (negative counts back from all cores)."""
    value = int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (1 = no parallelism, -1 = all cores)")
    return value


def int_at_least(minimum: int) -> Callable[[str], int]:
    """argparse type: an int >= ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text}")
        return value

    return parse


positive_int = int_at_least(1)


def finite_seconds(text: str) -> float:
    """argparse type for times: a finite number of seconds, >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0, got {text}")
    return value


def seconds_at_least(minimum: float) -> Callable[[str], float]:
    """argparse type: a finite number of seconds >= ``minimum``."""
    def parse(text: str) -> float:
        value = finite_seconds(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g} s, got {text}")
        return value

    return parse


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """Where the corpus and the feature cache are, and how many processes extract."""
    group = parser.add_argument_group("data")
    group.add_argument("--deam-dir", type=Path,
                       help="folder with the unzipped DEAM archives (MEMD_audio/, annotations/) "
                            "or a data/ folder with annotations/arousal.csv, valence.csv; "
                            "the same as --corpus deam:DIR")
    group.add_argument("--corpus", action="append", default=[], metavar="KIND:PATH",
                       help="a corpus to use, repeatable: deam:DIR, pmemo:DIR (the unpacked "
                            "PMEmo2019) or csv:FILE (your own audio,time_s,arousal,valence "
                            "CSV; audio paths relative to its folder)")
    group.add_argument("--audio-dir", type=Path, help="audio folder (<song_id>.mp3 ...), "
                       "overrides the one found in --deam-dir")
    group.add_argument("--annotations-dir", type=Path,
                       help="folder holding arousal.csv and valence.csv")
    group.add_argument("--cache-dir", type=Path, default=DEFAULT_DATA,
                       help="feature cache root: <cache-dir>/DEAM_mfccs/<key>/<audio folder>/"
                            "<id>.npy (default: data)")
    group.add_argument("--quiet", action="store_true", help="no progress bars")
    add_engine_options(parser, "feature extraction")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Which trained models predict: ``--models-dir`` and one ``--<target>-model`` each."""
    from emoreco.model.targets import TARGETS

    parser.add_argument("--models-dir", type=Path, default=None,
                        help="folder of the trained models (default: $EMORECO_MODELS, else "
                             "models/ here when it holds models, else the installed models "
                             "'default' of `emoreco models install`)")
    for target in TARGETS:
        parser.add_argument(f"--{target}-model", default=target, dest=f"{target}_model",
                            help=f"model name (default: {target})")


def models_dir(args: argparse.Namespace) -> Path:
    """The models folder of :func:`add_model_options`' options (``--models-dir``, else
    the lookup order of :func:`emoreco.runs.model_store.default_models_dir`)."""
    from emoreco.runs.model_store import default_models_dir

    return default_models_dir(args.models_dir)


def model_names(args: argparse.Namespace) -> dict[str, str]:
    """Target -> model name, from :func:`add_model_options`' options."""
    from emoreco.model.targets import TARGETS

    return {target: getattr(args, f"{target}_model") for target in TARGETS}


def add_engine_options(parser: argparse.ArgumentParser, work: str) -> None:
    """Where the per-song work runs: local processes, or a Dask cluster."""
    group = parser.add_argument_group("parallelism")
    group.add_argument("--jobs", type=job_count, default=-1,
                       help=f"local worker processes for {work} (default: -1, all cores: "
                            "worker processes for a large batch, threads of this process for "
                            "a small one; N: N worker processes; 1: in this process)")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the per-song work on this Dask cluster (tcp://host:8786) "
                            "instead; its workers must see the audio and model folders under "
                            "the same absolute paths")


def say(text: str) -> None:
    """One message on standard error, control characters and undecodable bytes of file
    names escaped (a name cannot drive the terminal)."""
    print(printable(text, keep_newlines=True), file=sys.stderr)


class PrintableFormatter(logging.Formatter):
    """Log records as :func:`say` prints them."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), keep_newlines=True)


def fit_threads_to_a_memory_limit() -> int:
    """Under an address-space limit (``ulimit -v``), one thread per BLAS/OpenMP pool:
    each OpenBLAS thread reserves tens of MB of addresses, and an OpenBLAS that cannot
    start its threads spins or raises SIGINT. Returns the limit in bytes (0: none).
    For the libraries loaded from now on (SciPy's OpenBLAS is loaded when first used)."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft >= 64 << 30:
        return 0
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    return soft


def run(main: Callable[[argparse.Namespace], int], parser: argparse.ArgumentParser,
        argv: Sequence[str] | None,
        validate: Callable[[argparse.Namespace], None] | None = None) -> int:
    """Parse and validate, set up logging, and turn user errors into one line and exit 2.

    ``validate`` checks option combinations (and may add parsed values to ``args``); a
    :class:`ConfigError` it raises is reported by the parser, before any work.
    """
    args = parser.parse_args(argv)
    if validate is not None:
        try:
            validate(args)
        except ConfigError as exc:
            parser.error(str(exc))
    limited = fit_threads_to_a_memory_limit()
    handler = logging.StreamHandler()
    handler.setFormatter(PrintableFormatter("%(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow C++ chatter off
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")  # Dask's start/stop chatter
    try:
        return main(args)
    except (EmorecoError, OSError) as exc:  # OSError: unwritable folder, full disk (names the path)
        say(f"error: {exc}")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        # OpenBLAS raises SIGINT itself when it cannot start its threads
        say("interrupted" + (" (if not by Ctrl-C: a library could not start its threads "
                             f"under the address-space limit of {limited >> 20} MB; raise "
                             "`ulimit -v`)" if limited else ""))
        return 130

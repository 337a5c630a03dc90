"""Command-line entry points (argument parsing only; the work lives in the package).

``MAIN_arousal.py``, ``MAIN_valence.py`` and ``MAIN.py`` call :func:`main_arousal`,
:func:`main_valence` and :func:`main_predict`; ``python -m emoreco`` offers the
``demo``, ``extract``, ``train`` and ``predict`` subcommands.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from emoreco.config import FeatureParams, TrainParams, add_dataclass_arguments, dataclass_from_args
from emoreco.errors import ConfigError, EmorecoError

if TYPE_CHECKING:
    from emoreco.dataset import Corpus, FeatureCache

log = logging.getLogger("emoreco")
DEFAULT_DATA = Path("data")
DEFAULT_MODELS = Path("models")
DEFAULT_README_FILES = Path("readme_files")
EXIT_USER_ERROR = 2


def job_count(text: str) -> int:
    """argparse type for ``--jobs``: a non-zero int (negative counts back from all cores)."""
    value = int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (1 = no parallelism, -1 = all cores)")
    return value


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--deam-dir", type=Path,
                       help="folder with the unzipped DEAM archives (MEMD_audio/, annotations/) "
                            "or a data/ folder with annotations/arousal.csv, valence.csv")
    group.add_argument("--audio-dir", type=Path, help="audio folder (<song_id>.mp3 ...), "
                       "overrides the one found in --deam-dir")
    group.add_argument("--annotations-dir", type=Path,
                       help="folder holding arousal.csv and valence.csv")
    group.add_argument("--cache-dir", type=Path, default=DEFAULT_DATA,
                       help="feature cache root: <cache-dir>/DEAM_mfccs/<key>/<id>.npy "
                            "(default: data)")
    group.add_argument("--jobs", type=job_count, default=-1,
                       help="parallel feature extraction processes (default: -1, all cores)")
    group.add_argument("--quiet", action="store_true", help="no progress bars")


def _run(main: Callable[[argparse.Namespace], int], parser: argparse.ArgumentParser,
         argv: Sequence[str] | None) -> int:
    """Parse, set up logging, and turn user errors into a one-line message and exit 2."""
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow C++ chatter off
    try:
        return main(args)
    except (EmorecoError, OSError) as exc:  # OSError: unwritable folder, full disk (names the path)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _extract(args: argparse.Namespace, target: str
             ) -> tuple["Corpus", FeatureParams, "FeatureCache", dict[int, str]]:
    """Locate data, fill the cache, and return (corpus, params, cache, failures)."""
    from emoreco.dataset import FeatureCache, extract_corpus, load_corpus, locate_deam

    params = dataclass_from_args(FeatureParams, args)
    paths = locate_deam(args.deam_dir, args.audio_dir, args.annotations_dir)
    corpus = load_corpus(paths, target)
    log.info("%s (%s)", corpus.summary(), paths.annotation_csv(target))
    cache = FeatureCache(args.cache_dir, params)
    failures = extract_corpus(corpus.audio, params, cache, args.jobs, progress=not args.quiet)
    if failures:
        log.warning("%d song(s) skipped because their audio is unusable (listed above)",
                    len(failures))
    return corpus, params, cache, failures


# ---------------------------------------------------------------- training

def training_parser(target: str) -> argparse.ArgumentParser:
    """Options of ``MAIN_<target>.py``."""
    model = "CNN over MFCC windows" if target == "arousal" else "LSTM over chroma sequences"
    parser = argparse.ArgumentParser(
        prog=f"MAIN_{target}.py",
        description=f"Train and evaluate the {target} model ({model}) on DEAM or the demo "
                    "corpus; save it under --models-dir for MAIN.py.")
    _add_data_options(parser)
    output = parser.add_argument_group("output")
    output.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    output.add_argument("--name", default=target, help=f"model file name stem (default: {target})")
    output.add_argument("--plots-dir", type=Path, default=DEFAULT_README_FILES,
                        help="where loss_<name>.png goes (default: readme_files)")
    if target == "valence":
        output.add_argument("--no-transpose-augment", dest="augment", action="store_false",
                            help="do not transpose training chroma to random keys")
    add_dataclass_arguments(parser, TrainParams, "training")
    add_dataclass_arguments(parser, FeatureParams, "features")
    return parser


def _train(args: argparse.Namespace, target: str) -> int:
    from emoreco.dataset import build_window_set
    from emoreco.training import train_and_evaluate

    train_params = dataclass_from_args(TrainParams, args)
    corpus, params, cache, failures = _extract(args, target)
    windows = build_window_set(target, corpus, params, cache, skip=set(failures),
                               progress=not args.quiet)
    log.info("%d %s examples of shape %s from %d songs", len(windows), target,
             windows.inputs.shape[1:], len(set(windows.song_ids.tolist())))
    metrics = train_and_evaluate(
        target, windows, params, train_params, args.models_dir, args.name,
        args.plots_dir / f"loss_{args.name}.png", augment=getattr(args, "augment", True),
        verbose=0 if args.quiet else 2)
    shown = {k: v for k, v in metrics.items() if k != "folds"}
    log.info("%s test metrics (%s protocol):", target, train_params.protocol)
    for key, value in shown.items():
        log.info("  %-24s %s", key, f"{value:.4f}" if isinstance(value, float) else value)
    return 0


def main_arousal(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``MAIN_arousal.py``."""
    return _run(lambda a: _train(a, "arousal"), training_parser("arousal"), argv)


def main_valence(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``MAIN_valence.py``."""
    return _run(lambda a: _train(a, "valence"), training_parser("valence"), argv)


# ---------------------------------------------------------------- extraction and demo

def extract_parser() -> argparse.ArgumentParser:
    """Options of ``python -m emoreco extract``."""
    parser = argparse.ArgumentParser(
        prog="python -m emoreco extract",
        description="Compute and cache the features of every annotated song.")
    _add_data_options(parser)
    parser.add_argument("--target", choices=("arousal", "valence"), default="arousal",
                        help="whose annotation file selects the songs (default: arousal)")
    add_dataclass_arguments(parser, FeatureParams, "features")
    return parser


def _extract_main(args: argparse.Namespace) -> int:
    corpus, _, cache, failures = _extract(args, args.target)
    log.info("%d songs cached in %s and %s", len(corpus.audio) - len(failures),
             cache.mfcc_dir, cache.chroma_dir)
    return 1 if failures and len(failures) == len(corpus.audio) else 0


def demo_parser() -> argparse.ArgumentParser:
    """Options of ``python -m emoreco demo``."""
    parser = argparse.ArgumentParser(
        prog="python -m emoreco demo",
        description="Write a synthetic corpus in the official DEAM layout, with known "
                    "emotion curves and label noise, plus unannotated songs to predict.")
    parser.add_argument("--out", type=Path, default=DEFAULT_DATA / "demo_deam")
    parser.add_argument("--test-songs-dir", type=Path, default=DEFAULT_DATA / "test_songs")
    parser.add_argument("--clips", type=int, default=80, help="45-s songs (default: 80)")
    parser.add_argument("--full-songs", type=int, default=4, help="75-s songs (default: 4)")
    parser.add_argument("--test-songs", type=int, default=4)
    parser.add_argument("--label-noise", type=float, default=0.1,
                        help="std of the annotation noise (default: 0.1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=job_count, default=-1,
                        help="parallel processes (default: -1, all cores)")
    parser.add_argument("--force", action="store_true", help="rewrite an existing corpus")
    parser.add_argument("--quiet", action="store_true")
    return parser


def _demo_main(args: argparse.Namespace) -> int:
    from emoreco.demo import generate_demo_corpus

    if args.clips < 0 or args.full_songs < 0 or args.clips + args.full_songs < 2:
        raise ConfigError("the demo corpus needs at least 2 songs")
    if args.clips > 1999 or args.full_songs > 58 or not 0 <= args.test_songs <= 100:
        raise ConfigError("DEAM's ids allow at most 1999 clips (2-2000) and 58 full songs "
                          "(2001-2058); --test-songs must be between 0 and 100")
    if not 0 <= args.label_noise < 1:
        raise ConfigError("--label-noise must be in [0, 1)")
    if (args.out / "demo_truth.json").is_file() and not args.force:
        log.info("%s already holds a demo corpus (use --force to rewrite it)", args.out)
        return 0
    truth = generate_demo_corpus(args.out, args.clips, args.full_songs, args.label_noise,
                                 args.seed, args.test_songs_dir, args.test_songs, args.jobs,
                                 progress=not args.quiet)
    log.info("demo corpus of %d songs in %s; RMSE floors: arousal %.4f, valence %.4f",
             truth["n_songs"], args.out, truth["arousal_rmse_floor"],
             truth["valence_rmse_floor"])
    return 0


# ---------------------------------------------------------------- prediction

def predict_parser() -> argparse.ArgumentParser:
    """Options of ``MAIN.py``."""
    parser = argparse.ArgumentParser(
        prog="MAIN.py",
        description="Predict valence and arousal curves (2 Hz) of songs with the trained "
                    "models; write a CSV, a summary, pictures and an offline HTML report.")
    parser.add_argument("inputs", nargs="*", type=Path, default=[DEFAULT_DATA / "test_songs"],
                        help="audio files and/or folders (default: data/test_songs)")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    parser.add_argument("--arousal-model", default="arousal", help="model name (default: arousal)")
    parser.add_argument("--valence-model", default="valence", help="model name (default: valence)")
    parser.add_argument("--start", type=float, default=15.0,
                        help="first time step in seconds (default: 15, as DEAM)")
    parser.add_argument("--end", type=float, default=None,
                        help="last window ends by this time (default: end of the song)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_README_FILES,
                        help="where the CSVs, pictures and report go (default: readme_files)")
    parser.add_argument("--json", action="store_true", help="also write TestSongPredicted.json")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def predict_main(args: argparse.Namespace) -> int:
    """Predict, write every output, report failures; exit 1 if any song failed."""
    from emoreco.predict import Predictor, find_audio_files, predict_files
    from emoreco.report import output_paths, write_report

    if args.end is not None and args.end <= args.start:
        raise ConfigError(f"--end ({args.end}) must be after --start ({args.start})")
    files = find_audio_files(args.inputs)
    paths = output_paths(args.out_dir, args.json)
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not args.overwrite:
        raise EmorecoError(f"{len(existing)} output file(s) exist ({', '.join(existing[:3])}"
                           f"{', ...' if len(existing) > 3 else ''}); use --overwrite or --out-dir")
    args.out_dir.mkdir(parents=True, exist_ok=True)  # fail now, not after the predictions
    predictor = Predictor(args.models_dir, args.arousal_model, args.valence_model)
    failures: dict[str, str] = {}
    curves = list(predict_files(predictor, files, args.start, args.end, failures,
                                progress=not args.quiet))
    for message in failures.values():
        print(f"failed: {message}", file=sys.stderr)
    if not curves:
        print("error: no song could be predicted", file=sys.stderr)
        return 1
    write_report(curves, paths, failures)
    for curve in curves:
        item = curve.summary()
        log.info("%-28s arousal %+.3f  valence %+.3f  %s", item["song"], item["arousal_mean"],
                 item["valence_mean"], item["quadrant"])
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return 1 if failures else 0


def main_predict(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``MAIN.py``."""
    return _run(predict_main, predict_parser(), argv)


def main_module(argv: Sequence[str] | None = None) -> int:
    """``python -m emoreco <command> ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands: dict[str, tuple[Callable[[], argparse.ArgumentParser],
                              Callable[[argparse.Namespace], int]]] = {
        "demo": (demo_parser, _demo_main),
        "extract": (extract_parser, _extract_main),
        "train-arousal": (lambda: training_parser("arousal"), lambda a: _train(a, "arousal")),
        "train-valence": (lambda: training_parser("valence"), lambda a: _train(a, "valence")),
        "predict": (predict_parser, predict_main),
    }
    if not argv or argv[0] not in commands:
        asked = bool(argv) and argv[0] in ("-h", "--help")
        print("usage: python -m emoreco {" + ",".join(commands) + "} [options]\n"
              "  demo           write the synthetic DEAM-layout demo corpus\n"
              "  extract        compute and cache features of a DEAM-layout folder\n"
              "  train-arousal  same as MAIN_arousal.py\n"
              "  train-valence  same as MAIN_valence.py\n"
              "  predict        same as MAIN.py", file=sys.stdout if asked else sys.stderr)
        return 0 if asked else EXIT_USER_ERROR
    make_parser, main = commands[argv[0]]
    return _run(main, make_parser(), argv[1:])

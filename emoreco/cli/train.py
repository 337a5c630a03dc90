"""``MAIN_arousal.py`` / ``MAIN_valence.py``: train, evaluate and save one target's model."""

from __future__ import annotations

import argparse
from pathlib import Path

from emoreco.cli.common import DEFAULT_MODELS, DEFAULT_RESULTS, add_data_options, log
from emoreco.core.config import (FeatureParams, TrainParams, add_dataclass_arguments,
                                 dataclass_from_args)
from emoreco.data.sources import CorpusSource, corpus_sources
from emoreco.model.targets import get_target
from emoreco.training.split import check_protocol


def training_parser(target: str, prog: str | None = None) -> argparse.ArgumentParser:
    """Options of ``MAIN_<target>.py`` (``emoreco train-<target>``: ``prog``)."""
    spec = get_target(target)
    parser = argparse.ArgumentParser(
        prog=prog or f"MAIN_{target}.py",
        description=f"Train and evaluate the {target} model ({spec.model_summary}) on DEAM, "
                    "PMEmo, your own annotations or the demo corpus; save it under "
                    "--models-dir for MAIN.py.")
    add_data_options(parser)
    parser.add_argument("--test-corpus", metavar="KIND:PATH",
                        help="cross-corpus evaluation: train on every song of the corpora "
                             "and evaluate on every song of this one")
    output = parser.add_argument_group("output")
    output.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS,
                        help=f"where the model is saved (default: {DEFAULT_MODELS})")
    output.add_argument("--name", default=target, help=f"model file name stem (default: {target})")
    output.add_argument("--plots-dir", type=Path, default=DEFAULT_RESULTS,
                        help=f"where loss_<name>.png goes (default: {DEFAULT_RESULTS})")
    output.add_argument("--overwrite", action="store_true",
                        help="replace an existing model of the same name")
    add_dataclass_arguments(parser, TrainParams, "training")
    add_dataclass_arguments(parser, FeatureParams, "features")
    return parser


def validate_training_args(args: argparse.Namespace) -> None:
    """Build the parameter dataclasses (raising on conflicts); :func:`train` refuses to
    replace a model once it has read the corpora (a missing corpus is the first thing to say)."""
    args.sources = corpus_sources(args.deam_dir, args.corpus, args.audio_dir,
                                  args.annotations_dir)
    args.test_source = (CorpusSource.parse(args.test_corpus) if args.test_corpus else None)
    args.train_params = check_protocol(dataclass_from_args(TrainParams, args), args.sources,
                                       args.test_source)
    args.feature_params = dataclass_from_args(FeatureParams, args)


def train_main(args: argparse.Namespace, target: str) -> int:
    """Train with :func:`emoreco.training.run.train`, then print the test metrics.

    ``args`` went through :func:`validate_training_args`.
    """
    from emoreco.core.extras import require_training

    require_training()  # one line naming the extra, before modules that import its libraries
    from emoreco.training.run import train

    outcome = train(target, corpora=args.sources, test_corpus=args.test_source,
                    models_dir=args.models_dir,
                    name=args.name, cache_dir=args.cache_dir, plots_dir=args.plots_dir,
                    feature_params=args.feature_params, train_params=args.train_params,
                    jobs=args.jobs, scheduler=args.scheduler, overwrite=args.overwrite,
                    progress=not args.quiet, verbose=0 if args.quiet else 2,
                    deterministic=True)
    metrics = outcome.meta.metrics
    log.info("%s test metrics (%s protocol):", target, args.train_params.protocol)
    for key, value in metrics.items():
        if key in ("per_corpus", "per_genre"):
            for label, values in value.items():
                log.info("  %s: %s", label, ", ".join(
                    f"{k} {v:.4f}" for k, v in values.items()
                    if k in ("rmse", "baseline_rmse", "pearson_per_song_mean", "ccc", "bias",
                             "band_coverage")))
        elif key != "folds":
            log.info("  %-26s %s", key, f"{value:.4f}" if isinstance(value, float) else value)
    log.info("loss curves: %s", args.plots_dir / f"loss_{args.name}.png")
    return 0

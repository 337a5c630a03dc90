"""``MAIN_arousal.py`` / ``MAIN_valence.py``: train, evaluate and save one target's model."""

from __future__ import annotations

import argparse
from pathlib import Path

from emoreco.cli.common import (DEFAULT_MODELS, DEFAULT_RESULTS, add_data_options, log,
                                make_training_deterministic)
from emoreco.config import FeatureParams, TrainParams, add_dataclass_arguments, dataclass_from_args
from emoreco.errors import ConfigError
from emoreco.persistence import ModelFiles
from emoreco.targets import get_target


def training_parser(target: str) -> argparse.ArgumentParser:
    """Options of ``MAIN_<target>.py``."""
    spec = get_target(target)
    parser = argparse.ArgumentParser(
        prog=f"MAIN_{target}.py",
        description=f"Train and evaluate the {target} model ({spec.model_summary}) on DEAM "
                    "or the demo corpus; save it under --models-dir for MAIN.py.")
    add_data_options(parser)
    output = parser.add_argument_group("output")
    output.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    output.add_argument("--name", default=target, help=f"model file name stem (default: {target})")
    output.add_argument("--plots-dir", type=Path, default=DEFAULT_RESULTS,
                        help=f"where loss_<name>.png goes (default: {DEFAULT_RESULTS})")
    output.add_argument("--overwrite", action="store_true",
                        help="replace an existing model of the same name")
    add_dataclass_arguments(parser, TrainParams, "training")
    add_dataclass_arguments(parser, FeatureParams, "features")
    return parser


def validate_training_args(args: argparse.Namespace) -> None:
    """Build the parameter dataclasses (raising on conflicts) and refuse to replace a model."""
    args.train_params = dataclass_from_args(TrainParams, args)
    args.feature_params = dataclass_from_args(FeatureParams, args)
    existing = ModelFiles.at(args.models_dir, args.name).existing()
    if existing and not args.overwrite:
        raise ConfigError(f"model '{args.name}' exists in {args.models_dir}/ "
                           f"({', '.join(p.name for p in existing)}); use --overwrite or --name")


def train_main(args: argparse.Namespace, target: str) -> int:
    """Extract features, train with the chosen protocol, save, draw the loss plot.

    ``args`` went through :func:`validate_training_args`.
    """
    from emoreco.cli.data import extract_features
    from emoreco.examples import LabelledSongs, build_window_set
    from emoreco.plots import loss_figure, png_bytes, write_png
    from emoreco.provenance import corpus_provenance, describe
    from emoreco.training import train_and_evaluate

    spec = get_target(target)
    paths, corpus, params, cache, failures = extract_features(args, target)
    songs = LabelledSongs(corpus, cache)
    windows = build_window_set(spec, songs, params, skip=set(failures), progress=not args.quiet)
    log.info("%d %s examples of shape %s from %d songs", len(windows), target,
             windows.inputs.shape[1:], len(set(windows.song_ids.tolist())))
    data = corpus_provenance(paths.annotation_csv(target), paths.audio_dir,
                             len(set(windows.song_ids.tolist())))
    log.info("training on %s", describe(data))
    make_training_deterministic(args.train_params.seed)
    outcome = train_and_evaluate(spec, songs, windows, params, args.train_params,
                                 args.models_dir, args.name, verbose=0 if args.quiet else 2,
                                 data=data)
    loss_plot = args.plots_dir / f"loss_{args.name}.png"
    write_png(png_bytes(loss_figure(outcome.meta.history, f"{target} model loss (MSE)")),
              loss_plot)
    metrics = outcome.meta.metrics
    log.info("%s test metrics (%s protocol):", target, args.train_params.protocol)
    for key, value in metrics.items():
        if key != "folds":
            log.info("  %-24s %s", key, f"{value:.4f}" if isinstance(value, float) else value)
    log.info("loss curves: %s", loss_plot)
    return 0

"""Training a target's model on a corpus: the work of ``MAIN_arousal.py`` and
``MAIN_valence.py`` as one function."""

from __future__ import annotations

import logging
from pathlib import Path

from emoreco.core.config import FeatureParams, TrainParams
from emoreco.core.extras import require_training
from emoreco.data.extraction import prepare_corpus
from emoreco.data.layout import locate_deam
from emoreco.data.provenance import corpus_provenance, describe
from emoreco.model.files import check_free
from emoreco.model.targets import get_target
from emoreco.training.examples import LabelledSongs, build_window_set
from emoreco.training.fit import TrainingOutcome, make_deterministic, train_and_evaluate

log = logging.getLogger(__name__)


def train(target: str, deam_dir: str | Path | None = None, *,
          audio_dir: str | Path | None = None, annotations_dir: str | Path | None = None,
          models_dir: str | Path = "models", name: str | None = None,
          cache_dir: str | Path = "data", plots_dir: str | Path | None = None,
          feature_params: FeatureParams = FeatureParams(),
          train_params: TrainParams = TrainParams(), jobs: int = -1,
          scheduler: str | None = None, overwrite: bool = False, progress: bool = True,
          verbose: int = 2, deterministic: bool = False) -> TrainingOutcome:
    """Train, evaluate and save the model of ``target`` on a DEAM-layout corpus.

    Features are extracted (and cached in ``cache_dir``) first; the protocol, split and
    hyper-parameters come from ``train_params``. The model is saved as
    ``models_dir/<name>.json``, ``.weights.h5``, ``.onnx``, ``.meta.json`` and
    ``.metrics.json``; with ``plots_dir`` its loss curves are drawn into
    ``loss_<name>.png`` there. ``deterministic`` seeds the process with
    ``train_params.seed`` and turns on TensorFlow's op determinism right before fitting
    (:func:`~emoreco.training.fit.make_deterministic`: process-wide state, so opt-in; the
    command line turns it on), for weights that are the same from run to run.

    Raises
    ------
    EmorecoError
        A missing ``training`` extra, a corpus that cannot be read, a model of that name
        (without ``overwrite``).

    Examples
    --------
    >>> outcome = train("arousal", "~/DEAM", train_params=TrainParams(epochs=50))  # doctest: +SKIP
    >>> outcome.meta.metrics["rmse"]  # doctest: +SKIP
    """
    require_training()
    spec = get_target(target)
    name = name or target
    check_free(models_dir, name, overwrite)
    paths = locate_deam(Path(deam_dir).expanduser() if deam_dir else None, audio_dir,
                        annotations_dir)
    prepared = prepare_corpus(paths, target, feature_params, cache_dir, jobs, progress,
                              scheduler)
    songs = LabelledSongs(prepared.corpus, prepared.cache)
    windows = build_window_set(spec, songs, feature_params, skip=set(prepared.failures),
                               progress=progress)
    n_songs = len(set(windows.song_ids.tolist()))
    log.info("%d %s examples of shape %s from %d songs", len(windows), target,
             windows.inputs.shape[1:], n_songs)
    data = corpus_provenance(paths.annotation_csv(target), paths.audio_dir, n_songs)
    log.info("training on %s", describe(data))
    if deterministic:
        make_deterministic(train_params.seed)
    outcome = train_and_evaluate(spec, songs, windows, feature_params, train_params,
                                 models_dir, name, verbose=verbose, data=data)
    if plots_dir is not None:
        from emoreco.outputs.plots import loss_figure, png_bytes, write_png

        write_png(png_bytes(loss_figure(outcome.meta.history, f"{target} model loss (MSE)")),
                  Path(plots_dir) / f"loss_{name}.png")
    return outcome

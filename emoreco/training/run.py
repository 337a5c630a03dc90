"""Training a target's model on one or more corpora: the work of ``MAIN_arousal.py`` and
``MAIN_valence.py`` as one function."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emoreco.core.config import FeatureParams, TrainParams
from emoreco.core.extras import require_training
from emoreco.data.extraction import prepare_corpus
from emoreco.data.provenance import (corpus_provenance, demo_warning, describe,
                                     training_provenance)
from emoreco.core.errors import ConfigError
from emoreco.data.overlap import shared_files
from emoreco.data.sources import (CorpusSource, LoadedCorpus, corpus_labels, corpus_sources,
                                  load_source)
from emoreco.model.files import check_free
from emoreco.model.targets import get_target
from emoreco.training.examples import (KEY_STRIDE, CorpusSongs, LabelledSongs,
                                       build_window_set)
from emoreco.training.fit import TrainingOutcome, make_deterministic, train_and_evaluate
from emoreco.training.split import check_protocol

log = logging.getLogger(__name__)


def _refuse_shared_songs(training: list[LoadedCorpus], test: LoadedCorpus) -> None:
    """A cross-corpus evaluation on songs the model trained on measures nothing.

    Raises
    ------
    ConfigError
        Naming one shared song and how many there are.
    """
    shared = shared_files([path for item in training for path in item.corpus.audio.values()],
                          test.corpus.audio.values())
    if shared:
        train_file, test_file = shared[0]
        raise ConfigError(f"--test-corpus {test.source} shares {len(shared)} song(s) with the "
                          f"training corpora (e.g. {test_file} is {train_file}); a "
                          "cross-corpus evaluation needs songs the model never trained on")


def train(target: str, deam_dir: str | Path | None = None, *,
          corpora: Sequence[str | CorpusSource] = (),
          test_corpus: str | CorpusSource | None = None,
          audio_dir: str | Path | None = None, annotations_dir: str | Path | None = None,
          models_dir: str | Path = "models", name: str | None = None,
          cache_dir: str | Path = "data", plots_dir: str | Path | None = None,
          feature_params: FeatureParams = FeatureParams(),
          train_params: TrainParams = TrainParams(), jobs: int = -1,
          scheduler: str | None = None, overwrite: bool = False, progress: bool = True,
          verbose: int = 2, deterministic: bool = False) -> TrainingOutcome:
    """Train, evaluate and save the model of ``target`` on one or more corpora.

    The corpora are ``deam_dir`` (a DEAM layout, as ``--deam-dir``) and ``corpora``
    (``"KIND:PATH"`` strings or :class:`~emoreco.data.sources.CorpusSource`: ``deam``,
    ``pmemo``, ``csv``); splits are stratified by corpus and the metrics reported per
    corpus too. With ``test_corpus`` the model is trained on every song of the corpora
    (validation carved from them) and evaluated on every song of the test corpus
    (protocol ``cross-corpus``).

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
        (without ``overwrite``), a protocol the corpora do not allow.

    Examples
    --------
    >>> outcome = train("arousal", "~/DEAM", train_params=TrainParams(epochs=50))  # doctest: +SKIP
    >>> train("valence", corpora=["deam:~/DEAM"], test_corpus="pmemo:~/PMEmo2019")  # doctest: +SKIP
    """
    require_training()
    spec = get_target(target)
    name = name or target
    sources = corpus_sources(deam_dir, corpora, audio_dir, annotations_dir)
    test_source = (CorpusSource.parse(test_corpus) if isinstance(test_corpus, str)
                   else test_corpus)
    train_params = check_protocol(train_params, sources, test_source)
    every_source = sources + ([test_source] if test_source else [])
    labels = corpus_labels(every_source)
    loaded = [load_source(source, target) for source in every_source]
    if test_source is not None:
        _refuse_shared_songs(loaded[:-1], loaded[-1])
    check_free(models_dir, name, overwrite)  # after the corpora: a missing one is told first
    prepared = [prepare_corpus(source, target, feature_params, cache_dir, jobs, progress,
                               scheduler, item) for source, item in zip(every_source, loaded)]
    songs = LabelledSongs(tuple(CorpusSongs(label, item.corpus, item.cache)
                                for label, item in zip(labels, prepared)))
    failed = {index * KEY_STRIDE + song_id for index, item in enumerate(prepared)
              for song_id in item.failures}
    train_keys = [key for label in labels[:len(sources)] for key in songs.keys(label)]
    windows = build_window_set(spec, songs, feature_params, skip=failed, progress=progress,
                               keys=train_keys)
    counts = Counter(songs.label(key) for key in np.unique(windows.song_ids).tolist())
    log.info("%d %s examples of shape %s from %d songs (%s)", len(windows), target,
             windows.inputs.shape[1:], sum(counts.values()),
             ", ".join(f"{label}: {count}" for label, count in counts.items()))
    test_keys = ([key for key in songs.keys(labels[-1]) if key not in failed]
                 if test_source else [])
    data = training_provenance(
        {label: corpus_provenance(item.loaded, counts[label])
         for label, item in zip(labels, prepared[:len(sources)])},
        corpus_provenance(prepared[-1].loaded, len(test_keys)) | {"label": labels[-1]}
        if test_source else None)
    log.info("training on %s", describe(data))
    if deterministic:
        make_deterministic(train_params.seed)
    outcome = train_and_evaluate(spec, songs, windows, feature_params, train_params,
                                 models_dir, name, verbose=verbose, data=data,
                                 test_keys=test_keys)
    if plots_dir is not None:
        from emoreco.outputs.plots import loss_figure, png_bytes, write_png

        warning = demo_warning([outcome.meta.data])
        write_png(png_bytes(loss_figure(outcome.meta.history, f"{target} model loss (MSE)",
                                        warning)), Path(plots_dir) / f"loss_{name}.png")
    return outcome

"""Song-level train/test splits: no song ever has windows on both sides."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from emoreco.core.config import TrainParams
from emoreco.core.deam import FULL_SONG_IDS
from emoreco.core.errors import ConfigError

if TYPE_CHECKING:
    from emoreco.data.sources import CorpusSource

MEDIAEVAL_2015_FIRST_TEST_ID = FULL_SONG_IDS.start  # the 58 full songs of MediaEval 2015


def _as_ids(song_ids: Iterable[int]) -> np.ndarray:
    ids = np.unique(np.asarray(list(song_ids), dtype=np.int64))
    if len(ids) < 2:
        raise ConfigError(f"at least 2 songs are needed to split, got {len(ids)}")
    return ids


def split_songs(song_ids: Iterable[int], test_fraction: float,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random song-level split.

    Parameters
    ----------
    song_ids : iterable of int
        Duplicates are ignored.
    test_fraction : float
        In (0, 1); the test side gets ``round(test_fraction * n)`` songs, at least 1 and
        leaving at least 1 for training.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    train_ids, test_ids : np.ndarray of int64, sorted, disjoint
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test fraction must lie strictly between 0 and 1, got {test_fraction}")
    ids = _as_ids(song_ids)
    n_test = min(max(1, int(round(test_fraction * len(ids)))), len(ids) - 1)
    order = np.random.default_rng(seed).permutation(len(ids))
    return np.sort(ids[order[n_test:]]), np.sort(ids[order[:n_test]])


def kfold_songs(song_ids: Iterable[int], n_folds: int,
                seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K-fold cross-validation over songs: every song is in exactly one test fold.

    Returns
    -------
    list of (train_ids, test_ids)
        ``n_folds`` pairs of sorted, disjoint id arrays.
    """
    ids = _as_ids(song_ids)
    if not 2 <= n_folds <= len(ids):
        raise ConfigError(f"n_folds must be between 2 and the number of songs ({len(ids)}), "
                          f"got {n_folds}")
    shuffled = ids[np.random.default_rng(seed).permutation(len(ids))]
    folds = np.array_split(shuffled, n_folds)
    return [(np.sort(np.setdiff1d(ids, fold)), np.sort(fold)) for fold in folds]


def mediaeval_split(song_ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """MediaEval 2015 protocol: train on ids up to 2000, test on the full songs 2001-2058."""
    ids = _as_ids(song_ids)
    train, test = ids[ids < MEDIAEVAL_2015_FIRST_TEST_ID], ids[ids >= MEDIAEVAL_2015_FIRST_TEST_ID]
    if not len(train) or not len(test):
        raise ConfigError("the MediaEval 2015 split needs songs with ids <= 2000 and ids "
                          f">= 2001; got {len(train)} and {len(test)}")
    return train, test


def stratified_split(strata: list[np.ndarray], test_fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`split_songs` within each stratum (corpus), the sides joined: every corpus
    gives the same share of its songs to the test side.

    A single stratum gives exactly :func:`split_songs`'s split; a stratum of one song
    stays on the training side.
    """
    if len(strata) == 1:
        return split_songs(strata[0], test_fraction, seed)
    sides: list[tuple[np.ndarray, np.ndarray]] = []
    for number, ids in enumerate(strata):
        if len(np.unique(ids)) < 2:
            sides.append((np.unique(ids), np.zeros(0, np.int64)))
        else:
            sides.append(split_songs(ids, test_fraction, seed + number))
    train = np.sort(np.concatenate([side[0] for side in sides]))
    test = np.sort(np.concatenate([side[1] for side in sides]))
    if not len(test):
        raise ConfigError("no corpus has the 2 songs a split needs")
    return train, test


def stratified_kfold(strata: list[np.ndarray], n_folds: int,
                     seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K-fold over songs, stratified by corpus: each corpus' songs, shuffled, are dealt to
    the folds in turn. A single stratum gives exactly :func:`kfold_songs`'s folds."""
    if len(strata) == 1:
        return kfold_songs(strata[0], n_folds, seed)
    ids = _as_ids(np.concatenate(strata))
    if not 2 <= n_folds <= len(ids):
        raise ConfigError(f"n_folds must be between 2 and the number of songs ({len(ids)}), "
                          f"got {n_folds}")
    # songs dealt round-robin, corpus after corpus: each fold gets its share of each corpus
    # and none is empty
    dealt = np.concatenate([
        stratum[np.random.default_rng(seed + number).permutation(len(stratum))]
        for number, stratum in enumerate(np.unique(s) for s in strata)])
    tests = [np.sort(dealt[fold::n_folds]) for fold in range(n_folds)]
    return [(np.setdiff1d(ids, test), test) for test in tests]


def check_protocol(train_params: TrainParams, sources: Sequence[CorpusSource],
                   test_corpus: CorpusSource | None) -> TrainParams:
    """The protocol the corpora allow: ``cross-corpus`` when there is a test corpus.

    Raises
    ------
    ConfigError
        ``--test-corpus`` with ``kfold`` or ``mediaeval``; ``cross-corpus`` without a
        test corpus; ``mediaeval`` on anything but one DEAM corpus.
    """
    protocol = train_params.protocol
    if test_corpus is not None:
        if protocol not in ("split", "cross-corpus"):
            raise ConfigError(f"--test-corpus evaluates on the test corpus: it cannot be "
                              f"combined with --protocol {protocol}")
        return replace(train_params, protocol="cross-corpus")
    if protocol == "cross-corpus":
        raise ConfigError("--protocol cross-corpus needs --test-corpus KIND:PATH")
    if protocol == "mediaeval" and (len(sources) != 1 or sources[0].kind != "deam"):
        raise ConfigError("--protocol mediaeval splits DEAM's song ids: it needs one deam "
                          "corpus and no other")
    return train_params

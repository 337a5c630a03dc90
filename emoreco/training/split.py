"""Song-level train/test splits: no song ever has windows on both sides."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from emoreco.core.deam import FULL_SONG_IDS
from emoreco.core.errors import ConfigError

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

import numpy as np
import pytest

from emoreco.training.examples import WindowSet
from emoreco.core.errors import ConfigError
from emoreco.training.split import kfold_songs, mediaeval_split, split_songs

IDS = list(range(2, 102)) + [2001, 2002, 2003]


def test_split_is_disjoint_complete_seeded_and_sized():
    train, test = split_songs(IDS, 0.2, seed=7)
    assert not set(train) & set(test)
    assert sorted([*train, *test]) == sorted(IDS)
    assert len(test) == round(0.2 * len(IDS))
    again = split_songs(IDS, 0.2, seed=7)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert not np.array_equal(test, split_songs(IDS, 0.2, seed=8)[1])


def test_split_keeps_each_songs_windows_on_one_side():
    rng = np.random.default_rng(0)
    song_ids = np.repeat(np.arange(2, 22), 5)
    windows = WindowSet(rng.normal(size=(100, 3, 4)).astype(np.float32),
                        rng.normal(size=100).astype(np.float32), song_ids,
                        np.tile(15 + 0.5 * np.arange(5), 20))
    train_ids, test_ids = split_songs(song_ids, 0.25, seed=1)
    train, test = windows.subset(train_ids).shuffled(rng), windows.subset(test_ids)
    assert not set(train.song_ids) & set(test.song_ids)
    assert len(train) + len(test) == 100
    assert not np.array_equal(train.song_ids, np.sort(train.song_ids))  # shuffled


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_fraction_is_validated(fraction):
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        split_songs(IDS, fraction, seed=0)


def test_split_needs_two_songs_and_leaves_one_per_side():
    with pytest.raises(ConfigError, match="at least 2 songs"):
        split_songs([5, 5, 5], 0.5, seed=0)
    train, test = split_songs([3, 4], 0.9, seed=0)
    assert len(train) == 1 and len(test) == 1


def test_kfold_partitions_the_songs():
    folds = kfold_songs(IDS, 5, seed=0)
    tests = [set(test) for _, test in folds]
    assert set().union(*tests) == set(IDS) and sum(map(len, tests)) == len(IDS)
    for train, test in folds:
        assert not set(train) & set(test) and len(train) + len(test) == len(IDS)
    with pytest.raises(ConfigError, match="n_folds"):
        kfold_songs(IDS[:3], 4, seed=0)


def test_mediaeval_split_tests_on_the_2015_full_songs():
    train, test = mediaeval_split(IDS)
    assert test.tolist() == [2001, 2002, 2003] and train.max() == 101
    with pytest.raises(ConfigError, match="ids >= 2001"):
        mediaeval_split(range(2, 50))

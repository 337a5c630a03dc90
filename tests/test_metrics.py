import numpy as np
import pytest

from emoreco.model.metrics import ccc, evaluate, pearson, rmse


def test_hand_computed_values():
    truth = np.array([0.0, 0.5, -0.5, 1.0])
    assert rmse(truth, truth + 0.1) == pytest.approx(0.1)
    assert ccc(truth, truth) == pytest.approx(1.0)
    # by hand: var(truth) = 0.3125 (population), a shift of 0.5 adds 0.25 to the
    # denominator: 2 * 0.3125 / (0.3125 + 0.3125 + 0.25) = 5 / 7
    assert ccc(truth, truth + 0.5) == pytest.approx(5 / 7, abs=1e-12)
    # a prediction twice as spread: cov 0.625, var 1.25: 2 * 0.625 / (0.3125 + 1.25) = 0.8
    assert ccc(truth, 2 * truth - truth.mean()) == pytest.approx(0.8, abs=1e-12)
    assert pearson(truth, 2 * truth + 1) == pytest.approx(1.0)
    assert np.isnan(pearson(truth, np.zeros(4)))


def test_evaluate_reports_per_song_and_baseline():
    truth = np.array([0.1, 0.2, 0.3, -0.1, -0.3, -0.2])
    prediction = truth + np.array([0.1, 0.1, 0.1, 0.0, 0.0, 0.0])
    songs = np.array([1, 1, 1, 2, 2, 2])
    scores = evaluate(truth, prediction, songs, train_mean=0.0)
    assert scores["rmse"] == pytest.approx(np.sqrt(0.03 / 6))
    assert scores["rmse_per_song_mean"] == pytest.approx(0.05)
    assert scores["pearson_per_song_mean"] == pytest.approx(1.0)
    assert scores["baseline_rmse"] == pytest.approx(rmse(truth, np.zeros(6)))
    assert (scores["n_test_songs"], scores["n_test_windows"]) == (2, 6)

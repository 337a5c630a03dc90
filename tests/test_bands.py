"""The calibrated band: its promise on fresh songs, its record, and the raters' spread."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from emoreco.core.errors import ModelError
from emoreco.data.raters import load_genres, load_rater_spread, rater_spread_file
from emoreco.model.bands import (KNOTS, Band, band_metrics, calibrate_band,
                                 conformal_quantile)

LEVEL = 0.8


def _songs(rng: np.random.Generator, n_songs: int, per_song: int = 60):
    """Predicted values (random walks) and truths whose error grows with |value|, as a
    network that shrinks towards the mean errs; a small offset per song correlates the
    errors within a song, as in real songs. Truth clipped to [-1, 1] like annotations."""
    predicted, truth, ids = [], [], []
    for song in range(n_songs):
        y = np.clip(np.cumsum(rng.normal(0, 0.08, per_song)) + rng.uniform(-0.6, 0.6),
                    -0.95, 0.95)
        error = rng.normal(0, 1, per_song) * (0.04 + 0.3 * y ** 2) + rng.normal(0, 0.02)
        predicted.append(y)
        truth.append(np.clip(y + error, -1, 1))
        ids.append(np.full(per_song, song))
    return np.concatenate(predicted), np.concatenate(truth), np.concatenate(ids)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_band_holds_its_level_on_fresh_songs_and_follows_the_errors(seed):
    rng = np.random.default_rng(seed)
    predicted, truth, ids = _songs(rng, 40)  # calibration: 20 + 20 songs of 60 values
    fresh = _songs(rng, 400)
    band = calibrate_band(predicted, truth, ids, LEVEL, seed)
    constant = calibrate_band(predicted, truth, ids, LEVEL, seed, adaptive=False)
    adaptive_metrics = band_metrics(*band.interval(fresh[0]), fresh[1], fresh[0], LEVEL)
    constant_metrics = band_metrics(*constant.interval(fresh[0]), fresh[1], fresh[0], LEVEL)
    # 1,200 calibration values from 20 songs: the coverage of a new draw varies by about
    # 0.015 (binomial) plus the songs' shared offsets; 0.04 is about 2.5 of those
    assert abs(adaptive_metrics["band_coverage"] - LEVEL) <= 0.04
    # one width for all values over-covers the middle and under-covers the extremes; the
    # adaptive band's worst third stays closer to the level and the band is narrower
    assert (adaptive_metrics["band_coverage_worst_third"]
            > constant_metrics["band_coverage_worst_third"] + 0.02)
    assert adaptive_metrics["band_width"] < constant_metrics["band_width"]
    assert band.n_songs == 20 and band.n_values == 1200
    scales = np.array(band.scales)
    assert scales[0] > 2 * scales[len(KNOTS) // 2] < scales[-1]  # wider at the extremes


def test_the_conformal_quantile_is_the_finite_sample_rank():
    scores = np.arange(1.0, 10.0)  # 9 scores: rank ceil(10 * 0.8) = 8
    assert conformal_quantile(scores, 0.8) == 8.0
    assert conformal_quantile(scores, 0.95) == 9.0  # rank 10 > 9: the largest
    assert conformal_quantile(np.array([0.3]), 0.5) == 0.3


def test_intervals_keep_nan_stay_in_the_scale_and_hold_the_value():
    band = Band(0.8, tuple(np.linspace(0.1, 0.3, len(KNOTS))), 1.5, 4, 100)
    values = np.array([np.nan, -0.99, 0.0, 0.5, 0.99], np.float32)
    low, high = band.interval(values)
    assert low.dtype == high.dtype == np.float32
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert (low[1:] >= -1).all() and (high[1:] <= 1).all()
    assert (low[1:] <= values[1:]).all() and (values[1:] <= high[1:]).all()
    assert high[1] > -0.99 + 0.1 and low[4] < 0.99 - 0.4  # wider where the scale is larger
    assert Band.from_dict(band.to_dict()) == band


@pytest.mark.parametrize("change", [
    {"scales": None}, {"scales": [0.1] * 3}, {"scales": [float("nan")] * len(KNOTS)},
    {"scales": [1e9] * len(KNOTS)}, {"scales": ["x"] * len(KNOTS)}, {"level": 1.5},
    {"level": "high"}, {"quantile": 0.0}, {"quantile": 1e12}, {"n_songs": 0},
    {"quantile": None}])
def test_a_band_record_out_of_its_bounds_is_refused(change):
    record = Band(0.8, (0.1,) * len(KNOTS), 1.0, 3, 90).to_dict() | change
    if change.get("scales", 0) is None:
        del record["scales"]
    with pytest.raises(ModelError, match="band record"):
        Band.from_dict(record)


def test_calibration_needs_values_and_works_with_few_songs():
    with pytest.raises(ModelError, match="no validation values"):
        calibrate_band(np.array([np.nan]), np.array([0.1]), np.array([1]), LEVEL, 0)
    values = np.linspace(-0.5, 0.5, 30)
    band = calibrate_band(values, values + 0.1, np.repeat([1, 2, 3], 10), LEVEL, 0)
    assert band.n_songs == 3 and np.isclose(band.half_width(np.array([0.0]))[0], 0.1)


def test_band_metrics_compare_with_the_raters_own_range():
    truth = np.array([0.0, 0.1, 0.5, -0.2])
    predicted = np.zeros(4)
    low, high = np.full(4, -0.15), np.full(4, 0.15)
    metrics = band_metrics(low, high, truth, predicted, LEVEL,
                           rater_std=np.array([0.05, 0.5, np.nan, 0.05]))
    assert metrics["band_coverage"] == 0.5 and np.isclose(metrics["band_width"], 0.3)
    assert np.isclose(metrics["rater_std"], 0.2)
    # raters' 80 % range: +-1.2816 std; 0.15 < 1.28 * 0.5 for one of the three known
    assert np.isclose(metrics["band_narrower_than_raters"], 1 / 3)
    assert "rater_std" not in band_metrics(low, high, truth, predicted, LEVEL)


RATERS = "annotations/annotations per each rater/dynamic (per second annotations)"


def test_rater_spread_is_read_from_deams_per_rater_files(tmp_path, caplog):
    folder = tmp_path / RATERS / "arousal"
    folder.mkdir(parents=True)
    (folder / "10.csv").write_text(
        "WorkerId, sample_15500ms,sample_15000ms\n"
        "a, 0.2, 0.1\nb,0.4,-0.1\nc,,0.0\n")
    (folder / "11.csv").write_text("WorkerId,sample_15000ms\na,abc\nb,0.1\n")  # not numbers
    (folder / "12.csv").write_text("WorkerId,sample_15000ms\na,3.0\nb,0.1\n")  # outside
    (folder / "13.csv").write_bytes(b"\x00" * (5 << 20))  # far too large for a rater file
    spread = rater_spread_file(folder / "10.csv", 10)
    np.testing.assert_allclose(spread.times_s, [15.0, 15.5])
    np.testing.assert_allclose(spread.values, [np.std([0.1, -0.1, 0.0]), 0.1])
    with caplog.at_level(logging.WARNING):
        spreads = load_rater_spread(tmp_path, "arousal", [10, 11, 12, 13, 14])
    assert list(spreads) == [10]
    assert "3 per-rater file(s) skipped" in caplog.text
    assert load_rater_spread(tmp_path, "valence", [10]) == {}
    assert load_rater_spread(None, "arousal", [10]) == {}


def test_genres_come_from_deams_metadata_files(tmp_path):
    folder = tmp_path / "metadata"
    folder.mkdir()
    (folder / "metadata_2013.csv").write_text(
        "song_id,file_name,Artist,Song title,Genre\n2,2.mp3,A,T, rock\n"
        "3,3.mp3,A,T,<script>\n4,4.mp3,A,T," + "x" * 80 + "\n")
    (folder / "metadata_2014.csv").write_text("Id,Artist,Track,Genre\n1001,A,T,Rock\n"
                                              "x,A,T,Pop\n99999999999999,A,T,Pop\n")
    (folder / "metadata_2015.csv").write_text("id,file_name,Artist,title,genre\n"
                                              "2001,f,A,T,Classical\n")
    (folder / "notes.csv").write_text("nothing,here\n1,2\n")
    assert load_genres(tmp_path) == {2: "Rock", 1001: "Rock", 2001: "Classical"}
    assert load_genres(tmp_path / "nowhere") == {}


@pytest.mark.slow
def test_training_calibrates_a_band_that_holds_on_the_test_songs(tmp_path):
    """On a generated corpus of 36 clips, 3-fold cross-validation tests every song once;
    the band, calibrated on each fold's validation songs, must hold the level on them."""
    from emoreco.core.config import TrainParams
    from emoreco.data.demo import generate_demo_corpus
    from emoreco.model.files import read_meta
    from emoreco.training.run import train

    generate_demo_corpus(tmp_path / "corpus", n_clips=36, n_full_songs=0, seed=21, n_jobs=2,
                         progress=False)
    params = TrainParams(epochs=6, protocol="kfold", n_folds=3, val_fraction=0.3)
    outcome = train("arousal", tmp_path / "corpus", models_dir=tmp_path / "models",
                    cache_dir=tmp_path / "cache", train_params=params, progress=False,
                    verbose=0, jobs=2)
    metrics = outcome.meta.metrics
    folds = [fold["band_coverage"] for fold in metrics["folds"]]
    # 36 test songs of ~57 correlated values each, 3 calibrations on 3-4 songs of ~200
    # values: the mean coverage varies by about 0.04 between corpora; 0.1 is 2.5 of that
    assert abs(metrics["band_coverage"] - LEVEL) <= 0.1, folds
    assert np.isclose(metrics["band_coverage"], np.mean(folds))
    assert 0.05 < metrics["band_width"] < 1.0
    # the corpus has per-rater files (5 raters, spread 0.1 * sqrt(5)) and genres
    assert abs(metrics["rater_std"] - 0.1 * np.sqrt(5) * np.sqrt(4 / 5)) < 0.03
    assert set(metrics["per_genre"]) <= {"Rock", "Pop", "Electronic", "Classical"}
    assert sum(g["n_test_songs"] for g in metrics["per_genre"].values()) == 36
    _, meta = read_meta(tmp_path / "models", "arousal")
    assert meta.band is not None and meta.band.level == LEVEL
    card = (tmp_path / "models" / "arousal.card.md").read_text()
    assert f"{metrics['band_coverage']:.4f} ± {metrics['band_coverage_std']:.4f}" in card
    assert "Per genre:" in card and "narrower than the raters' own 80% range" in card

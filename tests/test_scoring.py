"""Training evaluation and MAIN.py share one scoring path; k-fold never leaks songs."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from emoreco.cli import main_predict
from emoreco.training.fit import make_deterministic
from emoreco.core.config import FeatureParams, TrainParams
from emoreco.data.corpus import load_corpus
from emoreco.data.layout import locate_deam
from emoreco.training.examples import LabelledSongs, build_window_set, song_examples
from emoreco.data.feature_cache import FeatureCache
from emoreco.model.predictor import Predictor
from emoreco.model.targets import TARGETS, VALENCE
from emoreco.training.fit import evaluate_model, train_and_evaluate


def _songs(tiny_deam, trained_models, target):
    corpus = load_corpus(locate_deam(tiny_deam), target)
    return LabelledSongs.single(corpus, FeatureCache(trained_models / "cache", FeatureParams()))


@pytest.mark.parametrize("target", list(TARGETS))
def test_training_and_prediction_build_the_same_inputs_and_values(target, tiny_deam,
                                                                  trained_models, tmp_path):
    models = trained_models / "models"
    predictor = Predictor(models)
    model, meta = predictor.models[target], predictor.metas[target]
    songs = _songs(tiny_deam, trained_models, target)
    song_id = meta.song_ids["test"][0]
    audio = songs.parts[0].corpus.audio[song_id]

    # inputs of the training examples == inputs that MAIN.py feeds the model
    train_inputs, _, train_times = song_examples(model.spec, songs.features(song_id),
                                                 songs.annotation(song_id), meta.feature_params)
    seen: list[np.ndarray] = []

    def recording(batch):
        seen.append(batch)
        return model.call(batch)

    predictor.models[target] = dataclasses.replace(model, call=recording)
    curve = predictor.predict_file(audio)  # the whole song, as MAIN.py by default
    [predicted_inputs] = seen
    predicted_times = curve.times_s[np.isfinite(curve.values[target])]
    assert len(predicted_inputs) == len(predicted_times)
    assert np.isin(train_times, predicted_times).all() and len(train_times) > 50
    np.testing.assert_array_equal(predicted_inputs[np.isin(predicted_times, train_times)],
                                  model.scaler.apply(train_inputs))

    # values that evaluation scores == values MAIN.py writes (4 decimals in the CSV)
    evaluation = evaluate_model(model, songs, [song_id], train_mean=0.0)
    out = tmp_path / "out"
    assert main_predict([str(audio), "--models-dir", str(models), "--out-dir", str(out),
                         "--quiet"]) == 0
    table = pd.read_csv(out / "TestSongPredicted.csv").set_index("time_s")
    assert len(evaluation.predicted) == len(train_times)
    written = table.loc[evaluation.times_s, target].to_numpy()
    np.testing.assert_allclose(written, evaluation.predicted, atol=5e-5)


@pytest.mark.slow
def test_kfold_tests_every_song_once_and_never_on_its_training_songs(tiny_deam, trained_models,
                                                                    tmp_path):
    songs = _songs(tiny_deam, trained_models, "valence")
    params = FeatureParams()
    windows = build_window_set(VALENCE, songs, params, progress=False)
    train_params = TrainParams(epochs=1, seed=3, protocol="kfold", n_folds=3)
    make_deterministic(train_params.seed)
    outcome = train_and_evaluate(VALENCE, songs, windows, params, train_params, tmp_path, "v",
                                 verbose=0)
    saved = json.loads((tmp_path / "v.metrics.json").read_text())
    assert len(saved["folds"]) == 3 and "rmse_std" in saved
    tested = []
    for fold in saved["folds"]:
        ids = {side: set(values) for side, values in fold["song_ids"].items()}
        assert ids["test"] and not ids["test"] & (ids["train"] | ids["validation"])
        assert not ids["train"] & ids["validation"]
        assert fold["n_test_songs"] == len(ids["test"])
        tested.extend(ids["test"])
    assert sorted(tested) == songs.parts[0].corpus.song_ids  # every song tested exactly once
    assert saved["n_test_songs"] == len(songs.parts[0].corpus.song_ids)
    assert outcome.meta.song_ids["test"] == []  # the saved model is refitted on all songs


def test_split_protocol_keeps_test_songs_out_of_training(tiny_deam, trained_models, tmp_path):
    meta = json.loads((trained_models / "models" / "arousal.meta.json").read_text())
    ids = {side: set(values) for side, values in meta["song_ids"].items()}
    assert ids["test"] and not ids["test"] & (ids["train"] | ids["validation"])
    assert not ids["train"] & ids["validation"]
    assert meta["metrics"]["n_test_songs"] == len(ids["test"])

import json

import numpy as np
import pytest

from emoreco.config import TrainParams
from emoreco.dataset import WindowSet
from emoreco.errors import ModelError
from emoreco.persistence import ModelFiles, load_model, save_model
from emoreco.training import Scaler, fit_model, predict_windows, train_and_evaluate

keras = pytest.importorskip("keras")


def _toy_windows(target: str, n_songs: int = 12, per_song: int = 20, seed: int = 0) -> WindowSet:
    """Inputs whose mean level encodes the target (learnable by both models)."""
    rng = np.random.default_rng(seed)
    shape = (40, 72) if target == "arousal" else (6, 12)
    targets = rng.uniform(-0.8, 0.8, n_songs * per_song).astype(np.float32)
    inputs = rng.normal(size=(len(targets), *shape)).astype(np.float32) * 0.3
    if target == "arousal":
        inputs[:, 0, :] += 3 * targets[:, None]
    else:
        inputs[:, :, 0] += 3 * targets[:, None]
    return WindowSet(inputs, targets, np.repeat(np.arange(2, 2 + n_songs), per_song),
                     np.tile(15 + 0.5 * np.arange(per_song), n_songs))


FAST = TrainParams(epochs=25, batch_size=32, patience=25, learning_rate=3e-3, seed=1)


@pytest.mark.parametrize("target", ["arousal", "valence"])
def test_tiny_fit_learns_well_below_the_baseline(target):
    windows = _toy_windows(target)
    train, validation = windows.subset(range(2, 11)), windows.subset([11, 12, 13])
    result = fit_model(target, train, validation, FAST, augment=False, verbose=0)
    predictions = predict_windows(result.model, result.scaler, validation.inputs)
    rmse = np.sqrt(np.mean((predictions - validation.targets) ** 2))
    baseline = np.sqrt(np.mean((train.targets.mean() - validation.targets) ** 2))
    assert rmse < 0.5 * baseline
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_scaler_is_fitted_per_coefficient_for_arousal_and_globally_for_valence():
    windows = _toy_windows("arousal")
    scaler = Scaler.fit("arousal", windows.inputs)
    assert scaler.mean.shape == (1, 40, 1)
    standardised = scaler.apply(windows.inputs)
    np.testing.assert_allclose(standardised.mean(axis=(0, 2)), 0, atol=1e-4)
    assert Scaler.fit("valence", _toy_windows("valence").inputs).mean.shape == (1, 1, 1)
    round_trip = Scaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(round_trip.mean, scaler.mean)


def test_same_seed_gives_identical_weights_and_another_seed_does_not():
    windows = _toy_windows("valence")
    train, validation = windows.subset(range(2, 11)), windows.subset([11, 12, 13])
    quick = TrainParams(epochs=2, batch_size=32, seed=5)
    weights = [fit_model("valence", train, validation, params, verbose=0).model.get_weights()
               for params in (quick, quick, TrainParams(epochs=2, batch_size=32, seed=6))]
    assert all(np.array_equal(a, b) for a, b in zip(weights[0], weights[1]))
    assert not all(np.array_equal(a, b) for a, b in zip(weights[0], weights[2]))


@pytest.fixture(scope="module")
def saved_arousal(tmp_path_factory):
    windows = _toy_windows("arousal")
    result = fit_model("arousal", windows.subset(range(2, 11)), windows.subset([11, 12, 13]),
                       TrainParams(epochs=2, seed=1), verbose=0)
    folder = tmp_path_factory.mktemp("models")
    save_model(result.model, {"target": "arousal"}, folder, "arousal")
    return folder, result, windows


def test_save_load_round_trip_gives_identical_predictions(saved_arousal):
    folder, result, windows = saved_arousal
    model, meta = load_model(folder, "arousal")
    assert meta["target"] == "arousal" and set(meta["sha256"]) == {"architecture", "weights"}
    before = predict_windows(result.model, result.scaler, windows.inputs)
    after = predict_windows(model, result.scaler, windows.inputs)
    np.testing.assert_array_equal(before, after)


def test_missing_partial_and_mismatched_models_are_refused(saved_arousal, tmp_path):
    import shutil

    folder, _, _ = saved_arousal
    copy = tmp_path / "m"
    shutil.copytree(folder, copy)
    files = ModelFiles.at(copy, "arousal")
    with pytest.raises(ModelError, match="model 'other' is missing"):
        load_model(copy, "other")
    files.weights.write_bytes(files.weights.read_bytes()[:1000])  # half-written weights
    with pytest.raises(ModelError, match="does not match arousal.meta.json"):
        load_model(copy, "arousal")
    files.weights.unlink()
    with pytest.raises(ModelError, match="missing arousal.weights.h5"):
        load_model(copy, "arousal")


def test_architectures_that_could_run_code_are_refused(saved_arousal, tmp_path):
    import shutil

    from emoreco.persistence import sha256_of

    folder, _, _ = saved_arousal
    for name, patch in (("lambda", lambda c: c.replace('"Dense"', '"Lambda"', 1)),
                        ("module", lambda c: c.replace('"keras.layers"', '"os"', 1))):
        copy = tmp_path / name
        shutil.copytree(folder, copy)
        files = ModelFiles.at(copy, "arousal")
        files.architecture.write_text(patch(files.architecture.read_text()))
        meta = json.loads(files.meta.read_text())
        meta["sha256"]["architecture"] = sha256_of(files.architecture)  # a forged model
        files.meta.write_text(json.dumps(meta))
        with pytest.raises(ModelError, match="Lambda|only Keras classes load"):
            load_model(copy, "arousal")


@pytest.mark.parametrize("protocol", ["split", "kfold"])
def test_no_test_song_is_used_for_training_or_early_stopping(protocol, tmp_path):
    from emoreco.config import FeatureParams

    windows = _toy_windows("valence", n_songs=10, per_song=8)
    params = TrainParams(epochs=1, seed=3, protocol=protocol, n_folds=3)
    metrics = train_and_evaluate("valence", windows, FeatureParams(), params, tmp_path, "v",
                                 loss_plot=tmp_path / "loss.png", verbose=0)
    meta = json.loads((tmp_path / "v.meta.json").read_text())
    ids = {side: set(values) for side, values in meta["song_ids"].items()}
    assert not ids["train"] & ids["test"] and not ids["validation"] & ids["test"]
    assert not ids["train"] & ids["validation"]
    assert (tmp_path / "loss.png").stat().st_size > 1000
    saved = json.loads((tmp_path / "v.metrics.json").read_text())
    for key in ("rmse", "rmse_per_song_mean", "pearson_per_song_mean", "ccc", "baseline_rmse",
                "n_test_songs", "n_test_windows"):
        assert key in saved and saved[key] == metrics[key]
    if protocol == "kfold":
        assert len(saved["folds"]) == 3 and "rmse_std" in saved
        assert saved["n_test_songs"] == 10  # every song tested exactly once
    else:
        assert ids["test"] and saved["n_test_songs"] == len(ids["test"])

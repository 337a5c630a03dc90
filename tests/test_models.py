import json

import numpy as np
import pytest

from emoreco.training.fit import make_deterministic
from emoreco.core.config import TrainParams
from emoreco.core.errors import ModelError
from emoreco.training.examples import WindowSet
from emoreco.model.meta import ModelMeta
from emoreco.model.architectures import keras_call
from emoreco.model.files import ModelFiles, load_model, save_model, write_digests
from emoreco.model.scaler import Scaler
from emoreco.model.targets import AROUSAL, TARGETS, VALENCE
from emoreco.training.fit import fit_model

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


FAST = TrainParams(epochs=25, batch_size=32, patience=25, learning_rate=3e-3, seed=1,
                   augment=False)


def _predict(result, inputs):
    return np.clip(keras_call(result.model)(result.scaler.apply(inputs)), -1, 1)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["arousal", "valence"])
def test_tiny_fit_learns_well_below_the_baseline(target):
    windows = _toy_windows(target)
    train, validation = windows.subset(range(2, 11)), windows.subset([11, 12, 13])
    make_deterministic(FAST.seed)
    result = fit_model(TARGETS[target], train, validation, FAST, verbose=0)
    rmse = np.sqrt(np.mean((_predict(result, validation.inputs) - validation.targets) ** 2))
    baseline = np.sqrt(np.mean((train.targets.mean() - validation.targets) ** 2))
    assert rmse < 0.5 * baseline
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_scaler_is_fitted_per_coefficient_for_arousal_and_globally_for_valence():
    windows = _toy_windows("arousal")
    scaler = Scaler.fit(windows.inputs, AROUSAL.scaler_axes)
    assert scaler.mean.shape == (1, 40, 1)
    standardised = scaler.apply(windows.inputs)
    np.testing.assert_allclose(standardised.mean(axis=(0, 2)), 0, atol=1e-4)
    assert Scaler.fit(_toy_windows("valence").inputs, VALENCE.scaler_axes).mean.shape == (1, 1, 1)
    round_trip = Scaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(round_trip.mean, scaler.mean)


@pytest.mark.slow
def test_same_seed_gives_identical_weights_and_another_seed_does_not():
    windows = _toy_windows("valence")
    train, validation = windows.subset(range(2, 11)), windows.subset([11, 12, 13])
    weights = []
    for seed in (5, 5, 6):
        make_deterministic(seed)
        params = TrainParams(epochs=2, batch_size=32, seed=seed)
        weights.append(fit_model(VALENCE, train, validation, params, verbose=0)
                       .model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(weights[0], weights[1]))
    assert not all(np.array_equal(a, b) for a, b in zip(weights[0], weights[2]))


@pytest.fixture(scope="module")
def saved_arousal(tmp_path_factory):
    from emoreco.core.config import FeatureParams

    windows = _toy_windows("arousal")
    result = fit_model(AROUSAL, windows.subset(range(2, 11)), windows.subset([11, 12, 13]),
                       TrainParams(epochs=2, seed=1), verbose=0)
    folder = tmp_path_factory.mktemp("models")
    meta = ModelMeta(target="arousal", name="arousal", input_shape=(40, 72),
                     feature_params=FeatureParams(), train_params=TrainParams(),
                     scaler=result.scaler)
    save_model(result.model, meta, folder)
    return folder, result, windows


def test_save_load_round_trip_gives_identical_predictions(saved_arousal):
    folder, result, windows = saved_arousal
    model, meta = load_model(folder, "arousal")
    assert meta.target == "arousal" and set(meta.sha256) == {"architecture", "weights", "onnx"}
    np.testing.assert_array_equal(meta.scaler.mean, result.scaler.mean)
    before = _predict(result, windows.inputs)
    after = np.clip(keras_call(model)(result.scaler.apply(windows.inputs)), -1, 1)
    np.testing.assert_array_equal(before, after)


def test_metadata_of_schema_1_still_loads_and_a_newer_schema_is_refused(saved_arousal,
                                                                        tmp_path):
    import shutil

    folder, _, _ = saved_arousal
    copy = tmp_path / "m"
    shutil.copytree(folder, copy)
    files = ModelFiles.at(copy, "arousal")
    files.digests.unlink()  # saved before the digest list existed
    record = json.loads(files.meta.read_text())
    del record["schema_version"], record["augmentation"]
    record["train_params"].pop("augment")
    record["train_params"]["transpose_augment"] = False  # how schema 1 recorded it
    files.meta.write_text(json.dumps(record))
    _, meta = load_model(copy, "arousal")
    assert meta.schema_version == 2 and meta.train_params.augment is False
    assert meta.augmentation is None
    record["schema_version"] = 99
    files.meta.write_text(json.dumps(record))
    with pytest.raises(ModelError, match="schema 99 is newer"):
        load_model(copy, "arousal")
    del record["scaler"]
    record["schema_version"] = 2
    files.meta.write_text(json.dumps(record))
    with pytest.raises(ModelError, match="incomplete or malformed metadata.*retrain"):
        load_model(copy, "arousal")


def test_missing_partial_and_mismatched_models_are_refused(saved_arousal, tmp_path):
    import shutil

    folder, _, _ = saved_arousal
    copy = tmp_path / "m"
    shutil.copytree(folder, copy)
    files = ModelFiles.at(copy, "arousal")
    with pytest.raises(ModelError, match="model 'other' is missing"):
        load_model(copy, "other")
    files.weights.write_bytes(files.weights.read_bytes()[:1000])  # half-written weights
    with pytest.raises(ModelError, match="does not match arousal.sha256"):
        load_model(copy, "arousal")
    files.weights.unlink()
    with pytest.raises(ModelError, match="missing arousal.weights.h5"):
        load_model(copy, "arousal")


def test_architectures_that_could_run_code_are_refused(saved_arousal, tmp_path):
    import shutil

    from emoreco.model.files import sha256_of

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
        write_digests(files)
        with pytest.raises(ModelError, match="Lambda|only Keras classes load"):
            load_model(copy, "arousal")

import argparse

import pytest

from emoreco.core.config import (FeatureParams, TrainParams, add_dataclass_arguments,
                            dataclass_from_args)
from emoreco.core.errors import ConfigError


def test_defaults_follow_the_design_and_derive_frame_counts():
    params = FeatureParams()
    assert (params.sample_rate, params.n_fft, params.win_length, params.n_mels) == (
        12000, 512, 256, 96)
    assert (params.start_s, params.window_s, params.hop_s) == (15.0, 1.5, 0.5)
    assert params.frames_per_window == 72  # 1.5 s * 12000 / 250
    assert params.frames_per_hop == 24
    assert params.frames_per_segment == 24
    assert params.min_duration_s == 16.5


def test_n_mfcc_above_n_mels_is_refused_with_an_explanation():
    with pytest.raises(ConfigError, match="n_mfcc=100 is larger than n_mels=96"):
        FeatureParams(n_mfcc=100)


def test_hop_length_that_does_not_divide_the_window_is_refused():
    with pytest.raises(ConfigError, match="whole number of frames"):
        FeatureParams(hop_length=256)


@pytest.mark.parametrize("bad", [{"win_length": 1024}, {"sample_rate": 0}, {"start_s": -1.0}])
def test_inconsistent_feature_values_are_refused(bad):
    with pytest.raises(ConfigError):
        FeatureParams(**bad)


def test_cache_key_changes_with_audio_parameters_only():
    base = FeatureParams()
    assert FeatureParams(n_mfcc=20).cache_key() != base.cache_key()
    assert FeatureParams(chroma_tuning=0.1).cache_key() != base.cache_key()
    assert FeatureParams(context_segments=4).cache_key() == base.cache_key()


def test_cache_key_changes_with_the_feature_code_version(monkeypatch):
    import emoreco.core.config

    before = FeatureParams().cache_key()
    monkeypatch.setattr(emoreco.core.config, "FEATURE_CODE_VERSION",
                        emoreco.core.config.FEATURE_CODE_VERSION + 1)
    assert FeatureParams().cache_key() != before


def test_to_dict_round_trip_records_derived_values():
    params = FeatureParams(n_mfcc=20)
    record = params.to_dict()
    assert record["derived"]["frames_per_window"] == 72
    assert FeatureParams.from_dict(record) == params


@pytest.mark.parametrize("bad", [{"test_fraction": 0.0}, {"test_fraction": 1.0},
                                 {"val_fraction": -0.1}, {"test_fraction": 0.6,
                                                          "val_fraction": 0.5},
                                 {"epochs": 0}, {"learning_rate": 0.0}, {"n_folds": 1},
                                 {"protocol": "nope"}])
def test_train_params_are_validated(bad):
    with pytest.raises(ConfigError):
        TrainParams(**bad)


def test_every_field_is_overridable_from_the_command_line():
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, FeatureParams, "features")
    add_dataclass_arguments(parser, TrainParams, "training")
    args = parser.parse_args(["--n-mfcc", "20", "--hop-s", "1.0", "--segment-s", "1.0",
                              "--protocol", "kfold", "--learning-rate", "0.01"])
    assert dataclass_from_args(FeatureParams, args) == FeatureParams(n_mfcc=20, hop_s=1.0,
                                                                     segment_s=1.0)
    assert dataclass_from_args(TrainParams, args).protocol == "kfold"
    assert dataclass_from_args(TrainParams, args).augment is True
    with pytest.raises(SystemExit):
        parser.parse_args(["--protocol", "bogus"])


def test_boolean_fields_are_flags():
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, TrainParams, "training")
    assert dataclass_from_args(TrainParams, parser.parse_args(["--no-augment"])).augment is False
    assert dataclass_from_args(TrainParams, parser.parse_args(["--augment"])).augment is True
    with pytest.raises(SystemExit):  # not a string that happens to be truthy
        parser.parse_args(["--augment", "False"])


def test_cache_key_covers_every_field_not_marked_as_windowing():
    import dataclasses

    base = FeatureParams()
    for f in dataclasses.fields(FeatureParams):
        if f.metadata.get("windowing"):
            continue
        changed = dataclasses.replace(base, **{f.name: f.default * 2 if f.default else 0.25})
        assert changed.cache_key() != base.cache_key(), f.name


def test_output_step_must_equal_the_valence_segment():
    with pytest.raises(ConfigError, match=r"hop_s \(1\) must equal segment_s \(0.5\)"):
        FeatureParams(hop_s=1.0)
    with pytest.raises(ConfigError, match="start_s .* must be a multiple of hop_s"):
        FeatureParams(start_s=15.2)

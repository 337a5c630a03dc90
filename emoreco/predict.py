"""Valence and arousal curves for any audio file, with the trained models.

Time axis: one value every ``hop_s`` (0.5 s) at times ``t`` from ``start_s``. Arousal at
``t`` comes from the 1.5 s MFCC window ``[t, t + 1.5)`` (as in training, where its target
is the mean annotation inside the window); valence at ``t`` from the chroma of the
segment ``[t, t + 0.5)`` and the segments leading up to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.audio import AUDIO_SUFFIXES, load_audio
from emoreco.config import FeatureParams
from emoreco.dataset import arousal_windows, valence_sequences
from emoreco.errors import ConfigError, DataLayoutError, EmorecoError, ModelError
from emoreco.features import compute_song_features, grid_indices
from emoreco.persistence import ModelFiles, load_model
from emoreco.report import quadrant
from emoreco.training import Scaler

HOW_TO_TRAIN = ("train them first: `make demo` (demo corpus), or `python MAIN_arousal.py "
                "--deam-dir DIR` and `python MAIN_valence.py --deam-dir DIR`")


@dataclass(frozen=True)
class EmotionCurve:
    """Predicted curves of one song.

    Attributes
    ----------
    song : str
        File name without folder.
    times_s : np.ndarray, shape (n,)
    arousal, valence : np.ndarray, shape (n,), in [-1, 1]
    """

    song: str
    times_s: np.ndarray
    arousal: np.ndarray
    valence: np.ndarray

    def summary(self) -> dict[str, Any]:
        """Mean, std and quadrant of the song's mean point."""
        mean_a, mean_v = float(self.arousal.mean()), float(self.valence.mean())
        return {"song": self.song, "n_steps": int(len(self.times_s)),
                "start_s": float(self.times_s[0]), "end_s": float(self.times_s[-1]),
                "arousal_mean": mean_a, "arousal_std": float(self.arousal.std()),
                "valence_mean": mean_v, "valence_std": float(self.valence.std()),
                "quadrant": quadrant(mean_v, mean_a)}


@dataclass
class LoadedModel:
    """A Keras model with the feature parameters and scaler it was trained with."""

    model: Any
    params: FeatureParams
    scaler: Scaler

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        """Predictions for a batch, shape (n,), clipped to [-1, 1]."""
        output = self.model(self.scaler.apply(inputs), training=False)
        return np.clip(np.asarray(output).reshape(-1), -1.0, 1.0)


def _load(models_dir: Path, name: str, target: str) -> LoadedModel:
    if not ModelFiles.at(models_dir, name).meta.is_file():
        raise ModelError(f"no trained {target} model '{name}' in {models_dir}/: {HOW_TO_TRAIN}")
    model, meta = load_model(models_dir, name)
    if meta.get("target") != target:
        raise ModelError(f"{models_dir}/{name}: was trained to predict {meta.get('target')}, "
                         f"not {target}")
    try:
        params = FeatureParams.from_dict(meta["feature_params"])
        scaler = Scaler.from_dict(meta["scaler"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{models_dir}/{name}.meta.json: incomplete metadata ({exc})") from exc
    expected = ([params.n_mfcc, params.frames_per_window] if target == "arousal"
                else [params.context_segments, 12])
    if list(model.input_shape[1:]) != expected:
        raise ModelError(f"{models_dir}/{name}: model input {list(model.input_shape[1:])} does "
                         f"not match its feature parameters {expected}")
    return LoadedModel(model, params, scaler)


class Predictor:
    """Both trained models, ready to turn audio files into emotion curves."""

    def __init__(self, models_dir: str | Path = "models", arousal_name: str = "arousal",
                 valence_name: str = "valence") -> None:
        models_dir = Path(models_dir)
        self.arousal = _load(models_dir, arousal_name, "arousal")
        self.valence = _load(models_dir, valence_name, "valence")
        if self.arousal.params.cache_key() != self.valence.params.cache_key() or (
                self.arousal.params.hop_s != self.valence.params.segment_s):
            raise ModelError("the arousal and valence models were trained with different "
                             "audio feature parameters; retrain one of them")
        self.params = self.arousal.params

    def predict_file(self, path: str | Path, start_s: float = 15.0,
                     end_s: float | None = None) -> EmotionCurve:
        """Curves of one file from ``start_s`` to ``end_s`` (default: end of the song)."""
        params = self.params
        context_s = (self.valence.params.context_segments - 1) * params.segment_s
        if start_s < context_s:
            raise ConfigError(f"--start must be at least {context_s:g} s (the valence context)")
        grid_indices(np.array([start_s]), params.hop_s,
                     f"--start must be a multiple of {params.hop_s:g} s")
        path = Path(path)
        samples = load_audio(path, params.sample_rate,
                             min_duration_s=start_s + params.window_s)
        features = compute_song_features(samples, params)
        end = features.duration_s if end_s is None else min(end_s, features.duration_s)
        windows, times = arousal_windows(features, start_s, end, params)
        if not len(times):
            raise ConfigError(f"{path}: --end {end:g} s leaves no {params.window_s:g} s window "
                              f"after --start {start_s:g} s")
        sequences, keep = valence_sequences(features, times, self.valence.params)
        if not keep.all():
            raise ModelError(f"{path}: valence context does not cover every time step")
        return EmotionCurve(path.name, times, self.arousal(windows), self.valence(sequences))


def find_audio_files(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (non-recursive) into a sorted list of audio files.

    Raises
    ------
    DataLayoutError
        A path that does not exist, or no audio file at all.
    """
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found.extend(sorted(p for p in item.iterdir()
                                if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES))
        elif item.is_file():
            found.append(item)
        else:
            raise DataLayoutError(f"{item}: no such file or folder")
    if not found:
        raise DataLayoutError("no audio files (" + ", ".join(AUDIO_SUFFIXES) + ") in "
                              + ", ".join(map(str, inputs)))
    return list(dict.fromkeys(found))


def predict_files(predictor: Predictor, files: list[Path], start_s: float,
                  end_s: float | None, errors: dict[str, str],
                  progress: bool = True) -> Iterator[EmotionCurve]:
    """Stream curves one file at a time; failures go to ``errors`` (file -> message).

    Only one song's audio and features are in memory at a time.
    """
    from tqdm import tqdm

    for path in tqdm(files, desc="songs", unit="song", disable=not progress):
        try:
            yield predictor.predict_file(path, start_s, end_s)
        except EmorecoError as exc:
            errors[str(path)] = str(exc)

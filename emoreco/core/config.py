"""All parameters in one place: frozen, validated dataclasses.

Base values come from the original design; derived values (frame counts) are computed
from them and checked for consistency. Every field is a command-line option
(:func:`add_dataclass_arguments`) and is recorded beside saved models and feature caches.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from emoreco.core.deam import ANNOTATION_START_S, ANNOTATION_STEP_S
from emoreco.core.digest import short_digest
from emoreco.core.errors import ConfigError
from emoreco.core.limits import (FEATURE_BOUNDS, MAX_FRAMES_PER_SECOND,
                                 MAX_FRAMES_PER_WINDOW)

T = TypeVar("T")

# Metadata of FeatureParams fields that only choose which windows are cut out of the
# song-level features. Every other field changes the cached features and so enters
# FeatureParams.cache_key(): a new field is part of the key unless marked like this.
WINDOWING = {"windowing": True}
# Version of the code that turns audio into song-level features, part of the cache key:
# bump it whenever decoding or feature code changes the values it computes, so that old
# caches are recomputed rather than mixed with new entries. 2: filterbank products that
# do not go through BLAS (the same bits whatever its thread count). 3: every format but
# PCM (WAV, AIFF) decoded by FFmpeg first (audio.decode.decoders_for). 4: the MFCCs' dB
# floor follows the loudest band so far, not the song's (audio.features.causal_db_floor).
# 5: resampling by libswresample, 1.3 ms delay (audio.resample), and chroma frames that
# end at their time (audio.features.chroma_span): live values 85 + 80 ms sooner. 6: its
# filter of 32 taps instead of 64 (as fast as soxr was).
FEATURE_CODE_VERSION = 6


def _exact_ratio(numerator: float, denominator: float, what: str) -> int:
    """Return ``numerator / denominator`` as an int, or raise if it is not whole."""
    ratio = numerator / denominator
    rounded = round(ratio)
    if rounded < 1 or not math.isclose(ratio, rounded, rel_tol=0, abs_tol=1e-9):
        raise ConfigError(
            f"{what} must be a whole number of frames, got {ratio:.4f}; "
            "choose --hop-length so that it divides the window and hop durations"
        )
    return int(rounded)


@dataclass(frozen=True)
class FeatureParams:
    """Audio feature and windowing parameters.

    Notes
    -----
    ``hop_length`` (STFT hop) is not given by the original design; 250 samples (20.8 ms)
    is the value near the window size (256) that divides the 0.5 s annotation step
    exactly at 12 kHz, so every 1.5 s window starts on a frame and the song-level
    spectrogram can be framed instead of recomputed per window.

    ``n_mfcc``: the design asks for "the 100 first MFCCs", impossible with 96 mel bands
    (the DCT of 96 bands has 96 coefficients). 40 keeps the spectral envelope (timbre,
    brightness, loudness in c0) and drops the fine detail that mostly encodes pitch.

    Chroma uses its own, longer STFT (``chroma_n_fft`` 2048 = 171 ms, 5.9 Hz bins, enough
    to separate semitones above ~100 Hz) on the same hop, so both matrices share one frame
    grid; a chroma frame holds the 171 ms before its time, so that a segment needs no
    later audio. ``chroma_tuning`` is the tuning offset in fractions of a semitone (0 = A440);
    estimating it per song costs about 100 ms, more than all other features together.

    ``hop_s`` is the step of every output curve; it must equal ``segment_s`` so that
    arousal windows and valence segments share one time axis.
    """

    sample_rate: int = 12000
    start_s: float = field(default=ANNOTATION_START_S, metadata=WINDOWING)
    window_s: float = field(default=1.5, metadata=WINDOWING)
    hop_s: float = field(default=0.5, metadata=WINDOWING)
    annotation_step_s: float = field(default=ANNOTATION_STEP_S, metadata=WINDOWING)
    n_fft: int = 512
    win_length: int = 256
    hop_length: int = 250
    n_mels: int = 96
    n_mfcc: int = 40
    chroma_n_fft: int = 2048
    chroma_tuning: float = 0.0
    segment_s: float = field(default=0.5, metadata=WINDOWING)
    context_segments: int = field(default=6, metadata=WINDOWING)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` on values of the wrong type, outside their bounds
        (:data:`emoreco.core.limits.FEATURE_BOUNDS`: they come from model files too) or
        inconsistent with each other."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            wanted = int if f.type in ("int", int) else (int, float)
            if isinstance(value, bool) or not isinstance(value, wanted):
                raise ConfigError(f"{f.name} must be a{'n integer' if wanted is int else ' number'}"
                                  f", got {value!r}")
            if not math.isfinite(value):
                raise ConfigError(f"{f.name} must be a finite number, got {value}")
            low, high = FEATURE_BOUNDS[f.name]
            if not low <= value <= high:
                raise ConfigError(f"{f.name} must lie in [{low:g}, {high:g}], got {value:g}")
        if self.sample_rate / self.hop_length > MAX_FRAMES_PER_SECOND:
            raise ConfigError(f"hop_length {self.hop_length} gives more than "
                              f"{MAX_FRAMES_PER_SECOND} frames per second at "
                              f"{self.sample_rate} Hz")
        if self.n_mfcc > self.n_mels:
            raise ConfigError(
                f"n_mfcc={self.n_mfcc} is larger than n_mels={self.n_mels}: an MFCC is a "
                "DCT of the mel bands, so at most n_mels coefficients exist"
            )
        if self.win_length > self.n_fft:
            raise ConfigError(f"win_length={self.win_length} exceeds n_fft={self.n_fft}")
        if self.window_s < self.annotation_step_s:
            raise ConfigError("window_s must cover at least one annotation step")
        if not math.isclose(self.hop_s, self.segment_s):
            raise ConfigError(
                f"hop_s ({self.hop_s:g}) must equal segment_s ({self.segment_s:g}): arousal "
                "and valence share one output time axis")
        # derived values raise when they are not whole numbers of frames
        _ = (self.frames_per_hop, self.frames_per_segment)
        if self.frames_per_window > MAX_FRAMES_PER_WINDOW:
            raise ConfigError(f"window_s {self.window_s:g} is {self.frames_per_window} frames; "
                              f"at most {MAX_FRAMES_PER_WINDOW} are allowed")
        steps = self.start_s / self.hop_s
        if not math.isclose(steps, round(steps), rel_tol=0, abs_tol=1e-9):
            raise ConfigError(f"start_s ({self.start_s:g}) must be a multiple of hop_s "
                              f"({self.hop_s:g})")

    @property
    def frame_period_s(self) -> float:
        """Seconds between consecutive STFT frames."""
        return self.hop_length / self.sample_rate

    @property
    def frames_per_window(self) -> int:
        """STFT frames in one arousal window (72 by default)."""
        return _exact_ratio(self.window_s * self.sample_rate, self.hop_length, "window_s")

    @property
    def frames_per_hop(self) -> int:
        """STFT frames between consecutive window starts (24 by default)."""
        return _exact_ratio(self.hop_s * self.sample_rate, self.hop_length, "hop_s")

    @property
    def frames_per_segment(self) -> int:
        """STFT frames in one valence chroma segment (24 by default)."""
        return _exact_ratio(self.segment_s * self.sample_rate, self.hop_length, "segment_s")

    @property
    def context_s(self) -> float:
        """Audio a valence input needs before its own segment (2.5 s by default)."""
        return (self.context_segments - 1) * self.segment_s

    @property
    def min_duration_s(self) -> float:
        """Shortest usable audio for training: the start offset plus one window."""
        return self.start_s + max(self.window_s, self.segment_s)

    def cache_key(self) -> str:
        """Short hash of every field that changes the song-level features.

        Derived from the dataclass fields: all of them except those marked
        :data:`WINDOWING`, so a new feature field can never reuse stale cached features;
        and from :data:`FEATURE_CODE_VERSION`, so a change of the code cannot either.
        """
        record = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if not f.metadata.get("windowing")}
        record["feature_code_version"] = FEATURE_CODE_VERSION
        return short_digest(record, 12)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, with derived values for the record."""
        record = dataclasses.asdict(self)
        record["derived"] = {
            "frames_per_window": self.frames_per_window,
            "frames_per_hop": self.frames_per_hop,
            "frames_per_segment": self.frames_per_segment,
            "frame_period_s": self.frame_period_s,
        }
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> "FeatureParams":
        """Inverse of :meth:`to_dict` (derived values are recomputed, not read)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in names})


PROTOCOLS = ("split", "kfold", "mediaeval", "cross-corpus")


@dataclass(frozen=True)
class TrainParams:
    """Training and evaluation options shared by every target."""

    epochs: int = 100
    batch_size: int = 256
    patience: int = 10
    learning_rate: float = 1e-3
    seed: int = 2017
    test_fraction: float = 0.2
    val_fraction: float = 0.15
    protocol: str = field(default="split", metadata={
        "choices": PROTOCOLS,
        "help": "split: random song split; kfold: n_folds folds over songs; mediaeval: "
                "DEAM ids <= 2000 vs 2001-2058; cross-corpus: all songs of the training "
                "corpora vs every song of --test-corpus (what --test-corpus sets)"})
    n_folds: int = 5
    augment: bool = field(default=True, metadata={
        "help": "apply the target's training augmentation (valence: random transposition "
                "of whole chroma sequences; arousal has none)"})
    band_level: float = field(default=0.8, metadata={
        "help": "share of the true values the band around each predicted value promises "
                "to hold, calibrated on the validation songs"})

    def __post_init__(self) -> None:
        if not 0.5 <= self.band_level <= 0.99:
            raise ConfigError(f"band_level must lie between 0.5 and 0.99, got {self.band_level}")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 0:
            raise ConfigError("epochs and batch_size must be >= 1, patience >= 0")
        if not self.learning_rate > 0 or not math.isfinite(self.learning_rate):
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")
        for name in ("test_fraction", "val_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ConfigError(f"{name} must lie strictly between 0 and 1, got {value}")
        if self.test_fraction + self.val_fraction >= 1.0:
            raise ConfigError("test_fraction + val_fraction must leave songs for training")
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {self.protocol!r}")
        if self.n_folds < 2:
            raise ConfigError(f"n_folds must be >= 2, got {self.n_folds}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> "TrainParams":
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in names})


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type, title: str) -> None:
    """Add one ``--field-name`` option per dataclass field, defaulting to the field default.

    Boolean fields become ``--name`` / ``--no-name`` flags.
    """
    group = parser.add_argument_group(title)
    for f in dataclasses.fields(cls):
        option = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        kwargs: dict[str, Any] = {"default": f.default, "dest": f.name,
                                  "help": f"{help_text} (default: {f.default})".strip()}
        if isinstance(f.default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = type(f.default)
        if "choices" in f.metadata:
            kwargs["choices"] = f.metadata["choices"]
        group.add_argument(option, **kwargs)


def dataclass_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """Build ``cls`` from the options added by :func:`add_dataclass_arguments`."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: getattr(args, name) for name in names})

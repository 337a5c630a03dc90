"""The saved-model metadata (``<name>.meta.json``): one versioned dataclass.

Training writes it, prediction reads it; nothing else builds or parses the record.
Schema 1 (models saved before the schema had a number) is read and upgraded in memory.
"""

from __future__ import annotations

import dataclasses
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from emoreco.core.config import FeatureParams, TrainParams
from emoreco.core.errors import ConfigError, ModelError
from emoreco.model.bands import Band
from emoreco.model.scaler import Scaler

SCHEMA_VERSION = 2
RESAVE_HINT = "retrain it with MAIN_arousal.py / MAIN_valence.py --overwrite"


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape results."""
    versions = {"python": platform.python_version()}
    for package in ("numpy", "scipy", "soundfile", "av", "onnxruntime", "keras",
                    "tensorflow", "tensorflow-cpu", "tf2onnx"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass(frozen=True)
class ModelMeta:
    """Everything recorded beside a trained model.

    Attributes
    ----------
    target : str
        Name of the :class:`~emoreco.model.targets.TargetSpec` it predicts.
    name : str
        File name stem.
    input_shape : tuple of int
        (rows, columns) of one input.
    feature_params, train_params : FeatureParams, TrainParams
    scaler : Scaler
    augmentation : str or None
        The augmentation applied during training, if any.
    song_ids : dict of str to list of int
        ``train``, ``validation``, ``test`` songs of the saved model.
    history : dict of str to list of float
        Loss per epoch.
    metrics : dict
        Test metrics (also in ``<name>.metrics.json``).
    summary : str
        Keras summary table.
    versions : dict of str to str
    created_unix : int
    sha256 : dict of str to str
        Digests of the saved files (``architecture``, ``weights``, ``onnx``), filled when
        saving.
    data : dict
        Provenance of the training data (:func:`emoreco.data.provenance.corpus_provenance`):
        corpus folders, number of songs, SHA-256 of the annotations, whether it is the
        demo corpus and whether the annotations match the official archive.
    band : Band or None
        The calibrated band around its values (None for models saved before bands).
    """

    target: str
    name: str
    input_shape: tuple[int, ...]
    feature_params: FeatureParams
    train_params: TrainParams
    scaler: Scaler
    augmentation: str | None = None
    song_ids: dict[str, list[int]] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    versions: dict[str, str] = field(default_factory=library_versions)
    created_unix: int = 0
    sha256: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    band: Band | None = None
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The JSON record."""
        record = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        record["input_shape"] = list(self.input_shape)
        record["feature_params"] = self.feature_params.to_dict()
        record["train_params"] = self.train_params.to_dict()
        record["scaler"] = self.scaler.to_dict()
        record["band"] = self.band.to_dict() if self.band is not None else None
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any], source: Path) -> "ModelMeta":
        """Parse a record of schema 1 or 2.

        Raises
        ------
        ModelError
            Missing or malformed fields, or a schema newer than this code knows.
        """
        version = record.get("schema_version", 1)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ModelError(f"{source}: metadata schema {version!r} is newer than this "
                             f"emoreco understands ({SCHEMA_VERSION}); update emoreco")
        try:
            if not isinstance(record.get("data", {}), dict):
                raise TypeError("'data' is not a record")
            train_record = dict(record["train_params"])
            augmentation = record.get("augmentation")
            if version == 1:  # schema 1 kept the valence-only flag inside train_params
                applied = bool(train_record.pop("transpose_augment", False))
                augmentation = ("random transposition of whole chroma sequences"
                                if applied else None)
                train_record["augment"] = applied
            return cls(
                target=str(record["target"]),
                name=str(record.get("name", source.name.split(".")[0])),
                input_shape=tuple(int(v) for v in record["input_shape"]),
                feature_params=FeatureParams.from_dict(record["feature_params"]),
                train_params=TrainParams.from_dict(train_record),
                scaler=Scaler.from_dict(record["scaler"]),
                augmentation=augmentation,
                song_ids={k: [int(i) for i in v] for k, v in record.get("song_ids", {}).items()},
                history=dict(record.get("history", {})),
                metrics=dict(record.get("metrics", {})),
                summary=str(record.get("summary", "")),
                versions=dict(record.get("versions", {})),
                created_unix=int(record.get("created_unix", 0)),
                sha256=dict(record.get("sha256", {})),
                data=dict(record.get("data", {})),
                band=(Band.from_dict(record["band"]) if record.get("band") is not None
                      else None),
            )
        except ModelError as exc:
            raise ModelError(f"{source}: {exc}; {RESAVE_HINT}") from exc
        except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
            raise ModelError(f"{source}: incomplete or malformed metadata ({exc!r}); "
                             f"{RESAVE_HINT}") from exc

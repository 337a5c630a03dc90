"""Saving and loading models.

Files of model ``<name>``: ``<name>.json`` (Keras architecture) + ``<name>.weights.h5``
(weights), as the design asks; ``<name>.onnx``, the same network for ONNX Runtime (what
``MAIN.py`` runs, without TensorFlow); ``<name>.meta.json`` (:class:`ModelMeta`, written
last, with SHA-256 digests of the others, so a model whose files come from different
saves or were cut short is refused on load); ``<name>.metrics.json``. Every file is
written to a temporary name and renamed into place.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.core.atomic import atomic_path, write_json
from emoreco.core.digest import sha256_of
from emoreco.core.errors import ConfigError, ModelError
from emoreco.model.meta import RESAVE_HINT, ModelMeta


@dataclass(frozen=True)
class ModelFiles:
    """Paths of one saved model."""

    architecture: Path
    weights: Path
    onnx: Path
    meta: Path
    metrics: Path

    def existing(self) -> list[Path]:
        """The files of this model that exist."""
        return [p for p in (self.architecture, self.weights, self.onnx, self.meta, self.metrics)
                if p.exists()]

    @classmethod
    def at(cls, models_dir: str | Path, name: str) -> "ModelFiles":
        """Files of model ``name`` in ``models_dir``."""
        folder = Path(models_dir)
        return cls(folder / f"{name}.json", folder / f"{name}.weights.h5",
                   folder / f"{name}.onnx", folder / f"{name}.meta.json",
                   folder / f"{name}.metrics.json")


def check_free(models_dir: str | Path, name: str, overwrite: bool) -> None:
    """Refuse to replace an existing model ``name`` unless ``overwrite``.

    Raises
    ------
    ConfigError
        Listing the model's files that exist.
    """
    existing = ModelFiles.at(models_dir, name).existing()
    if existing and not overwrite:
        raise ConfigError(f"model '{name}' exists in {models_dir}/ "
                          f"({', '.join(p.name for p in existing)}); use --overwrite or --name")


def export_onnx(model: Any, path: Path) -> str:
    """Write ``model`` as ONNX (Keras' exporter, tf2onnx) atomically; return its SHA-256."""
    model(np.zeros((1, *model.input_shape[1:]), np.float32))  # the exporter wants a called model
    converter_log = logging.getLogger("tf2onnx")
    level = converter_log.level
    converter_log.setLevel(logging.ERROR)  # its optimiser reports every pass at INFO
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tf2onnx's deprecation chatter
            model.export(str(tmp), format="onnx", verbose=False)
            return sha256_of(tmp)
    finally:
        converter_log.setLevel(level)


def save_model(model: Any, meta: ModelMeta, models_dir: str | Path) -> ModelFiles:
    """Save architecture, weights, the ONNX export and metadata (with their digests)."""
    files = ModelFiles.at(models_dir, meta.name)
    files.architecture.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(files.architecture) as tmp:
        tmp.write_text(model.to_json())
        architecture_digest = sha256_of(tmp)
    with atomic_path(files.weights) as tmp:
        model.save_weights(tmp)
        weights_digest = sha256_of(tmp)
    digests = {"architecture": architecture_digest, "weights": weights_digest,
               "onnx": export_onnx(model, files.onnx)}
    write_json(files.meta, dataclasses.replace(meta, sha256=digests).to_dict(), indent=2)
    return files


def add_onnx_export(model: Any, files: ModelFiles, meta: ModelMeta) -> ModelMeta:
    """Export a model saved without ``.onnx`` and record its digest; return the new meta."""
    meta = dataclasses.replace(meta, sha256=meta.sha256 | {"onnx": export_onnx(model,
                                                                                files.onnx)})
    write_json(files.meta, meta.to_dict(), indent=2)
    return meta


def read_meta(models_dir: str | Path, name: str) -> tuple[ModelFiles, ModelMeta]:
    """The metadata of model ``name``, after checking every file against its digest.

    Raises
    ------
    ModelError
        Missing files, digests that do not match (partial or mixed saves), unreadable
        or incomplete metadata.
    """
    files = ModelFiles.at(models_dir, name)
    missing = [p.name for p in (files.architecture, files.weights, files.meta) if not p.is_file()]
    if missing:
        raise ModelError(f"{files.meta.parent}: model '{name}' is missing {', '.join(missing)}")
    try:
        record = json.loads(files.meta.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(
            f"{files.meta.parent}: model '{name}' has unreadable JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise ModelError(f"{files.meta}: not a metadata record; {RESAVE_HINT}")
    meta = ModelMeta.from_dict(record, files.meta)
    checked = [("architecture", files.architecture), ("weights", files.weights)]
    if "onnx" in meta.sha256:
        if not files.onnx.is_file():
            raise ModelError(f"{files.meta.parent}: model '{name}' is missing {files.onnx.name}")
        checked.append(("onnx", files.onnx))
    for label, path in checked:
        if meta.sha256.get(label) != sha256_of(path):
            raise ModelError(f"{path}: does not match {files.meta.name} (partial save, or files "
                             "from different trainings); retrain or restore the model")
    return files, meta


def _check_config_is_plain_keras(node: Any, source: Path) -> None:
    """Refuse Lambda layers and classes from outside Keras (code could run on load)."""
    if isinstance(node, dict):
        if node.get("class_name") == "Lambda":
            raise ModelError(f"{source}: Lambda layers are not loaded (they can run code)")
        module = node.get("module")
        if isinstance(module, str) and not (module == "keras" or module.startswith("keras.")):
            raise ModelError(f"{source}: refers to module {module!r}; only Keras classes load")
        for value in node.values():
            _check_config_is_plain_keras(value, source)
    elif isinstance(node, list):
        for value in node:
            _check_config_is_plain_keras(value, source)


def load_keras(files: ModelFiles, name: str) -> Any:
    """Build the Keras model from its (already verified) files, safely."""
    try:
        architecture = json.loads(files.architecture.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(
            f"{files.meta.parent}: model '{name}' has unreadable JSON ({exc})") from exc
    _check_config_is_plain_keras(architecture, files.architecture)

    import keras

    try:
        model = keras.models.model_from_json(json.dumps(architecture))
        model.load_weights(files.weights)
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise ModelError(f"{files.architecture.parent}: model '{name}' cannot be built "
                         f"from its files ({exc})") from exc
    return model


def load_model(models_dir: str | Path, name: str) -> tuple[Any, ModelMeta]:
    """Load a model saved by :func:`save_model` as Keras, safely.

    Returns
    -------
    model : keras.Model
    meta : ModelMeta

    Raises
    ------
    ModelError
        See :func:`read_meta`; also non-Keras classes in the architecture, unreadable
        weights.
    """
    files, meta = read_meta(models_dir, name)
    return load_keras(files, name), meta

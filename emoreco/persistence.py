"""Saving and loading models: ``<name>.json`` + ``<name>.weights.h5`` + ``<name>.meta.json``.

The metadata file is written last and holds SHA-256 digests of the other two, so a
model whose files come from different saves (or were cut short) is refused on load.
Every file is written to a temporary name and renamed into place, so a crash while
saving never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emoreco.atomic import atomic_path
from emoreco.errors import ModelError
from emoreco.model_meta import ModelMeta


@dataclass(frozen=True)
class ModelFiles:
    """Paths of one saved model."""

    architecture: Path
    weights: Path
    meta: Path
    metrics: Path

    def existing(self) -> list[Path]:
        """The files of this model that exist."""
        return [p for p in (self.architecture, self.weights, self.meta, self.metrics)
                if p.exists()]

    @classmethod
    def at(cls, models_dir: str | Path, name: str) -> "ModelFiles":
        """Files of model ``name`` in ``models_dir``."""
        folder = Path(models_dir)
        return cls(folder / f"{name}.json", folder / f"{name}.weights.h5",
                   folder / f"{name}.meta.json", folder / f"{name}.metrics.json")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2, default=float) + "\n")


def save_model(model: Any, meta: ModelMeta, models_dir: str | Path) -> ModelFiles:
    """Save architecture, weights and metadata (with digests of the first two)."""
    files = ModelFiles.at(models_dir, meta.name)
    files.architecture.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(files.architecture) as tmp:
        tmp.write_text(model.to_json())
        architecture_digest = sha256_of(tmp)
    with atomic_path(files.weights) as tmp:
        model.save_weights(tmp)
        weights_digest = sha256_of(tmp)
    digests = {"architecture": architecture_digest, "weights": weights_digest}
    write_json(files.meta, dataclasses.replace(meta, sha256=digests).to_dict())
    return files


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


def load_model(models_dir: str | Path, name: str) -> tuple[Any, ModelMeta]:
    """Load a model saved by :func:`save_model`, safely.

    Returns
    -------
    model : keras.Model
    meta : ModelMeta

    Raises
    ------
    ModelError
        Missing files, digests that do not match (partial or mixed saves), unreadable
        JSON or weights, non-Keras classes in the architecture.
    """
    files = ModelFiles.at(models_dir, name)
    missing = [p.name for p in (files.architecture, files.weights, files.meta) if not p.is_file()]
    if missing:
        raise ModelError(f"{files.meta.parent}: model '{name}' is missing {', '.join(missing)}")
    try:
        meta = json.loads(files.meta.read_text())
        architecture = json.loads(files.architecture.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(
            f"{files.meta.parent}: model '{name}' has unreadable JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise ModelError(f"{files.meta}: not a metadata record")
    digests = meta.get("sha256", {})
    for label, path in (("architecture", files.architecture), ("weights", files.weights)):
        if digests.get(label) != sha256_of(path):
            raise ModelError(f"{path}: does not match {files.meta.name} (partial save, or files "
                             "from different trainings); retrain or restore the model")
    _check_config_is_plain_keras(architecture, files.architecture)

    import keras

    try:
        model = keras.models.model_from_json(json.dumps(architecture))
        model.load_weights(files.weights)
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise ModelError(f"{files.architecture.parent}: model '{name}' cannot be built "
                         f"from its files ({exc})") from exc
    return model, ModelMeta.from_dict(meta, files.meta)

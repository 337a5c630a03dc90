"""Saving and loading models.

Files of model ``<name>``: ``<name>.json`` (Keras architecture) + ``<name>.weights.h5``
(weights), as the design asks; ``<name>.onnx``, the same network for ONNX Runtime (what
``MAIN.py`` runs, without TensorFlow); ``<name>.meta.json`` (:class:`ModelMeta`, with
SHA-256 digests of the network files, so a model whose files come from different saves
or were cut short is refused on load); ``<name>.metrics.json``; and, written last,
``<name>.sha256``, the digest of every other file in ``sha256sum`` format (``sha256sum -c
arousal.sha256`` checks a model by hand), so that the meta file is covered too and a
model can be verified whole. Every file is written to a temporary name and renamed
into place.

A models folder may come from someone else: sizes are bounded before a file is read,
and the parameters the meta file supplies are bounded
(:mod:`emoreco.core.limits`) before any work.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.core.atomic import atomic_path, write_json
from emoreco.core.digest import sha256_of
from emoreco.core.errors import ConfigError, ModelError
from emoreco.core.jsonfile import UnreadableJSON, read_json
from emoreco.core.limits import (ARCHITECTURE_MAX_BYTES, ARCHITECTURE_MAX_LAYERS,
                                 MODEL_META_MAX_BYTES, ONNX_MAX_BYTES, WEIGHTS_MAX_BYTES)
from emoreco.model.keras_import import import_keras
from emoreco.model.meta import RESAVE_HINT, ModelMeta


@dataclass(frozen=True)
class ModelFiles:
    """Paths of one saved model."""

    architecture: Path
    weights: Path
    onnx: Path
    meta: Path
    metrics: Path
    card: Path
    digests: Path

    def all(self) -> tuple[Path, ...]:
        """Every file a saved model may have, the digest list last."""
        return (self.architecture, self.weights, self.onnx, self.meta, self.metrics,
                self.card, self.digests)

    def existing(self) -> list[Path]:
        """The files of this model that exist."""
        return [p for p in self.all() if p.exists()]

    @classmethod
    def at(cls, models_dir: str | Path, name: str) -> "ModelFiles":
        """Files of model ``name`` in ``models_dir``."""
        folder = Path(models_dir)
        return cls(*(folder / f"{name}{suffix}" for suffix in MODEL_SUFFIXES))


# The files of model <name>, in the order of ModelFiles' fields
MODEL_SUFFIXES = (".json", ".weights.h5", ".onnx", ".meta.json", ".metrics.json",
                  ".card.md", ".sha256")
MAX_FILE_BYTES = {".json": ARCHITECTURE_MAX_BYTES, ".weights.h5": WEIGHTS_MAX_BYTES,
                  ".onnx": ONNX_MAX_BYTES, ".meta.json": MODEL_META_MAX_BYTES,
                  ".metrics.json": MODEL_META_MAX_BYTES, ".card.md": 1 << 20,
                  ".sha256": 4096}
DIGEST_LINE = re.compile(r"([0-9a-f]{64})  (\S+)")


def write_digests(files: ModelFiles) -> str:
    """Write ``<name>.sha256`` (``sha256sum`` format) for every other file of the model
    that exists; return its own SHA-256, the model's identity."""
    lines = "".join(f"{sha256_of(path)}  {path.name}\n" for path in files.all()[:-1]
                    if path.is_file())
    with atomic_path(files.digests) as tmp:
        tmp.write_text(lines, encoding="utf-8")
        return sha256_of(tmp)


def read_digests(files: ModelFiles) -> dict[str, str] | None:
    """File name -> SHA-256 from ``<name>.sha256``, None when the model has none (saved
    before the list existed).

    Raises
    ------
    ModelError
        A list that is too large, not in ``sha256sum`` format, or names a file that is
        not one of this model's.
    """
    if not files.digests.is_file():
        return None
    names = {path.name for path in files.all()[:-1]}
    if files.digests.stat().st_size > MAX_FILE_BYTES[".sha256"]:
        raise ModelError(f"{files.digests}: too large for a digest list")
    digests = {}
    for line in files.digests.read_text(encoding="utf-8", errors="replace").splitlines():
        match = DIGEST_LINE.fullmatch(line)
        if match is None or match.group(2) not in names:
            raise ModelError(f"{files.digests}: not a list of this model's files and their "
                             f"SHA-256 ({line[:60]!r})")
        digests[match.group(2)] = match.group(1)
    return digests


def check_sizes(files: ModelFiles) -> None:
    """Refuse a file of the model larger than its bound (:mod:`emoreco.core.limits`),
    before anything reads it."""
    for path, suffix in zip(files.all(), MODEL_SUFFIXES):
        if path.is_file() and path.stat().st_size > MAX_FILE_BYTES[suffix]:
            raise ModelError(f"{path}: {path.stat().st_size:,} bytes, more than the "
                             f"{MAX_FILE_BYTES[suffix]:,} a model file may have")


def read_card(models_dir: str | Path, name: str) -> str | None:
    """Model ``name``'s card (Markdown), None when it has none (saved before cards, or
    too large to be one)."""
    path = ModelFiles.at(models_dir, name).card
    try:
        if path.stat().st_size > MAX_FILE_BYTES[".card.md"]:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


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
                          f"({', '.join(p.name for p in existing)}); use --overwrite or --name "
                          "(in Python: overwrite=True or name=...)")


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


def save_model(model: Any, meta: ModelMeta, models_dir: str | Path,
               card: str | None = None) -> ModelFiles:
    """Save architecture, weights, the ONNX export, the metadata (with their digests),
    the metrics, the model card (if any) and, last, the digest list of them all."""
    files = ModelFiles.at(models_dir, meta.name)
    files.architecture.parent.mkdir(parents=True, exist_ok=True)
    files.digests.unlink(missing_ok=True)  # a half-replaced model has no valid list
    with atomic_path(files.architecture) as tmp:
        tmp.write_text(model.to_json())
        architecture_digest = sha256_of(tmp)
    with atomic_path(files.weights) as tmp:
        model.save_weights(tmp)
        weights_digest = sha256_of(tmp)
    digests = {"architecture": architecture_digest, "weights": weights_digest,
               "onnx": export_onnx(model, files.onnx)}
    write_json(files.meta, dataclasses.replace(meta, sha256=digests).to_dict(), indent=2)
    write_json(files.metrics, meta.metrics)
    if card is not None:
        with atomic_path(files.card) as tmp:
            tmp.write_text(card, encoding="utf-8")
    else:
        files.card.unlink(missing_ok=True)
    write_digests(files)
    return files


def add_onnx_export(model: Any, files: ModelFiles, meta: ModelMeta) -> ModelMeta:
    """Export a model saved without ``.onnx`` and record its digest; return the new meta."""
    meta = dataclasses.replace(meta, sha256=meta.sha256 | {"onnx": export_onnx(model,
                                                                                files.onnx)})
    write_json(files.meta, meta.to_dict(), indent=2)
    if files.digests.is_file():
        write_digests(files)
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
    check_sizes(files)
    listed = read_digests(files)
    if listed is not None:
        for path in files.all()[:-1]:
            if path.name in listed and (not path.is_file()
                                        or sha256_of(path) != listed[path.name]):
                raise ModelError(f"{path}: does not match {files.digests.name} (edited, "
                                 "damaged or missing since the model was saved); retrain "
                                 "or restore the model")
        if files.meta.name not in listed:
            raise ModelError(f"{files.digests}: does not list {files.meta.name}")
    try:
        record = read_json(files.meta, MODEL_META_MAX_BYTES)
    except UnreadableJSON as exc:
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
        architecture = read_json(files.architecture, ARCHITECTURE_MAX_BYTES)
    except UnreadableJSON as exc:
        raise ModelError(
            f"{files.meta.parent}: model '{name}' has unreadable JSON ({exc})") from exc
    _check_config_is_plain_keras(architecture, files.architecture)
    layers = architecture.get("config", {}).get("layers", []) if isinstance(
        architecture, dict) and isinstance(architecture.get("config"), dict) else []
    if not isinstance(layers, list) or len(layers) > ARCHITECTURE_MAX_LAYERS:
        raise ModelError(f"{files.architecture}: more than {ARCHITECTURE_MAX_LAYERS} layers")

    keras = import_keras()
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

"""Models you can share: one zip file, a manifest of SHA-256s, checked before installing.

A bundle (``emoreco models pack``) is a zip of flat entries: ``manifest.json`` and every
file of its models (architecture, weights, ONNX, meta, metrics, card, digest list). The
manifest names the format, the models (name -> target) and every other entry with its
size and SHA-256, the meta included. :func:`install_bundle` trusts nothing in it: the
bundle's own digest when the user gives one, entry names (flat, no ``..``, no links, no
folders), entry sizes (each file's bound from :mod:`emoreco.core.limits`), inflation
ratio, the manifest's shape, that the entries are exactly the manifest's files, every
file's digest, and then each model as prediction reads it (parameter bounds, digests,
shapes). It unpacks into a hidden folder beside the destination and renames it into
place only when all of this holds: a bad bundle installs nothing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import shutil
import zipfile
import zlib
from pathlib import Path
from typing import Any

from emoreco.core.atomic import atomic_path, fsync_path
from emoreco.core.digest import sha256_of
from emoreco.core.errors import ConfigError, ModelError
from emoreco.core.jsonfile import UnreadableJSON, parse_json
from emoreco.model.files import MAX_FILE_BYTES, MODEL_SUFFIXES, ModelFiles
from emoreco.model.meta import ModelMeta
from emoreco.model.predictor import read_model_meta

BUNDLE_FORMAT = "emoreco-models"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_MAX_BYTES = 1 << 20
MAX_ENTRIES = 64
MAX_RATIO = 200  # deflate reaches ~1000x only on degenerate data: a zip bomb
ENTRY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SHA256 = re.compile(r"[0-9a-f]{64}")
CHUNK = 1 << 20


class BundleError(ModelError):
    """A bundle that cannot be installed (one line; nothing installed)."""


def models_in(folder: Path) -> dict[str, ModelMeta]:
    """Model name -> metadata of every model in ``folder`` (checked as prediction reads
    them).

    Raises
    ------
    ModelError
        A model that does not read back, or no model at all.
    """
    from emoreco.core.jsonfile import read_json

    found = {}
    for meta_path in sorted(folder.glob("*.meta.json")):
        name = meta_path.name.removesuffix(".meta.json")
        try:
            target = read_json(meta_path, MAX_FILE_BYTES[".meta.json"]).get("target")
        except (UnreadableJSON, AttributeError):
            raise ModelError(f"{meta_path}: not a model's metadata") from None
        found[name] = read_model_meta(folder, name, str(target))
    if not found:
        raise ModelError(f"{folder}: no trained model (no <name>.meta.json)")
    return found


def _bound(entry: str) -> int:
    """The largest size an entry of a bundle may have (by its model file suffix)."""
    if entry == MANIFEST:
        return MANIFEST_MAX_BYTES
    for suffix in sorted(MODEL_SUFFIXES, key=len, reverse=True):
        if entry.endswith(suffix):
            return MAX_FILE_BYTES[suffix]
    return 0


def pack_models(models_dir: str | Path, out: str | Path,
                names: list[str] | None = None) -> str:
    """Write the models of ``models_dir`` (all, or ``names``) as bundle ``out``; return
    the bundle's SHA-256 (what a recipient passes to ``install --sha256``).

    Raises
    ------
    ModelError
        A model that does not read back (its digests, its parameters).
    """
    folder = Path(models_dir)
    every = {name: meta.target for name, meta in models_in(folder).items()}
    chosen = every if not names else {name: every[name] for name in names if name in every}
    missing = sorted(set(names or ()) - set(every))
    if missing:
        raise ModelError(f"{folder}: no model named {', '.join(missing)}")
    files = [path for name in chosen for path in ModelFiles.at(folder, name).existing()]
    manifest = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "models": chosen,
                "files": {path.name: {"size": path.stat().st_size, "sha256": sha256_of(path)}
                          for path in files}}
    import json

    with atomic_path(out) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
            for path in files:
                archive.write(path, path.name)
        return sha256_of(tmp)


def _check_manifest(record: Any, source: Path) -> dict[str, Any]:
    """The manifest's values, after checking their names, types and sizes."""
    def bad(why: str) -> BundleError:
        return BundleError(f"{source}: {MANIFEST} {why}; nothing installed")

    if not isinstance(record, dict) or record.get("format") != BUNDLE_FORMAT:
        raise bad(f"is not an emoreco model bundle's (format {BUNDLE_FORMAT!r})")
    if record.get("version") != BUNDLE_VERSION:
        raise bad(f"has version {record.get('version')!r}; this emoreco reads version "
                  f"{BUNDLE_VERSION}")
    models, files = record.get("models"), record.get("files")
    if (not isinstance(models, dict) or not models or len(models) > MAX_ENTRIES
            or not all(isinstance(k, str) and MODEL_NAME.fullmatch(k) and isinstance(v, str)
                       for k, v in models.items())):
        raise bad("lists no models, or models with unusable names")
    if not isinstance(files, dict) or len(files) > MAX_ENTRIES:
        raise bad("lists no files")
    for name, entry in files.items():
        if (not isinstance(name, str) or not ENTRY_NAME.fullmatch(name)
                or not isinstance(entry, dict)
                or not isinstance(entry.get("size"), int) or isinstance(entry["size"], bool)
                or not 0 <= entry["size"] <= _bound(name)
                or not isinstance(entry.get("sha256"), str)
                or not SHA256.fullmatch(entry["sha256"])):
            raise bad(f"has an unusable entry {str(name)[:80]!r}")
    return record


def _check_entries(archive: zipfile.ZipFile, source: Path) -> dict[str, zipfile.ZipInfo]:
    """The bundle's entries by name, after checking names, kinds, sizes and ratios."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES + 1:
        raise BundleError(f"{source}: {len(infos)} entries, more than a bundle has; "
                          "nothing installed")
    entries = {}
    for info in infos:
        kind = (info.external_attr >> 16) & 0o170000
        if not ENTRY_NAME.fullmatch(info.filename) or info.is_dir() or kind == 0o120000:
            raise BundleError(f"{source}: entry {info.filename[:80]!r} is not a plain file "
                              "at the top of the bundle (a folder, a link or a path); "
                              "nothing installed")
        if info.filename in entries:
            raise BundleError(f"{source}: entry {info.filename!r} twice; nothing installed")
        if info.file_size > _bound(info.filename):
            raise BundleError(f"{source}: entry {info.filename!r} is {info.file_size:,} "
                              f"bytes, more than such a file may have; nothing installed")
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > CHUNK:
            raise BundleError(f"{source}: entry {info.filename!r} inflates "
                              f"{info.compress_size:,} bytes to {info.file_size:,} (a zip "
                              "bomb?); nothing installed")
        entries[info.filename] = info
    if MANIFEST not in entries:
        raise BundleError(f"{source}: no {MANIFEST}: not an emoreco model bundle; nothing "
                          "installed")
    return entries


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
             size: int) -> str:
    """Write one entry to ``target``, never more than ``size`` bytes; its SHA-256."""
    digest, written = hashlib.sha256(), 0
    with archive.open(info) as source, open(target, "xb") as sink:
        while block := source.read(CHUNK):
            written += len(block)
            if written > size:
                break
            digest.update(block)
            sink.write(block)
    return digest.hexdigest() if written == size else ""


def install_bundle(bundle: str | Path, models_root: str | Path, name: str,
                   sha256: str | None = None, force: bool = False) -> Path:
    """Install bundle file ``bundle`` as ``models_root/name``; return that folder.

    Raises
    ------
    ConfigError
        An unusable ``name`` or ``sha256``, or ``name`` installed already (without
        ``force``).
    BundleError
        Anything wrong with the bundle (see the module); nothing is installed.
    """
    bundle, root = Path(bundle), Path(models_root)
    if not MODEL_NAME.fullmatch(name):
        raise ConfigError(f"--name {name!r}: use letters, digits, '_' and '-' (at most 64)")
    if sha256 is not None and not SHA256.fullmatch(sha256.lower()):
        raise ConfigError(f"--sha256 {sha256!r}: not 64 hexadecimal digits")
    target = root / name
    if target.exists() and not force:
        raise ConfigError(f"models {name!r} are installed already ({target}); use --force "
                          "to replace them or --name for another name")
    if sha256 is not None and sha256_of(bundle) != sha256.lower():
        raise BundleError(f"{bundle}: its SHA-256 is {sha256_of(bundle)}, not the "
                          f"{sha256.lower()} given; nothing installed")
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{name}.installing-{secrets.token_hex(6)}"
    staging.mkdir()
    try:
        _unpack_checked(bundle, staging)
        if target.exists():
            old = root / f".{name}.replaced-{secrets.token_hex(6)}"
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old)
        else:
            staging.rename(target)
        fsync_path(root)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def _unpack_checked(bundle: Path, staging: Path) -> None:
    """Unpack ``bundle`` into ``staging`` checking everything (see the module)."""
    try:
        with zipfile.ZipFile(bundle) as archive:
            entries = _check_entries(archive, bundle)
            try:
                manifest = _check_manifest(
                    parse_json(archive.read(entries[MANIFEST])), bundle)
            except UnreadableJSON as exc:
                raise BundleError(f"{bundle}: {MANIFEST} is not JSON ({exc}); nothing "
                                  "installed") from None
            listed, present = set(manifest["files"]), set(entries) - {MANIFEST}
            if listed != present:
                missing, extra = sorted(listed - present), sorted(present - listed)
                raise BundleError(
                    f"{bundle}: the entries are not the manifest's files"
                    + (f" (missing: {', '.join(missing)})" if missing else "")
                    + (f" (not in the manifest: {', '.join(extra)})" if extra else "")
                    + "; nothing installed")
            for entry in sorted(present):
                expected = manifest["files"][entry]
                if _extract(archive, entries[entry], staging / entry,
                            expected["size"]) != expected["sha256"]:
                    raise BundleError(f"{bundle}: {entry} does not match the manifest's "
                                      "size and SHA-256 (changed after packing?); nothing "
                                      "installed")
            (staging / MANIFEST).write_bytes(archive.read(entries[MANIFEST]))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        raise BundleError(f"{bundle}: not a readable zip file ({exc}); nothing "
                          "installed") from None
    for model, target in manifest["models"].items():
        try:
            read_model_meta(staging, model, target)
        except ModelError as exc:
            raise BundleError(f"{bundle}: model {model!r} does not check out ({exc}); "
                              "nothing installed") from None


def verify_models(folder: str | Path) -> dict[str, str]:
    """Check an installed or trained models folder: every model reads back (digests,
    parameter bounds, shapes); where the folder has a ``manifest.json`` (installed from a
    bundle), its files are exactly the manifest's with their digests. Returns model name
    -> target.

    Raises
    ------
    ModelError
        The first problem found.
    """
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if manifest_path.is_file():
        from emoreco.core.jsonfile import read_json

        try:
            manifest = _check_manifest(read_json(manifest_path, MANIFEST_MAX_BYTES), folder)
        except UnreadableJSON as exc:
            raise ModelError(f"{manifest_path}: {exc}") from None
        present = {p.name for p in folder.iterdir()} - {MANIFEST}
        if present != set(manifest["files"]):
            raise ModelError(f"{folder}: its files are not the manifest's (missing: "
                             f"{sorted(set(manifest['files']) - present)}, not in it: "
                             f"{sorted(present - set(manifest['files']))})")
        for entry, expected in manifest["files"].items():
            if sha256_of(folder / entry) != expected["sha256"]:
                raise ModelError(f"{folder / entry}: changed since it was installed (its "
                                 "SHA-256 is not the manifest's)")
    return {name: meta.target for name, meta in models_in(folder).items()}

"""Where models are found, and the user's installed models (``emoreco models``).

Installed models live in ``$XDG_DATA_HOME/emoreco/models/<name>/`` (else
``~/.local/share/emoreco/models/<name>/``). Prediction looks for its models, in order:
``--models-dir``; the ``EMORECO_MODELS`` environment variable; ``models/`` in the current
folder when it holds a trained model (a checkout after ``make demo``); the installed
models named ``default``. So a ``pip install`` user runs ``emoreco models install
bundle.zip --sha256 HEX`` once and then ``emoreco predict song.mp3``.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from emoreco.core.errors import ConfigError, EmorecoError
from emoreco.core.limits import ONNX_MAX_BYTES, WEIGHTS_MAX_BYTES
from emoreco.data.provenance import describe
from emoreco.model.bundles import (BundleError, install_bundle, models_in, pack_models,
                                   verify_models)

DEFAULT_NAME = "default"
PROJECT_MODELS = Path("models")
DOWNLOAD_MAX_BYTES = 4 * (WEIGHTS_MAX_BYTES + ONNX_MAX_BYTES)  # two models, with margin
DOWNLOAD_TIMEOUT_S = 60.0

__all__ = ["pack_models", "verify_models", "install", "installed_models", "models_root",
           "default_models_dir", "InstalledModels"]


def models_root() -> Path:
    """The folder of installed models (XDG base directory specification)."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    data = Path(base) if Path(base).is_absolute() else Path.home() / ".local" / "share"
    return data / "emoreco" / "models"


def default_models_dir(explicit: str | Path | None = None) -> Path:
    """The models folder prediction uses (see the module for the order)."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get("EMORECO_MODELS"):
        return Path(os.environ["EMORECO_MODELS"])
    if any(PROJECT_MODELS.glob("*.meta.json")):
        return PROJECT_MODELS
    installed = models_root() / DEFAULT_NAME
    return installed if installed.is_dir() else PROJECT_MODELS


def _download(url: str, folder: Path) -> Path:
    """Fetch ``url`` (http or https) into ``folder``, at most :data:`DOWNLOAD_MAX_BYTES`."""
    if not url.lower().startswith(("http://", "https://")):
        raise ConfigError(f"{url}: only http:// and https:// URLs are installed from")
    target = folder / "bundle.zip"
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, \
                open(target, "wb") as sink:
            received = 0
            while block := response.read(1 << 20):
                received += len(block)
                if received > DOWNLOAD_MAX_BYTES:
                    raise BundleError(f"{url}: more than {DOWNLOAD_MAX_BYTES >> 20} MB, more "
                                      "than a model bundle has; nothing installed")
                sink.write(block)
    except urllib.error.HTTPError as exc:
        raise BundleError(f"{url}: HTTP {exc.code} {exc.reason}; nothing installed") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BundleError(f"{url}: cannot be downloaded ({reason}); nothing "
                          "installed") from None
    return target


def install(source: str, name: str = DEFAULT_NAME, sha256: str | None = None,
            force: bool = False, root: Path | None = None) -> Path:
    """Install a bundle file or URL as installed models ``name``; return their folder."""
    root = models_root() if root is None else root
    if "://" in source:
        with tempfile.TemporaryDirectory(prefix="emoreco-bundle-") as work:
            return install_bundle(_download(source, Path(work)), root, name, sha256, force)
    if not Path(source).is_file():
        raise ConfigError(f"{source}: no such bundle file")
    return install_bundle(source, root, name, sha256, force)


@dataclass(frozen=True)
class InstalledModels:
    """One folder of installed models, as ``emoreco models list`` shows it."""

    name: str
    folder: Path
    targets: dict[str, str]  # model name -> target
    provenance: str
    scores: str = ""  # the card's headline: each model's test RMSE against the baseline
    problem: str | None = None


def _score(name: str, metrics: dict) -> str:
    """``name: test RMSE r (baseline b)`` from a model's metrics (k-fold: the mean)."""
    def value(key: str) -> float | None:
        item = metrics.get(key)
        item = item.get("mean") if isinstance(item, dict) else item
        return float(item) if isinstance(item, (int, float)) else None

    rmse, baseline = value("rmse"), value("baseline_rmse")
    if rmse is None:
        return f"{name}: no test metrics"
    return f"{name}: test RMSE {rmse:.3f}" + (f" (mean baseline {baseline:.3f})"
                                              if baseline is not None else "")


def installed_models(root: Path | None = None) -> list[InstalledModels]:
    """Every installed models folder, checked (a broken one says why)."""
    root = models_root() if root is None else root
    found = []
    folders = sorted(p for p in root.glob("*") if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        try:
            metas = models_in(folder)
            targets = {name: meta.target for name, meta in metas.items()}
            scores = "; ".join(_score(name, meta.metrics) for name, meta in metas.items())
            first = next(iter(metas.values()))
            found.append(InstalledModels(folder.name, folder, targets, describe(first.data),
                                         scores))
        except EmorecoError as exc:
            found.append(InstalledModels(folder.name, folder, {}, "", problem=str(exc)))
    return found

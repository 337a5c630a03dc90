"""The package's layers: a module imports only from its own layer or the ones below."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "emoreco"
LAYERS = {
    1: {"errors", "atomic", "digest", "config", "filterbanks", "features", "windows", "scaler", "curves",
        "metrics", "models", "targets", "scoring"},
    2: {"audio", "annotations", "deam_layout", "corpus", "feature_cache", "extraction",
        "output_set", "provenance", "fetch", "engine", "result_parts",
        "examples", "split", "model_meta", "persistence", "runtime", "training", "predict",
        "plots", "report", "demo"},
    3: {"cli"},
}
LAYER_OF = {name: layer for layer, names in LAYERS.items() for name in names}
# siblings that must not know each other even within a layer
FORBIDDEN = {"predict": {"training", "report", "plots"}, "training": {"plots", "report"},
             "report": {"training", "predict"}}


def _emoreco_imports(path: Path) -> set[str]:
    """Top-level emoreco modules imported anywhere in ``path`` (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("emoreco"):
            parts = node.module.split(".")
            found.add(parts[1] if len(parts) > 1 else node.names[0].name)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("emoreco."))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))


def test_every_module_has_a_layer():
    assert {p.stem for p in _modules()} | {"cli"} == set(LAYER_OF)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.stem)
def test_no_module_imports_a_higher_layer_or_a_forbidden_sibling(path):
    imported = _emoreco_imports(path)
    higher = {m for m in imported if LAYER_OF[m] > LAYER_OF[path.stem]}
    assert not higher, f"{path.stem} (layer {LAYER_OF[path.stem]}) imports {higher}"
    assert not imported & FORBIDDEN.get(path.stem, set())

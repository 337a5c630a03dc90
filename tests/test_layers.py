"""The package's layers: a module imports only from its own package or the layers below,
and sibling packages of one layer do not know each other."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "emoreco"
LAYER = {"core": 1, "audio": 2, "data": 3, "model": 3, "outputs": 4, "runs": 5,
         "training": 5, "cli": 6, "__init__": 6, "__main__": 6}
# packages of one layer that must not import each other
SIBLINGS = ({"data", "model"}, {"runs", "training"})


def _package_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_packages(path: Path) -> set[str]:
    """emoreco packages imported anywhere in ``path`` (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("emoreco"):
            names = [node.module] if node.module != "emoreco" else [
                f"emoreco.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("emoreco.")]
        found.update(name.split(".")[1] for name in names if name.count(".") >= 1)
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def test_every_module_lives_in_a_package_with_a_layer():
    assert {_package_of(p) for p in _modules()} == set(LAYER)


def test_every_package_says_what_lives_there_and_what_it_may_import():
    for package in LAYER:
        init = PACKAGE / package / "__init__.py"
        if init.is_file():
            docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
            assert "Layer" in docstring and "mport" in docstring, package


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer_or_a_sibling(path):
    own = _package_of(path)
    imported = _imported_packages(path) - {own}
    imported.discard("__version__")
    unknown = imported - set(LAYER)
    assert not unknown, f"{path} imports {unknown}"
    higher = {p for p in imported if LAYER[p] > LAYER[own]
              or (LAYER[p] == LAYER[own] and own not in ("cli", "__init__", "__main__"))}
    assert not higher, f"{own} (layer {LAYER[own]}) imports {higher}"
    for pair in SIBLINGS:
        if own in pair:
            assert not imported & (pair - {own}), f"{own} imports its sibling"


# the data modules that read annotation files with pandas: only training imports them
ANNOTATION_READERS = ("annotations.py", "long_annotations.py", "pmemo.py", "user_csv.py")


def test_prediction_modules_import_no_training_library():
    """What the core install runs never imports TensorFlow, Keras, pandas or librosa at
    module level (the training extra brings them)."""
    heavy = {"tensorflow", "keras", "pandas", "librosa", "sklearn", "tf2onnx", "h5py"}
    for path in _modules():
        if _package_of(path) in ("training",) or path.name in ANNOTATION_READERS:
            continue
        tree = ast.parse(path.read_text())
        top = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        names = {alias.name.split(".")[0] for node in top if isinstance(node, ast.Import)
                 for alias in node.names}
        names |= {node.module.split(".")[0] for node in top
                  if isinstance(node, ast.ImportFrom) and node.module}
        assert not names & heavy, f"{path} imports {names & heavy} at module level"

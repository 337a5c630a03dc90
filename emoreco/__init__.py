"""emoreco: dynamic music emotion recognition (valence and arousal every 0.5 s) on DEAM.

A library as well as scripts. The public API (imported on first use, so ``import
emoreco`` stays light)::

    import emoreco

    models = emoreco.Predictor("models")                 # the trained models, checked
    curve = models.predict_file("song.mp3")              # an EmotionCurve
    curve = models.predict_samples(samples, 44100)       # audio already in memory
    frame = curve.to_frame()                             # pandas: song, time_s, arousal, ...
    curves = emoreco.predict(["a.mp3", "album/"])        # many files, in this process
    result = emoreco.run_catalog(["library/"], out_dir="results", jobs=2)  # as MAIN.py
    outcome = emoreco.train("arousal", "~/DEAM")         # as MAIN_arousal.py
    emoreco.fetch_deam("~/DEAM")                         # the official archives, verified

Packages, by layer (a package imports only its own layer's modules or lower ones;
``tests/test_layers.py`` checks it): 1 :mod:`emoreco.core`; 2 :mod:`emoreco.audio`;
3 :mod:`emoreco.data` and :mod:`emoreco.model` (which do not know each other);
4 :mod:`emoreco.outputs`; 5 :mod:`emoreco.runs` and :mod:`emoreco.training` (which do not
know each other); 6 :mod:`emoreco.cli` (argument parsing only) and this API.

Importing the package imports neither TensorFlow nor librosa; prediction never does.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__version__ = "0.3.0"

_EXPORTS = {
    "Predictor": "emoreco.model.predictor",
    "EmotionCurve": "emoreco.model.curves",
    "curves_frame": "emoreco.model.curves",
    "CatalogOptions": "emoreco.runs.catalog",
    "CatalogRun": "emoreco.runs.catalog",
    "CatalogResult": "emoreco.runs.catalog",
    "run_catalog": "emoreco.runs.catalog",
    "find_audio_files": "emoreco.runs.inputs",
    "train": "emoreco.training.run",
    "make_deterministic": "emoreco.training.fit",
    "fetch_deam": "emoreco.data.fetch",
    "CorpusSource": "emoreco.data.sources",
    "FeatureParams": "emoreco.core.config",
    "TrainParams": "emoreco.core.config",
    "EmorecoError": "emoreco.core.errors",
    "TARGETS": "emoreco.model.targets",
}
__all__ = ["predict", "__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """The public names, imported when first used (PEP 562)."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'emoreco' has no attribute {name!r}")


def predict(inputs: Sequence[str | Path], models_dir: str | Path | None = None,
            start_s: float = 0.0, end_s: float | None = None, recursive: bool = False,
            glob: str | None = None) -> list[Any]:
    """The curves of every audio file in ``inputs`` (files and folders), in this process.

    Returns
    -------
    list of EmotionCurve
        In the order of the files; names as in ``MAIN.py``'s tables.

    Raises
    ------
    EmorecoError
        No audio files, no or broken models, or a file that cannot be predicted (use
        :func:`run_catalog` to go on past failed files).
    """
    from emoreco.model.predictor import Predictor
    from emoreco.runs.inputs import find_audio_files, unique_song_names
    from emoreco.runs.model_store import default_models_dir

    files = find_audio_files(inputs, recursive, glob)
    names = unique_song_names(files)
    predictor = Predictor(default_models_dir(models_dir))
    return [predictor.predict_file(path, start_s, end_s, names[path]) for path in files]

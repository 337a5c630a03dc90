"""Write the test metrics of trained models as a Markdown table (used by `make deam` and
`make corpora`).

    python scripts/metrics_table.py models/arousal models/valence > readme_files/deam_metrics.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from emoreco.core.errors import EmorecoError
from emoreco.model.files import read_meta

COLUMNS = (("rmse", "test RMSE"), ("baseline_rmse", "baseline RMSE"),
           ("pearson_per_song_mean", "per-song Pearson"), ("ccc", "CCC"), ("bias", "bias"),
           ("band_coverage", "band coverage"), ("band_width", "band width"),
           ("n_test_songs", "test songs"), ("epochs_run", "epochs"))


def corpora(data: dict) -> str:
    """``deam + pmemo -> pmemo, demo``: the training corpora, the test corpus, and
    whether they are generated (demo) corpora."""
    names = list(data.get("corpora") or {}) or [data.get("kind", "deam")]
    test = data.get("test_corpus")
    text = " + ".join(names) + (f" → {test.get('kind')}" if isinstance(test, dict) else "")
    demo = data.get("demo_corpus") or (isinstance(test, dict) and test.get("demo_corpus"))
    songs = "demo corpora" if demo else f"{data.get('n_songs', '?')} songs"
    return f"{text}, {songs}"


def row(stem: Path) -> str:
    """One table row from the model's checked metadata (:class:`ModelMeta`)."""
    _, meta = read_meta(stem.parent, stem.name)
    metrics, data = meta.metrics, meta.data
    cells = []
    for key, _ in COLUMNS:
        value = metrics.get(key, "")
        std = metrics.get(f"{key}_std")
        cells.append(f"{value:.3f}" + (f" ± {std:.3f}" if std is not None else "")
                     if isinstance(value, float) else str(value))
    return (f"| {metrics['target']} ({metrics['protocol']}, {corpora(data)}) | "
            + " | ".join(cells) + " |")


def main(stems: list[str]) -> int:
    if not stems:
        print(__doc__, file=sys.stderr)
        return 2
    print("| model | " + " | ".join(title for _, title in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    try:
        rows = [row(Path(stem)) for stem in stems]
    except EmorecoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

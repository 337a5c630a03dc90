"""Write the test metrics of trained models as a Markdown table (used by `make deam`).

    python scripts/metrics_table.py models/arousal models/valence > readme_files/deam_metrics.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from emoreco.core.errors import EmorecoError
from emoreco.model.files import read_meta

COLUMNS = (("rmse", "test RMSE"), ("baseline_rmse", "baseline RMSE"),
           ("pearson_per_song_mean", "per-song Pearson"), ("ccc", "CCC"),
           ("n_test_songs", "test songs"), ("epochs_run", "epochs"))


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
    source = "demo corpus" if data.get("demo_corpus") else f"{data.get('n_songs', '?')} songs"
    return f"| {metrics['target']} ({metrics['protocol']}, {source}) | " + " | ".join(cells) + " |"


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

"""Copy plotly.js from an installed ``plotly`` Python package into emoreco/assets/.

The report inlines plotly.js; emoreco ships the one file instead of depending on the
64 MB ``plotly`` package. To move to another plotly.js release:

    pip install plotly==X.Y.Z && python scripts/update_plotly_js.py
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "emoreco" / "assets" / "plotly.min.js"


def main() -> int:
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        print("error: install the plotly package first (pip install plotly)", file=sys.stderr)
        return 2
    source = Path(spec.submodule_search_locations[0]) / "package_data" / "plotly.min.js"
    shutil.copyfile(source, TARGET)
    print(f"{TARGET}: {source.read_text(encoding='utf-8').splitlines()[1].strip('* ')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

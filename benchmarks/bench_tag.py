"""What tagging a folder costs, against MAIN.py on the same folder, in the same run.

Copies ``--songs`` MP3 songs of the demo corpus (``data/demo_deam/MEMD_audio``, 45-s
clips made by ``make demo``) into a fresh folder, then times, as the user runs them:
``MAIN.py FOLDER --out-dir ... --quiet`` (tables, pictures, report) and ``emoreco tag
FOLDER --allow-demo --quiet`` (analysis and tags written safely, one copy per file), each
``--repeats`` times on fresh copies, and a second ``emoreco tag`` on the tagged folder
(skipped files: tags read only). Prints medians and the ratio tag / MAIN.py.

    python benchmarks/bench_tag.py [--songs 40] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, require_trained_models


def timed(command: list[str]) -> float:
    """Seconds ``command`` took; exits with its output if it failed."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--songs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    require_trained_models()
    audio = sorted((ROOT / "data" / "demo_deam" / "MEMD_audio").glob("*.mp3"))[:args.songs]
    if len(audio) < args.songs:
        sys.exit("error: not enough demo songs in data/demo_deam: run `make demo` first")
    python = sys.executable
    main_s, tag_s, skip_s = [], [], []
    with tempfile.TemporaryDirectory() as work:
        for repeat in range(args.repeats):
            folder = Path(work) / f"songs{repeat}"
            folder.mkdir()
            for path in audio:
                shutil.copy2(path, folder / path.name)
            main_s.append(timed([python, "MAIN.py", str(folder), "--quiet", "--overwrite",
                                 "--out-dir", str(Path(work) / f"results{repeat}")]))
            tag_s.append(timed([python, "-m", "emoreco", "tag", str(folder), "--quiet",
                                "--allow-demo"]))
            skip_s.append(timed([python, "-m", "emoreco", "tag", str(folder), "--quiet",
                                 "--allow-demo"]))
    main_median, tag_median = statistics.median(main_s), statistics.median(tag_s)
    print(f"{args.songs} MP3 songs of 45 s, median of {args.repeats}, whole commands:")
    print(f"  MAIN.py (tables, pictures, report)    {main_median:6.2f} s")
    print(f"  emoreco tag (analysis, tags written)  {tag_median:6.2f} s  "
          f"= {tag_median / main_median:.2f} x MAIN.py")
    print(f"  emoreco tag again (all skipped)       {statistics.median(skip_s):6.2f} s")


if __name__ == "__main__":
    main()

"""Regenerate tests/golden/features.json: reference feature values of a fixed test clip.

Run after a deliberate change of the feature code or of librosa, check the printed
differences, and commit the new file with the reason:

    python scripts/regenerate_golden.py

The clip is 16.5 s of A4 (amplitude 0.5) plus E5 (0.25) at 12 kHz (tests/conftest.py's
``sine_clip``). Recorded: the mean over frames 10..-10 (away from the zero-padded edges)
of the first 5 MFCCs and of the 12 chroma bins.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "features.json"
PARTIALS = ((440.0, 0.5), (659.255, 0.25))
SECONDS = 16.5


def clip(sample_rate: int = 12000) -> np.ndarray:
    """The reference clip, float32, shape (198000,)."""
    t = np.arange(int(SECONDS * sample_rate)) / sample_rate
    return sum(a * np.sin(2 * np.pi * f * t) for f, a in PARTIALS).astype(np.float32)


def reference_values() -> dict[str, list[float]]:
    """The recorded values, computed with the package's feature code."""
    from emoreco.core.config import FeatureParams
    from emoreco.audio.features import compute_song_features

    features = compute_song_features(clip(), FeatureParams())
    mfcc = features.mfcc[:5, 10:-10].mean(axis=1, dtype=np.float64)
    chroma = features.chroma[:, 10:-10].mean(axis=1, dtype=np.float64)
    return {"mfcc_mean_0_5": np.round(mfcc, 4).tolist(),
            "chroma_mean": np.round(chroma, 4).tolist()}


def main() -> int:
    values = reference_values()
    if GOLDEN.is_file():
        old = json.loads(GOLDEN.read_text())
        for key, new in values.items():
            change = np.max(np.abs(np.subtract(new, old.get(key, new))))
            print(f"{key}: largest change {change:.4g}")
    record = {"about": "Reference feature values of a 16.5-s A4 + E5 clip; regenerate with "
                       "scripts/regenerate_golden.py",
              "tolerance": {"mfcc_mean_0_5": 0.05, "chroma_mean": 0.002},
              "tolerance_reason": "MFCCs are in dB: 0.05 dB is far below any audible or "
                                  "model-relevant change but above float32 rounding across "
                                  "BLAS/FFT builds; chroma is normalised to [0, 1], so 0.002 "
                                  "is 0.2 % of full scale.",
              **values}
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

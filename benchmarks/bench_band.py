"""What the calibrated band costs and what it gives, with the trained models in models/
(run `make demo` first).

Prints, all measured in this run on this machine:

* prediction: median time per 45-s song (features and models of both targets, from
  decoded samples) with the band and without it (the same models with the band taken
  off), and the ratio;
* training: the seconds spent scoring the validation songs and calibrating each
  model's band, against its fitting time (both recorded by training in the metadata);
* what the band says on the test songs (from the metadata): its coverage against its
  level, its mean width, the coverage of the worst third of the values, and the same
  for a band of one width for every value, calibrated on the same validation songs
  (the reference the per-value width is measured against).

    python benchmarks/bench_band.py [--songs 20] [--deam-dir data/demo_deam]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import ROOT, median_seconds, require_trained_models, write_demo_song


def prediction_cost(songs: int) -> tuple[float, float]:
    """Median seconds per song with and without the band."""
    from emoreco.audio.decode import load_audio
    from emoreco.model.predictor import Predictor

    predictor = Predictor(ROOT / "models")
    with tempfile.TemporaryDirectory() as folder:
        samples = [load_audio(write_demo_song(Path(folder) / f"{n}.wav", seed=n),
                              predictor.params.sample_rate) for n in range(3)]
    banded = dict(predictor.models)
    plain = {t: dataclasses.replace(m, band=None) for t, m in banded.items()}
    rate = predictor.params.sample_rate

    def run(models: dict) -> None:
        predictor.models = models
        for number in range(songs):
            predictor.predict_samples(samples[number % len(samples)], rate)

    with_band = median_seconds(lambda: run(banded), repeats=5) / songs
    without = median_seconds(lambda: run(plain), repeats=5) / songs
    return with_band, without


def reference_band(target: str, deam_dir: Path) -> dict[str, float] | None:
    """The test metrics of a constant-width band calibrated on the model's validation
    songs of ``deam_dir``, the corpus it was trained on (None when the saved model has no
    test songs, as after k-fold, or the corpus is not there)."""
    from emoreco.data.extraction import prepare_corpus
    from emoreco.data.sources import corpus_sources, load_source
    from emoreco.model.bands import band_metrics, calibrate_band
    from emoreco.model.files import read_meta
    from emoreco.model.predictor import load_model_call
    from emoreco.training.examples import CorpusSongs, LabelledSongs
    from emoreco.training.fit import evaluate_model

    _, meta = read_meta(ROOT / "models", target)
    if not meta.song_ids.get("test") or meta.band is None or not deam_dir.is_dir():
        return None
    source = corpus_sources(deam_dir)[0]
    prepared = prepare_corpus(source, target, meta.feature_params, ROOT / "data", 1, False,
                              None, load_source(source, target))
    songs = LabelledSongs((CorpusSongs("deam", prepared.corpus, prepared.cache),))
    model, _ = load_model_call(ROOT / "models", meta)
    plain = dataclasses.replace(model, band=None)
    validation = evaluate_model(plain, songs, meta.song_ids["validation"], 0.0)
    test = evaluate_model(plain, songs, meta.song_ids["test"], 0.0)
    constant = calibrate_band(validation.predicted, validation.truth, validation.song_ids,
                              meta.band.level, meta.train_params.seed + 2, adaptive=False)
    return band_metrics(*constant.interval(test.predicted), test.truth, test.predicted,
                        meta.band.level)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=20)
    parser.add_argument("--deam-dir", type=Path, default=ROOT / "data" / "demo_deam",
                        help="the corpus the models were trained on (default: the demo's)")
    args = parser.parse_args()
    require_trained_models()
    from emoreco.model.files import read_meta

    started = time.perf_counter()
    with_band, without = prediction_cost(args.songs)
    print(f"prediction, per 45-s song: {with_band * 1000:.1f} ms with the band, "
          f"{without * 1000:.1f} ms without: {with_band / without:.3f}x")
    for target in ("arousal", "valence"):
        _, meta = read_meta(ROOT / "models", target)
        metrics = meta.metrics
        if meta.band is None or "band_calibration_seconds" not in metrics:
            print(f"{target}: no band (saved before bands): retrain with `make demo`")
            continue
        print(f"{target} training: band {metrics['band_calibration_seconds']:.2f} s against "
              f"{metrics['training_seconds']:.1f} s of fitting "
              f"({metrics['band_calibration_seconds'] / metrics['training_seconds']:.1%})")
        if "band_coverage" in metrics:
            print(f"{target} test songs, per-value band: coverage "
                  f"{metrics['band_coverage']:.3f} (level {meta.band.level:.2f}), width "
                  f"{metrics['band_width']:.3f}, worst third "
                  f"{metrics['band_coverage_worst_third']:.3f}")
        reference = reference_band(target, args.deam_dir)
        if reference is not None:
            print(f"{target} test songs, one width for all: coverage "
                  f"{reference['band_coverage']:.3f}, width {reference['band_width']:.3f}, "
                  f"worst third {reference['band_coverage_worst_third']:.3f}")
    print(f"({time.perf_counter() - started:.0f} s in all; numpy {np.__version__})")


if __name__ == "__main__":
    main()

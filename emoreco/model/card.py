"""A model card (``<name>.card.md``), generated from a model's metadata and metrics.

Written by training next to the model and shipped in bundles; never hand-written, so the
figures it shows are the metrics file's (``tests/test_bundles.py`` checks that they are).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emoreco.model.meta import ModelMeta

SCALE = ("DEAM's scale: -1 ... 1, rated continuously by listeners with a slider while the "
         "music played (2 Hz). For arousal, -1 is very calm and sleepy, +1 very excited "
         "and energetic; for valence, -1 very negative (sad, tense), +1 very positive "
         "(happy, content); 0 is the neutral middle of the slider, not the average song. "
         "The values are the emotion listeners perceived in the music, not what it made "
         "them feel.")
METRICS = (("rmse", "RMSE (all test windows)"),
           ("rmse_per_song_mean", "RMSE, mean over songs"),
           ("pearson_per_song_mean", "Pearson r, mean over songs"),
           ("ccc", "concordance (CCC)"), ("bias", "bias (prediction - truth)"),
           ("baseline_rmse", "RMSE of the mean baseline"))
PROTOCOLS = {"split": "a random split by song (validation and test songs never trained on)",
             "kfold": "k-fold cross-validation by song (each song tested once), then a "
                      "final model on every song",
             "mediaeval": "MediaEval 2015: songs 2-2000 for training, the 58 full songs "
                          "2001-2058 for testing",
             "cross-corpus": "trained on the training corpora, tested on every song of "
                             "another corpus"}


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _network(meta: ModelMeta) -> str:
    """The network's name from its Keras summary (``Model: "arousal_cnn"``)."""
    first = meta.summary.splitlines()[0] if meta.summary else ""
    return first.removeprefix("Model: ").strip('"') or meta.target


def metric_rows(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of the headline metrics present in ``metrics`` (k-fold: mean ± std)."""
    rows = []
    for key, label in METRICS:
        value = metrics.get(key)
        if isinstance(value, dict) and "mean" in value:
            rows.append((label, f"{value['mean']:.4f} ± {value.get('std', 0.0):.4f}"))
        elif isinstance(value, (int, float)):
            rows.append((label, _number(value)))
    return rows


def model_card(meta: ModelMeta, data: str) -> str:
    """The card of a trained model, Markdown; ``data`` says in words what it was trained
    on (:func:`emoreco.data.provenance.describe`)."""
    metrics = meta.metrics
    lines = [f"# Model card: {meta.name} ({meta.target})", ""]
    if meta.data.get("demo_corpus"):
        lines += ["**Trained on the synthetic demo corpus: its values mean nothing for real "
                  "music.** It demonstrates the pipeline.", ""]
    protocol = str(metrics.get("protocol", meta.train_params.protocol))
    lines += ["## Data and protocol", "",
              f"- Data: {data}",
              f"- Protocol: {PROTOCOLS.get(protocol, protocol)}",
              f"- Test songs: {metrics.get('n_test_songs', 'n/a')}; test windows: "
              f"{metrics.get('n_test_windows', 'n/a')}",
              f"- Model: {_network(meta)} "
              f"on {meta.feature_params.sample_rate} Hz audio, a value every "
              f"{meta.feature_params.hop_s:g} s",
              f"- Epochs run: {metrics.get('epochs_run', 'n/a')}", "",
              "## Test metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in metric_rows(metrics)]
    per_corpus = metrics.get("per_corpus")
    if isinstance(per_corpus, dict) and per_corpus:
        lines += ["", "Per corpus:", "",
                  "| corpus | RMSE | Pearson r (per song) | baseline RMSE |", "|---|---|---|---|"]
        for label, values in per_corpus.items():
            if isinstance(values, dict):
                cells = [dict(metric_rows(values)).get(name, "n/a") for name in
                         ("RMSE (all test windows)", "Pearson r, mean over songs",
                          "RMSE of the mean baseline")]
                lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "## Scale", "", SCALE, "",
              "## Intended use and limits", "",
              "- Intended: curves of perceived arousal and valence for Western popular and "
              "instrumental music like DEAM's (rock, pop, electronic, classical, jazz, "
              "country, ...), 2 values a second; song means for sorting and playlists.",
              "- Not for: judging people, clinical use, music far from the training data "
              "(speech, field recordings), or decisions about a single listener.",
              "- Known limits: DEAM's annotations are noisy (the raters of one song often "
              "disagree); the first seconds of valence have no value (the LSTM's "
              "context); a model is only as good as its test RMSE against the baseline "
              "above says.", ""]
    return "\n".join(lines)

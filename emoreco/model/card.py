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
           ("baseline_rmse", "RMSE of the mean baseline"),
           ("band_coverage", "band coverage (share of true values inside)"),
           ("band_width", "band width (mean)"),
           ("band_coverage_worst_third", "band coverage, worst third of the values"),
           ("rater_std", "raters' standard deviation (mean)"),
           ("band_narrower_than_raters", "share of values whose band is narrower than "
                                         "the raters' own"))
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
    """(label, value) of the headline metrics present in ``metrics`` (k-fold: mean ± std
    over the folds)."""
    rows = []
    for key, label in METRICS:
        value, std = metrics.get(key), metrics.get(f"{key}_std")
        if isinstance(value, float) and isinstance(std, float):
            rows.append((label, f"{value:.4f} ± {std:.4f}"))
        elif isinstance(value, (int, float)):
            rows.append((label, _number(value)))
    return rows


def _group_table(title: str, groups: Any) -> list[str]:
    """Rows of the per-corpus or per-genre table (empty when there are no groups)."""
    if not isinstance(groups, dict) or not groups:
        return []
    lines = ["", f"Per {title}:", "", f"| {title} | test songs | RMSE | Pearson r (per song) "
             "| baseline RMSE | band coverage |", "|---|---|---|---|---|---|"]
    for label, values in groups.items():
        if isinstance(values, dict):
            found = dict(metric_rows(values))
            cells = [str(values.get("n_test_songs", "n/a"))] + [
                found.get(name, "n/a") for name in
                ("RMSE (all test windows)", "Pearson r, mean over songs",
                 "RMSE of the mean baseline", "band coverage (share of true values inside)")]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def band_text(meta: ModelMeta) -> list[str]:
    """The card's words on the band: what it promises and how it was made."""
    band = meta.band
    if band is None:
        return ["No band: this model was saved before emoreco calibrated bands."]
    metrics = meta.metrics
    lines = [f"Every value comes with a {band.level:.0%} band (`{meta.target}_low`, "
             f"`{meta.target}_high`): on songs like the training songs, {band.level:.0%} of "
             "the true values (the raters' mean) should fall inside it. Its width follows "
             "the value (locally weighted split conformal): the scale was fitted on half of "
             "the validation songs and calibrated on the other half "
             f"({band.n_songs} songs, {band.n_values} values)."]
    if isinstance(metrics.get("band_coverage"), float):
        lines.append(f"On the test songs it held {metrics['band_coverage']:.1%} of the true "
                     f"values with a mean width of {metrics['band_width']:.3f}.")
    if isinstance(metrics.get("rater_std"), float):
        lines.append(f"The raters themselves spread {metrics['rater_std']:.3f} (standard "
                     "deviation) around their mean; in "
                     f"{metrics['band_narrower_than_raters']:.0%} of the values the band is "
                     f"narrower than the raters' own {band.level:.0%} range: it bounds the "
                     "mean rating, and one listener's rating falls outside it more often.")
    return [" ".join(lines)]


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
    lines += _group_table("corpus", metrics.get("per_corpus"))
    lines += _group_table("genre", metrics.get("per_genre"))
    lines += ["", "## Band", ""] + band_text(meta)
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

"""Corpora other than DEAM: PMEmo2019's layout, the user's CSV, training on several
corpora and cross-corpus evaluation, on corpora generated in their real layouts."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emoreco.cli import main_arousal, main_valence
from emoreco.core.errors import AnnotationError, ConfigError, DataLayoutError
from emoreco.core.config import TrainParams
from emoreco.data.provenance import describe
from emoreco.data.sources import CorpusSource, corpus_labels, load_source
from emoreco.model.metrics import rmse
from emoreco.training.examples import KEY_STRIDE
from emoreco.training.split import (check_protocol, kfold_songs, split_songs, stratified_kfold,
                                    stratified_split)

PMEMO_DYNAMIC = Path("PMEmo2019", "annotations", "dynamic_annotations.csv")


def _copy_pmemo(tiny_pmemo: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "pmemo"
    shutil.copytree(tiny_pmemo, copy)
    return copy


def _edit_lines(path: Path, edit) -> None:
    lines = path.read_text().splitlines()
    edit(lines)
    path.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------- PMEmo layout

def test_pmemo_values_map_onto_minus_one_to_one_and_times_stay(tiny_pmemo):
    loaded = load_source(CorpusSource("pmemo", tiny_pmemo), "arousal")
    raw = pd.read_csv(tiny_pmemo / PMEMO_DYNAMIC)
    assert loaded.corpus.song_ids == [1, 2, 3, 4, 5, 6]
    for song_id, series in loaded.corpus.annotations.items():
        rows = raw[raw["musicId"] == song_id].sort_values("frameTime")
        assert series.times_s[0] == 15.5 and series.step_s == 0.5
        np.testing.assert_allclose(series.times_s, rows["frameTime"])
        np.testing.assert_allclose(series.values, 2 * rows["Arousal(mean)"] - 1)
        assert loaded.corpus.audio[song_id].name == f"{song_id}.mp3"
    assert loaded.value_mapping.startswith("2 * x - 1")
    assert loaded.cache_namespace == "pmemo"
    # the PMEmo2019 folder itself is accepted as well as the folder holding it
    again = load_source(CorpusSource("pmemo", tiny_pmemo / "PMEmo2019"), "valence")
    assert again.corpus.song_ids == loaded.corpus.song_ids


PMEMO_STD = PMEMO_DYNAMIC.with_name("dynamic_annotations_std.csv")


def test_pmemo_raters_spread_is_twice_its_std_on_the_models_scale(tiny_pmemo, tmp_path,
                                                                   caplog):
    """PMEmo's dynamic_annotations_std.csv (std across raters on [0, 1]) is the raters'
    spread the evaluation compares the bands with: 2 * std on [-1, 1], at the same times;
    a file that cannot be used is skipped with one warning, a missing one silently."""
    copy = _copy_pmemo(tiny_pmemo, tmp_path)
    std_path = copy / PMEMO_STD
    raw = pd.read_csv(std_path)
    raw["Arousal(std)"] = np.round(0.05 + 0.3 * np.random.default_rng(0).random(len(raw)), 4)
    raw.to_csv(std_path, index=False)
    corpus = load_source(CorpusSource("pmemo", copy), "arousal").corpus
    assert sorted(corpus.rater_spread) == corpus.song_ids
    for song_id, spread in corpus.rater_spread.items():
        rows = raw[raw["musicId"] == song_id].sort_values("frameTime")
        np.testing.assert_allclose(spread.times_s, rows["frameTime"])
        np.testing.assert_allclose(spread.values, 2 * rows["Arousal(std)"])
    for damage in (lambda frame: frame.assign(**{"Arousal(std)": 1.5}),
                   lambda frame: frame.drop(columns="Arousal(std)"),
                   lambda frame: frame.assign(frameTime="soon")):
        damage(raw).to_csv(std_path, index=False)
        caplog.clear()
        corpus = load_source(CorpusSource("pmemo", copy), "arousal").corpus
        assert corpus.rater_spread == {} and corpus.song_ids == [1, 2, 3, 4, 5, 6]
        warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert len(warned) == 1 and "not used for the raters' spread" in warned[0]
    std_path.unlink()
    caplog.clear()
    assert load_source(CorpusSource("pmemo", copy), "arousal").corpus.rater_spread == {}
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_pmemo_metadata_with_quoted_commas_gives_the_file_names(tiny_pmemo, tmp_path):
    copy = _copy_pmemo(tiny_pmemo, tmp_path)
    root = copy / "PMEmo2019"
    (root / "chorus" / "3.mp3").rename(root / "chorus" / "three, live.mp3")
    _edit_lines(root / "metadata.csv", lambda lines: lines.__setitem__(
        3, lines[3].replace("3,3.mp3,", '3,"three, live.mp3",')))
    loaded = load_source(CorpusSource("pmemo", copy), "arousal")
    assert loaded.corpus.audio[3].name == "three, live.mp3"
    assert loaded.corpus.song_ids == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("edit, message", [
    (lambda lines: lines.__setitem__(1, "x" + lines[1][1:]),
     "line 2: musicId 'x' is not a whole number from 0 to 999999999"),
    (lambda lines: lines.__setitem__(2, lines[2].rsplit(",", 2)[0] + ",1.5,0.5"),
     "line 3: Arousal(mean) '1.5' is not a number in [0, 1]"),
    (lambda lines: lines.__setitem__(2, lines[2].rsplit(",", 2)[0] + ",,0.5"),
     "line 3: Arousal(mean) '' is not a number in [0, 1]"),
    (lambda lines: lines.__setitem__(3, "1,later," + lines[3].split(",", 2)[2]),
     "line 4: frameTime 'later' is not a number of seconds >= 0"),
    (lambda lines: lines.pop(3),
     "lines 3 and 4: song 1 has a step of 1 s, expected 0.5 s (16 s -> 17 s)"),
    (lambda lines: lines.insert(3, lines[2]),
     "lines 3 and 4: song 1 has two values for the same time (16 s -> 16 s)"),
    (lambda lines: lines.__setitem__(0, "musicId,frameTime,Arousal,Valence(mean)"),
     "missing column(s) ['Arousal(mean)']"),
])
def test_bad_pmemo_rows_name_the_file_and_line(tiny_pmemo, tmp_path, edit, message):
    copy = _copy_pmemo(tiny_pmemo, tmp_path)
    _edit_lines(copy / PMEMO_DYNAMIC, edit)
    with pytest.raises(AnnotationError) as error:
        load_source(CorpusSource("pmemo", copy), "arousal")
    assert str(error.value).startswith(str(copy / PMEMO_DYNAMIC))
    assert message in str(error.value)


@pytest.mark.parametrize("edit, message", [
    (lambda lines: lines.__setitem__(2, lines[2].replace("2,2.mp3,", "2,../2.mp3,")),
     "line 3: fileName '../2.mp3' is not a plain file name in chorus/"),
    (lambda lines: lines.__setitem__(2, lines[2].replace("2,2.mp3,", "1,2.mp3,")),
     "line 3: duplicate musicId 1"),
])
def test_bad_pmemo_metadata_is_refused(tiny_pmemo, tmp_path, edit, message):
    copy = _copy_pmemo(tiny_pmemo, tmp_path)
    _edit_lines(copy / "PMEmo2019" / "metadata.csv", edit)
    with pytest.raises(AnnotationError, match="metadata.csv, " + message.replace("(", r"\(")
                       .replace(")", r"\)").replace(".", r"\.")):
        load_source(CorpusSource("pmemo", copy), "valence")


def test_pmemo_songs_without_audio_or_annotations_are_summarised(tiny_pmemo, tmp_path):
    copy = _copy_pmemo(tiny_pmemo, tmp_path)
    root = copy / "PMEmo2019"
    (root / "chorus" / "2.mp3").unlink()
    shutil.copy(root / "chorus" / "1.mp3", root / "chorus" / "77.mp3")
    _edit_lines(root / "metadata.csv", lambda lines: lines.append(
        '77,77.mp3,"Unannotated, sadly",Nobody,None,60,"00:10",40'))
    corpus = load_source(CorpusSource("pmemo", copy), "arousal").corpus
    assert corpus.song_ids == [1, 3, 4, 5, 6]
    assert corpus.missing_audio == [2] and corpus.missing_annotations == [77]
    assert "1 annotated songs have no audio (e.g. 2)" in corpus.summary()
    assert "1 audio files have no annotations (e.g. 77)" in corpus.summary()
    # without metadata.csv, the clips are found by their <musicId>.mp3 names
    (root / "metadata.csv").unlink()
    assert load_source(CorpusSource("pmemo", copy), "arousal").corpus.song_ids == [1, 3, 4, 5, 6]


def test_a_folder_without_pmemo_says_where_it_looked(tmp_path):
    with pytest.raises(DataLayoutError, match="PMEmo2019/annotations/dynamic_annotations.csv"):
        load_source(CorpusSource("pmemo", tmp_path), "arousal")


# ---------------------------------------------------------------- the user's CSV

def test_csv_corpus_names_songs_by_their_files(tiny_csv):
    loaded = load_source(CorpusSource("csv", tiny_csv), "valence")
    corpus = loaded.corpus
    raw = pd.read_csv(tiny_csv)
    names = sorted(raw["audio"].unique())
    assert corpus.song_ids == [1, 2, 3, 4, 5]
    assert [corpus.name(i) for i in corpus.song_ids] == names
    first = corpus.annotations[1]
    rows = raw[raw["audio"] == names[0]]
    np.testing.assert_array_equal(first.times_s, rows["time_s"])
    np.testing.assert_allclose(first.values, rows["valence"])  # already in [-1, 1]
    assert first.times_s[0] == 0.0
    assert corpus.audio[1] == tiny_csv.parent / names[0]
    assert loaded.cache_namespace.startswith("csv-")


def _csv_copy(tiny_csv: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "mine"
    shutil.copytree(tiny_csv.parent, copy)
    return copy / tiny_csv.name


@pytest.mark.parametrize("edit, message", [
    (lambda lines: lines.__setitem__(1, "../elsewhere.wav," + lines[1].split(",", 1)[1]),
     "line 2: audio '../elsewhere.wav' is not a path relative to the CSV's folder"),
    (lambda lines: lines.__setitem__(1, "/abs/song.wav," + lines[1].split(",", 1)[1]),
     "line 2: audio '/abs/song.wav' is not a path relative"),
    (lambda lines: lines.__setitem__(1, "," + lines[1].split(",", 1)[1]),
     "line 2: audio '' is not a path relative"),
    (lambda lines: lines.__setitem__(2, lines[2].rsplit(",", 3)[0] + ",-1,0.1,0.1"),
     "line 3: time_s '-1' is not a number of seconds >= 0"),
    (lambda lines: lines.__setitem__(2, lines[2].rsplit(",", 2)[0] + ",0.1,2"),
     "line 3: valence '2' is not a number in [-1, 1]"),
    (lambda lines: lines.__setitem__(2, lines[2].rsplit(",", 2)[0] + ",0.1,high"),
     "line 3: valence 'high' is not a number in [-1, 1]"),
    (lambda lines: lines.pop(2), "lines 2 and 3: song 'my songs/song 687.wav' has a step of "
                                 "1 s, expected 0.5 s (0 s -> 1 s)"),
    (lambda lines: lines.__setitem__(0, "file,time_s,arousal,valence"),
     "missing column(s) ['audio']"),
])
def test_bad_csv_rows_name_the_file_and_line(tiny_csv, tmp_path, edit, message):
    path = _csv_copy(tiny_csv, tmp_path)
    _edit_lines(path, edit)
    with pytest.raises(AnnotationError) as error:
        load_source(CorpusSource("csv", path), "valence")
    assert str(error.value).startswith(f"{path}")
    assert message in str(error.value)


def test_csv_songs_may_be_annotated_for_one_target_and_may_lack_audio(tiny_csv, tmp_path):
    path = _csv_copy(tiny_csv, tmp_path)
    frame = pd.read_csv(path)
    first, second = sorted(frame["audio"].unique())[:2]
    frame.loc[frame["audio"] == first, "valence"] = np.nan  # arousal only
    frame.to_csv(path, index=False)
    (path.parent / second).unlink()
    arousal = load_source(CorpusSource("csv", path), "arousal").corpus
    valence = load_source(CorpusSource("csv", path), "valence").corpus
    assert arousal.song_ids == [1, 3, 4, 5] and arousal.missing_audio == [2]
    assert valence.song_ids == [3, 4, 5] and valence.missing_annotations == [1]
    assert f"(e.g. {second}); skipped" in valence.summary()


def test_csv_corpus_must_be_a_file_with_existing_audio(tiny_csv, tmp_path):
    with pytest.raises(DataLayoutError, match="a csv corpus is a CSV file"):
        load_source(CorpusSource("csv", tiny_csv.parent), "arousal")
    with pytest.raises(AnnotationError, match="annotation file not found"):
        load_source(CorpusSource("csv", tmp_path / "none.csv"), "arousal")
    lonely = tmp_path / "lonely.csv"
    lonely.write_text("audio,time_s,arousal,valence\nmissing.wav,0,0.1,0.1\n")
    with pytest.raises(DataLayoutError, match="none of its 1 audio files exists"):
        load_source(CorpusSource("csv", lonely), "arousal")


# ---------------------------------------------------------------- options

@pytest.mark.parametrize("text", ["bogus:x", "pmemo:", "nocolon", ":x"])
def test_corpus_option_must_be_kind_and_path(text):
    with pytest.raises(ConfigError, match="is not KIND:PATH with KIND one of deam, pmemo, csv"):
        CorpusSource.parse(text)


def test_labels_number_repeated_kinds():
    sources = [CorpusSource.parse(t) for t in ("deam:a", "csv:b.csv", "csv:c.csv", "pmemo:d")]
    assert corpus_labels(sources) == ["deam", "csv", "csv-2", "pmemo"]


@pytest.mark.parametrize("argv, message", [
    (["--corpus", "bogus:x"], "corpus 'bogus:x' is not KIND:PATH"),
    ([], "no corpus: give --deam-dir DIR or --corpus KIND:PATH"),
    (["--corpus", "pmemo:x", "--test-corpus", "csv:y.csv", "--protocol", "kfold"],
     "--test-corpus evaluates on the test corpus: it cannot be combined with --protocol kfold"),
    (["--corpus", "pmemo:x", "--protocol", "mediaeval"], "it needs one deam corpus"),
    (["--corpus", "pmemo:x", "--protocol", "cross-corpus"], "needs --test-corpus KIND:PATH"),
    (["--corpus", "pmemo:x", "--test-corpus", "nope"], "corpus 'nope' is not KIND:PATH"),
])
def test_corpus_option_mistakes_exit_2_before_any_work(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main_arousal([*argv, "--models-dir", str(tmp_path / "m")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_missing_corpus_folder_is_one_line(tmp_path, capsys):
    code = main_valence(["--corpus", f"pmemo:{tmp_path / 'nowhere'}", "--models-dir",
                         str(tmp_path / "m"), "--quiet"])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {tmp_path / 'nowhere'}: no PMEmo corpus here (looked for "
        f"'{tmp_path / 'nowhere' / PMEMO_DYNAMIC}' and "
        f"'{tmp_path / 'nowhere' / 'annotations' / 'dynamic_annotations.csv'}')"]


def test_protocol_follows_the_test_corpus():
    deam = [CorpusSource.parse("deam:x")]
    test = CorpusSource.parse("pmemo:y")
    assert check_protocol(TrainParams(), deam, test).protocol == "cross-corpus"
    assert check_protocol(TrainParams(protocol="mediaeval"), deam, None).protocol == "mediaeval"
    with pytest.raises(ConfigError):
        check_protocol(TrainParams(protocol="mediaeval"), [*deam, test], None)


# ---------------------------------------------------------------- splits by corpus

def test_a_single_stratum_splits_exactly_as_before():
    ids = np.arange(2, 60)
    for seed in (0, 7):
        for got, want in zip(stratified_split([ids], 0.2, seed), split_songs(ids, 0.2, seed)):
            np.testing.assert_array_equal(got, want)
        for (got_train, got_test), (want_train, want_test) in zip(
                stratified_kfold([ids], 5, seed), kfold_songs(ids, 5, seed)):
            np.testing.assert_array_equal(got_test, want_test)
            np.testing.assert_array_equal(got_train, want_train)


def test_every_corpus_gives_its_share_of_test_songs():
    deam, pmemo = np.arange(2, 82), KEY_STRIDE + np.arange(1, 21)
    train, test = stratified_split([deam, pmemo], 0.25, 3)
    assert np.isin(test, deam).sum() == 20 and np.isin(test, pmemo).sum() == 5
    assert not set(train) & set(test) and len(train) + len(test) == 100
    lonely = np.array([2 * KEY_STRIDE + 1])  # a corpus of one song stays in training
    train, test = stratified_split([deam, lonely], 0.25, 3)
    assert lonely[0] in train and lonely[0] not in test


def test_stratified_folds_cover_every_song_once_and_none_is_empty():
    strata = [np.arange(2, 5), KEY_STRIDE + np.arange(1, 4)]  # 3 + 3 songs, 4 folds
    folds = stratified_kfold(strata, 4, 0)
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested) == sorted(np.concatenate(strata)) and all(len(t) for _, t in folds)
    for train, test in folds:
        assert not set(train) & set(test) and len(train) + len(test) == 6


# ---------------------------------------------------------------- training

def _train(main, *args: str, work: Path) -> dict:
    code = main([*args, "--cache-dir", str(work / "cache"), "--models-dir", str(work / "m"),
                 "--plots-dir", str(work / "p"), "--epochs", "2", "--quiet", "--jobs", "1"])
    assert code == 0
    return work / "m"


@pytest.mark.slow
def test_training_on_pmemo_alone_records_the_corpus(tiny_pmemo, tmp_path):
    models = _train(main_arousal, "--corpus", f"pmemo:{tiny_pmemo}", work=tmp_path)
    meta = json.loads((models / "arousal.meta.json").read_text())
    data = meta["data"]
    annotations = tiny_pmemo / PMEMO_DYNAMIC
    assert data["kind"] == "pmemo" and data["n_songs"] == 6
    assert data["annotations"] == str(annotations.resolve())
    assert data["annotations_sha256"] == __import__("hashlib").sha256(
        annotations.read_bytes()).hexdigest()
    assert data["values"].startswith("2 * x - 1") and data["demo_corpus"] is True
    assert list(data["corpora"]) == ["pmemo"] and data["test_corpus"] is None
    assert describe(data).startswith("the synthetic DEMO corpus, 6 songs")
    cached = list((tmp_path / "cache").glob("DEAM_mfccs/*/pmemo/chorus-*/*.npy"))
    assert len(cached) == 6  # its own cache namespace
    metrics = json.loads((models / "arousal.metrics.json").read_text())
    assert metrics["protocol"] == "split" and "per_corpus" not in metrics


@pytest.mark.slow
def test_cross_corpus_evaluates_every_song_of_the_test_corpus(tiny_deam, tiny_pmemo, tmp_path):
    from emoreco.training.run import train

    outcome = train("valence", tiny_deam, test_corpus=f"pmemo:{tiny_pmemo}",
                    models_dir=tmp_path / "m", cache_dir=tmp_path / "cache",
                    train_params=TrainParams(epochs=2), jobs=1, progress=False, verbose=0)
    metrics, meta = outcome.meta.metrics, outcome.meta
    assert metrics["protocol"] == meta.train_params.protocol == "cross-corpus"
    test = meta.song_ids["test"]
    assert sorted(test) == [KEY_STRIDE + i for i in range(1, 7)]  # every PMEmo song
    assert all(key < KEY_STRIDE for key in meta.song_ids["train"] + meta.song_ids["validation"])
    evaluation = outcome.evaluation
    assert metrics["n_test_songs"] == 6 and set(metrics["per_corpus"]) == {"pmemo"}
    assert metrics["rmse"] == metrics["per_corpus"]["pmemo"]["rmse"]
    assert metrics["rmse"] == pytest.approx(rmse(evaluation.truth, evaluation.predicted))
    assert metrics["bias"] == pytest.approx(np.mean(evaluation.predicted - evaluation.truth))
    # the baseline predicts the mean of the training songs' targets, not the test corpus'
    assert metrics["baseline_rmse"] != pytest.approx(rmse(
        evaluation.truth, np.full_like(evaluation.truth, evaluation.truth.mean())))
    first = evaluation.truth[evaluation.song_ids == KEY_STRIDE + 1]
    series = load_source(CorpusSource("pmemo", tiny_pmemo), "valence").corpus.annotations[1]
    assert first[0] == pytest.approx(series.values[0])  # valence at 15.5 s, mapped from [0, 1]
    assert meta.data["test_corpus"]["kind"] == "pmemo" and list(meta.data["corpora"]) == ["deam"]


@pytest.mark.slow
def test_training_on_three_corpora_splits_and_reports_each(tiny_deam, tiny_pmemo, tiny_csv,
                                                           tmp_path):
    models = _train(main_arousal, "--deam-dir", str(tiny_deam), "--corpus",
                    f"pmemo:{tiny_pmemo}", "--corpus", f"csv:{tiny_csv}", work=tmp_path)
    meta = json.loads((models / "arousal.meta.json").read_text())
    metrics = json.loads((models / "arousal.metrics.json").read_text())
    labels = {key // KEY_STRIDE for key in meta["song_ids"]["test"]}
    assert labels == {0, 1, 2}  # every corpus gives test songs
    assert set(metrics["per_corpus"]) == {"deam", "pmemo", "csv"}
    assert sum(m["n_test_songs"] for m in metrics["per_corpus"].values()) == \
        metrics["n_test_songs"]
    corpora = meta["data"]["corpora"]
    assert [c["kind"] for c in corpora.values()] == ["deam", "pmemo", "csv"]
    assert [c["n_songs"] for c in corpora.values()] == [8, 6, 5]
    assert meta["data"]["n_songs"] == 19 and meta["data"]["demo_corpus"] is True
    assert all(len(c["annotations_sha256"]) == 64 for c in corpora.values())
    assert "pmemo: the synthetic DEMO corpus, 6 songs" in describe(meta["data"])


def test_extract_fills_a_cache_namespace_per_corpus(tiny_pmemo, tiny_csv, tmp_path, caplog):
    from emoreco.cli import main_module

    caplog.set_level("INFO")
    code = main_module(["extract", "--corpus", f"pmemo:{tiny_pmemo}", "--corpus",
                        f"csv:{tiny_csv}", "--cache-dir", str(tmp_path), "--quiet", "--jobs",
                        "1", "--target", "valence"])
    assert code == 0
    root = next((tmp_path / "DEAM_chroma").iterdir())
    assert len(list(root.glob("pmemo/chorus-*/*.npy"))) == 6
    assert len(list(root.glob("csv-*/my songs-*/*.npy"))) == 5
    assert "pmemo:" in caplog.text and "6 songs cached" in caplog.text
    assert main_module(["extract", "--cache-dir", str(tmp_path)]) == 2  # no corpus given

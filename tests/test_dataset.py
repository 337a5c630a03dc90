import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import sine_clip, write_dynamic_csv
from emoreco.audio.decode import index_audio_folder, load_audio
from emoreco.core.config import FeatureParams
from emoreco.data.corpus import load_corpus
from emoreco.data.layout import locate_deam
from emoreco.core.errors import AudioError, DataLayoutError
from emoreco.training.examples import LabelledSongs, build_window_set, song_examples
from emoreco.data.extraction import extract_corpus
from emoreco.data.feature_cache import FeatureCache, song_features
from emoreco.model.targets import AROUSAL, TARGETS

PARAMS = FeatureParams()


def test_official_layout_with_spaces_and_parentheses(tiny_deam):
    paths = locate_deam(tiny_deam)
    assert paths.audio_dir == tiny_deam / "MEMD_audio"
    assert paths.annotation_csv("arousal").parent.name == "dynamic (per second annotations)"


def test_design_data_layout_with_separate_audio_folder(tiny_deam, tmp_path):
    data = tmp_path / "data"
    (data / "annotations").mkdir(parents=True)
    shutil.copy(locate_deam(tiny_deam).annotation_csv("valence"), data / "annotations")
    paths = locate_deam(data, audio_dir=tiny_deam / "MEMD_audio")
    corpus = load_corpus(paths, "valence")
    assert len(corpus.song_ids) == 8


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give --deam-dir"),
    ({"deam_dir": "/no/such/dir"}, "DEAM folder not found"),
])
def test_missing_folders_are_reported(kwargs, message):
    with pytest.raises(DataLayoutError, match=message):
        locate_deam(**kwargs)


def test_folder_without_annotations_lists_where_it_looked(tmp_path):
    (tmp_path / "MEMD_audio").mkdir()
    with pytest.raises(DataLayoutError, match="no arousal.csv / valence.csv in"):
        locate_deam(tmp_path)


def test_songs_without_audio_or_annotations_are_summarised(tiny_deam, tmp_path):
    audio = tmp_path / "audio"
    shutil.copytree(tiny_deam / "MEMD_audio", audio)
    first = sorted(audio.iterdir())[0]
    first.unlink()
    shutil.copy(sorted(audio.iterdir())[0], audio / "99999.mp3")
    corpus = load_corpus(locate_deam(tiny_deam, audio_dir=audio), "arousal")
    assert corpus.missing_audio == [int(first.stem)]
    assert corpus.missing_annotations == [99999]
    assert "1 annotated songs have no audio" in corpus.summary()
    assert "1 audio files have no annotations" in corpus.summary()


def test_two_files_for_one_song_are_refused(tmp_path):
    soundfile.write(tmp_path / "5.wav", sine_clip(1.0), 12000)
    soundfile.write(tmp_path / "5.flac", sine_clip(1.0), 12000)
    with pytest.raises(AudioError, match="song 5 has two audio files"):
        index_audio_folder(tmp_path)


def _bad_audio_files(folder: Path, good_mp3: Path) -> dict[int, tuple[Path, str]]:
    """Files each of which must fail with its own message."""
    folder.mkdir(exist_ok=True)
    corrupt = folder / "11.mp3"
    corrupt.write_bytes(b"ID3" + bytes(range(256)) * 40)
    truncated = folder / "12.mp3"
    truncated.write_bytes(good_mp3.read_bytes()[:300])
    short = folder / "13.wav"
    soundfile.write(short, sine_clip(10.0, 22050), 22050)
    silent = folder / "14.flac"
    soundfile.write(silent, np.zeros(20 * 16000, np.float32), 16000)
    unsupported = folder / "15.ogg"
    unsupported.write_text("this is not audio")
    return {11: (corrupt, "cannot decode|0 samples"), 12: (truncated, "cannot decode|0 samples"),
            13: (short, "10.00 s long, at least 16.50 s"), 14: (silent, "silent"),
            15: (unsupported, "cannot decode")}


def test_each_bad_audio_file_gives_a_message_naming_it(tiny_deam, tmp_path):
    good = sorted((tiny_deam / "MEMD_audio").glob("*.mp3"))[0]
    for path, message in _bad_audio_files(tmp_path, good).values():
        with pytest.raises(AudioError, match=message) as error:
            load_audio(path, 12000, min_duration_s=PARAMS.min_duration_s)
        assert str(path) in str(error.value) and "\n" not in str(error.value)


@pytest.mark.slow
def test_extraction_skips_bad_files_and_caches_the_rest(tiny_deam, tmp_path):
    good = sorted((tiny_deam / "MEMD_audio").glob("*.mp3"))[:2]
    bad = _bad_audio_files(tmp_path / "bad", good[0])
    audio = {int(p.stem): p for p in good} | {i: p for i, (p, _) in bad.items()}
    cache = FeatureCache(tmp_path / "cache", PARAMS)
    failures = extract_corpus(audio, PARAMS, cache, n_jobs=2, progress=False)
    assert sorted(failures) == sorted(bad)
    for path in good:
        assert cache.load(int(path.stem), path) is not None


def test_cache_is_keyed_by_parameters_and_corrupt_files_are_recomputed(tiny_deam, tmp_path):
    path = sorted((tiny_deam / "MEMD_audio").glob("*.mp3"))[0]
    cache = FeatureCache(tmp_path, PARAMS)
    fresh = song_features(path, PARAMS, cache, 7)
    [folder] = [d for d in cache.mfcc_root.iterdir() if d.is_dir()]
    assert (folder / "7.npy").is_file() and (cache.mfcc_root / "params.json").is_file()
    assert (folder / "7.source.json").is_file()
    assert not list(folder.glob(".*tmp*"))  # atomic writes leave no temporary file
    cached = cache.load(7, path)
    np.testing.assert_array_equal(cached.mfcc, fresh.mfcc)
    assert cached.duration_s == fresh.duration_s

    other = FeatureCache(tmp_path, FeatureParams(n_mfcc=20))
    assert other.mfcc_root != cache.mfcc_root and other.load(7, path) is None

    mfcc_file = folder / "7.npy"
    assert cache.check(7, path) is None
    mfcc_file.write_bytes(mfcc_file.read_bytes()[:500])  # truncated
    assert cache.load(7, path) is None and cache.check(7, path) == "corrupt cache file"
    np.save(mfcc_file, np.zeros((3, 5), np.float32))  # wrong shape
    assert cache.load(7, path) is None and cache.check(7, path) is not None
    assert extract_corpus({7: path}, PARAMS, cache, n_jobs=1, progress=False) == {}
    assert cache.check(7, path) is None
    again = song_features(path, PARAMS, cache, 7)
    np.testing.assert_array_equal(again.mfcc, fresh.mfcc)
    np.testing.assert_array_equal(cache.load(7, path).mfcc, fresh.mfcc)


def test_window_sets_align_with_annotations(tiny_deam, tmp_path):
    cache = FeatureCache(tmp_path, PARAMS)
    for target, per_clip, per_full in (("arousal", 58, 118), ("valence", 60, 120)):
        corpus = load_corpus(locate_deam(tiny_deam), target)
        extract_corpus(corpus.audio, PARAMS, cache, n_jobs=1, progress=False)
        windows = build_window_set(TARGETS[target], LabelledSongs.single(corpus, cache), PARAMS,
                                   progress=False)
        ids, counts = np.unique(windows.song_ids, return_counts=True)
        assert counts[ids <= 2000].tolist() == [per_clip] * 6
        assert counts[ids > 2000].tolist() == [per_full] * 2
        first_song = corpus.annotations[int(ids[0])]
        mask = windows.song_ids == ids[0]
        assert windows.times_s[mask][0] == 15.0
        if target == "arousal":
            assert windows.inputs.shape[1:] == (40, 72)
            assert windows.targets[mask][0] == pytest.approx(first_song.values[:3].mean(), 1e-6)
        else:
            assert windows.inputs.shape[1:] == (6, 12)
            assert windows.targets[mask][0] == pytest.approx(first_song.values[0], 1e-6)


def test_annotations_ending_before_the_audio_limit_the_windows(tiny_deam, tmp_path):
    path = sorted((tiny_deam / "MEMD_audio").glob("*.mp3"))[0]
    features = song_features(path, PARAMS)
    csv = write_dynamic_csv(tmp_path / "arousal.csv",
                            "song_id," + ",".join(f"sample_{15000 + 500 * k}ms" for k in range(8)),
                            ["5," + ",".join(["0.25"] * 8)])
    from emoreco.data.annotations import load_dynamic_annotations

    annotation = load_dynamic_annotations(csv)[5]
    inputs, targets, times = song_examples(AROUSAL, features, annotation, PARAMS)
    assert times.tolist() == [15.0, 15.5, 16.0, 16.5, 17.0, 17.5]  # last ends at 19.0 s
    assert inputs.shape == (6, 40, 72) and np.allclose(targets, 0.25)

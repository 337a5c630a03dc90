"""The public Python API, and the installs: what a notebook user calls gives what the
scripts give, and an option whose extra is missing is one line naming the extra."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import emoreco
from conftest import ROOT
from emoreco.cli import main_predict

SONG = "demo_song_1.mp3"


def test_importing_the_package_is_light():
    probe = ("import sys, emoreco\n"
             "heavy = [m for m in ('numpy', 'onnxruntime', 'tensorflow', 'pandas', 'dask') "
             "if m in sys.modules]\nprint('IMPORTED', heavy)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert "IMPORTED []" in result.stdout, result.stderr
    assert set(emoreco.__all__) >= {"Predictor", "predict", "run_catalog", "train",
                                    "fetch_deam", "CatalogRun", "EmotionCurve"}
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        emoreco.nothing  # noqa: B018 - the lookup is the test


def test_files_and_arrays_give_the_curves_of_main(trained_models, tiny_deam, tmp_path):
    from emoreco.audio.decode import load_audio

    song = tiny_deam / "test_songs" / SONG
    models = emoreco.Predictor(trained_models / "models")
    curve = models.predict_file(song)
    samples = load_audio(song, models.params.sample_rate)
    in_memory = models.predict_samples(samples, models.params.sample_rate, name=SONG)
    for target in emoreco.TARGETS:
        np.testing.assert_array_equal(curve.values[target], in_memory.values[target])
    stereo = models.predict_samples(np.stack([samples, samples], axis=1) * 0.5 * 2,
                                    models.params.sample_rate)
    np.testing.assert_allclose(stereo.values["arousal"], curve.values["arousal"], atol=1e-6)
    frame = curve.to_frame()
    assert list(frame.columns) == ["song", "time_s", *emoreco.TARGETS, "arousal_low",
                                   "arousal_high", "valence_low", "valence_high"]
    assert len(frame) == len(curve.times_s)
    for target in emoreco.TARGETS:  # every value inside its band, NaN where it is NaN
        values, low, high = (frame[target], frame[f"{target}_low"], frame[f"{target}_high"])
        assert (values.isna() == low.isna()).all() and (values.isna() == high.isna()).all()
        assert ((low <= values) & (values <= high) | values.isna()).all()
        assert ((high - low)[values.notna()] > 0).all()
    assert main_predict([str(song), "--models-dir", str(trained_models / "models"),
                         "--out-dir", str(tmp_path / "main"), "--quiet"]) == 0
    table = pd.read_csv(tmp_path / "main" / "TestSongPredicted.csv")
    np.testing.assert_allclose(table.arousal, frame.arousal, atol=5e-5, equal_nan=True)
    np.testing.assert_allclose(table.valence_high, frame.valence_high, atol=5e-5, equal_nan=True)
    [again] = emoreco.predict([song.parent], trained_models / "models", glob="*1.mp3")
    np.testing.assert_array_equal(again.values["valence"], curve.values["valence"])


def test_run_catalog_is_main_in_a_function(trained_models, tiny_deam, tmp_path):
    songs = tiny_deam / "test_songs"
    result = emoreco.run_catalog([songs], out_dir=tmp_path / "api",
                                 models_dir=trained_models / "models", jobs=1, plots=False,
                                 progress=False)
    assert result.songs == 4 and not result.failures
    assert tmp_path / "api" / "TestSongPredicted.csv" in result.written
    assert main_predict([str(songs), "--models-dir", str(trained_models / "models"),
                         "--out-dir", str(tmp_path / "main"), "--quiet", "--no-plots",
                         "--jobs", "1"]) == 0
    for name in ("TestSongPredicted.csv", "TestSongSummary.csv"):
        assert ((tmp_path / "api" / name).read_bytes()
                == (tmp_path / "main" / name).read_bytes())
    with pytest.raises(emoreco.EmorecoError, match="use --overwrite"):
        emoreco.run_catalog([songs], out_dir=tmp_path / "api",
                            models_dir=trained_models / "models", jobs=1, progress=False)


def test_csv_and_parquet_tables_hold_the_same_values(trained_models, tiny_deam, tmp_path):
    songs = tiny_deam / "test_songs"
    for table in ("csv", "parquet"):
        emoreco.run_catalog([songs], out_dir=tmp_path / table, table=table, jobs=1,
                            models_dir=trained_models / "models", plots=False, report=False,
                            progress=False)
    from_csv = pd.read_csv(tmp_path / "csv" / "TestSongPredicted.csv")
    from_parquet = pd.read_parquet(tmp_path / "parquet" / "TestSongPredicted.parquet")
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_exact=True)


MISSING = """
import runpy, sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # as if this library were not installed
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _without(libraries: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", MISSING, libraries, *command], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_the_core_install_predicts_a_folder_and_names_the_extras(trained_models, tiny_deam,
                                                                 tmp_path):
    absent = "dask,distributed,pyarrow,pandas,tensorflow,keras,librosa"
    songs = str(tiny_deam / "test_songs")
    common = ["--models-dir", str(trained_models / "models"), "--quiet"]
    default = _without(absent, "MAIN.py", songs, *common, "--out-dir", str(tmp_path / "a"))
    assert default.returncode == 0, default.stderr
    assert "Dask" not in default.stderr  # 4 songs: threads, whether Dask is there or not
    assert (tmp_path / "a" / "emotion_report.html").is_file()
    for option, what in ((["--jobs", "2"], "--jobs 2"), (["--table", "parquet"],
                                                          "a Parquet table (--table parquet)"),
                         (["--scheduler", "tcp://127.0.0.1:9"], "--scheduler")):
        result = _without(absent, "MAIN.py", songs, *common, "--out-dir",
                          str(tmp_path / "b"), *option)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith(
            f"error: {what} needs the catalog extra")
        assert "pip install 'emoreco[catalog]'" in result.stderr
    assert not (tmp_path / "b").exists()  # refused before any work
    training = _without(absent, "MAIN_arousal.py", "--deam-dir", str(tiny_deam),
                        "--models-dir", str(tmp_path / "m"))
    assert training.returncode == 2 and "Traceback" not in training.stderr
    assert training.stderr.strip().splitlines()[-1].startswith(
        "error: training needs the training extra (tensorflow is not installed)")


def test_the_live_page_without_aiohttp_names_the_live_extra(trained_models, tiny_deam,
                                                            tmp_path):
    song = next((tiny_deam / "test_songs").iterdir())
    result = _without("aiohttp", "emoreco/__main__.py", "listen", str(song), "--serve",
                      "127.0.0.1:0", "--models-dir", str(trained_models / "models"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        "error: --serve needs the live extra (aiohttp is not installed)")


UNGUARDED = """
import emoreco
emoreco.run_catalog([{songs!r}], out_dir={out!r}, jobs=2, models_dir={models!r},
                    progress=False)
"""


@pytest.mark.slow
def test_run_catalog_on_workers_in_a_script_without_a_main_guard_says_how_to_fix_it(
        trained_models, tiny_deam, tmp_path):
    script = tmp_path / "script.py"
    out = tmp_path / "out"
    code = UNGUARDED.format(songs=str(tiny_deam / "test_songs"), out=str(out),
                            models=str(trained_models / "models"))
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode != 0
    assert 'if __name__ == "__main__":' in result.stderr.strip().splitlines()[-1]
    assert "in use by another emoreco run" not in result.stderr
    guarded = "if __name__ == '__main__':\n" + "".join(
        "    " + line + "\n" for line in code.strip().splitlines())
    script.write_text(guarded)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (out / "TestSongSummary.csv").is_file()

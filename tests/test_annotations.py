import numpy as np
import pytest

from conftest import write_dynamic_csv
from emoreco.data.annotations import (AnnotationSeries, load_dynamic_annotations,
                                 load_static_annotations, write_dynamic_annotations)
from emoreco.core.errors import AnnotationError

HEADER = "song_id,sample_15000ms,sample_15500ms,sample_16000ms,sample_16500ms"


def test_times_come_from_column_names_and_short_rows_end_at_their_last_value(tmp_path):
    # stray spaces in the header, columns out of order, a shorter song with empty cells
    path = write_dynamic_csv(
        tmp_path / "arousal.csv", " song_id, sample_15500ms , sample_15000ms,sample_16000ms",
        ["2, 0.2, 0.1, 0.3", "3,-0.5,-0.4,", "10,0.0,0.0,"])
    series = load_dynamic_annotations(path)
    assert list(series) == [2, 3, 10]
    np.testing.assert_allclose(series[2].times_s, [15.0, 15.5, 16.0])
    np.testing.assert_allclose(series[2].values, [0.1, 0.2, 0.3])
    np.testing.assert_allclose(series[3].times_s, [15.0, 15.5])
    np.testing.assert_allclose(series[3].values, [-0.4, -0.5])
    assert series[2].step_s == pytest.approx(0.5)


def test_write_then_read_round_trip_keeps_shorter_songs(tmp_path):
    long = AnnotationSeries(2001, 15 + 0.5 * np.arange(5), np.array([.1, .2, .3, .4, .5]))
    short = AnnotationSeries(7, 15 + 0.5 * np.arange(2), np.array([-.1, -.2]))
    path = tmp_path / "valence.csv"
    write_dynamic_annotations(path, {7: short, 2001: long})
    assert path.read_text().splitlines()[1] == "7,-0.1,-0.2,,,"
    back = load_dynamic_annotations(path)
    np.testing.assert_allclose(back[7].values, short.values)
    np.testing.assert_allclose(back[2001].times_s, long.times_s)


@pytest.mark.parametrize("header, rows, message", [
    ("id,sample_15000ms", ["2,0.1"], "first column must be 'song_id'"),
    ("song_id,t15000", ["2,0.1"], "not of the form 'sample_<milliseconds>ms'"),
    ("song_id", ["2"], "no 'sample_<ms>ms' columns"),
    (HEADER, ["2,0.1,0.2,1.5,0.3"], r"line 2: song 2 value 1.5 at sample_16000ms is outside"),
    (HEADER, ["2,0.1,0.2,0.1,0.3", "2,0.1,0.2,0.1,0.3"], r"lines \[2, 3\]: duplicate song_id 2"),
    (HEADER, ["2,0,0,0,0", "x7,0,0,0,0"], "line 3: song_id 'x7' is not a whole number from 0 to 999999999"),
    (HEADER, ["2.5,0,0,0,0"], "song_id '2.5' is not a whole number from 0 to 999999999"),
    ("song_id,sample_15000ms,sample_15500ms,sample_16500ms", ["2,0,0,0"],
     "not uniformly spaced"),
    (HEADER, ["2,0.1,,0.1,0.3"], "empty cell at sample_15500ms before its last value"),
    (HEADER, ["2,0.1,abc,0.1,0.3"], "'abc' in sample_15500ms is not a number"),
    (HEADER, ["2,,,,"], "song 2 has no values"),
])
def test_malformed_dynamic_files_name_the_file_and_line(tmp_path, header, rows, message):
    path = write_dynamic_csv(tmp_path / "arousal.csv", header, rows)
    with pytest.raises(AnnotationError, match=message) as error:
        load_dynamic_annotations(path)
    assert str(path) in str(error.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(AnnotationError, match="annotation file not found"):
        load_dynamic_annotations(tmp_path / "nope.csv")


def test_static_files_with_the_real_header_quirks(tmp_path):
    # verbatim header styles of DEAM's song_level files (leading spaces, "valence_ max_mean")
    first = tmp_path / "static_annotations_averaged_songs_1_2000.csv"
    first.write_text("song_id, valence_mean, valence_std, arousal_mean, arousal_std\n"
                     "2,3.1,0.94,3,0.63\n3,3.5,1.75,3.3,1.62\n")
    second = tmp_path / "static_annotations_averaged_songs_2000_2058.csv"
    second.write_text("song_id, valence_mean, valence_std, valence_ max_mean, arousal_mean,"
                      " arousal_std\n2001,3.2,0.98,5.0,6.6,0.8\n")
    table = load_static_annotations(first)
    assert table.loc[3, "arousal_mean"] == pytest.approx(3.3)
    assert list(table.index) == [2, 3]
    assert load_static_annotations(second).loc[2001, "valence_max_mean"] == 5.0


def test_static_values_off_the_1_to_9_scale_are_refused(tmp_path):
    path = tmp_path / "static.csv"
    path.write_text("song_id,valence_mean,arousal_mean\n2,0.5,3\n")
    with pytest.raises(AnnotationError, match="line 2: valence_mean '0.5'"):
        load_static_annotations(path)
    path.write_text("song_id,valence_mean\n2,5\n")
    with pytest.raises(AnnotationError, match=r"missing column\(s\) \['arousal_mean'\]"):
        load_static_annotations(path)

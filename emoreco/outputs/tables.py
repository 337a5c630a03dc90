"""The run's tables, one writer per format: CSV, Parquet and JSON, with the same values.

Every column is derived from the targets (:data:`emoreco.model.targets.TARGETS`): the
per-step table has ``song, time_s``, one column per target, then the low and high
bound of each target's band (``arousal_low``, ``arousal_high``, ...); the summary has the time
span, each target's mean, standard deviation, start and end values (first and last 15 s),
its band's mean half-width, and the quadrant. Song names are kept exactly: the CSVs
write the bytes of a file name that is not UTF-8 back as they were; Parquet, whose
strings must be valid Unicode, shows such bytes as ``\\xNN``; JSON escapes them
(``\\udcff``, which Python reads back exactly). Values are rounded to
:data:`DECIMALS` decimals in every format (the CSV prints them, Parquet and JSON store
the rounded floats), so a table read back gives the same numbers whatever its format:
1e-4 on a scale of [-1, 1] is far below the annotations' noise and the models' error.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from emoreco.core.atomic import atomic_path, write_json
from emoreco.core.text import unicode_text
from emoreco.model.curves import EmotionCurve
from emoreco.model.targets import TARGETS, VALUE_COLUMNS

DECIMALS = 4
TABLE_NAMES = {"table": "TestSongPredicted.csv", "summary": "TestSongSummary.csv"}
PARQUET_NAME = {"parquet": "TestSongPredicted.parquet"}  # a folder of Parquet parts
JSON_NAME = {"json": "TestSongPredicted.json"}
PICTURE_NAMES = ({target: f"{target.capitalize()}_tracks.png" for target in TARGETS}
                 | {"plane": "Valence_arousal_plane.png"})
REPORT_NAME = {"html": "emotion_report.html"}
SHARD_FOLDER = "emotion_report_data"  # the page's curve shards of large runs
OUTPUT_NAMES = TABLE_NAMES | PARQUET_NAME | JSON_NAME | PICTURE_NAMES | REPORT_NAME
KNOWN_OUTPUTS = (*OUTPUT_NAMES.values(), SHARD_FOLDER)  # what any run may write
TABLE_COLUMNS = ("song", "time_s", *VALUE_COLUMNS)
SUMMARY_STATISTICS = ("mean", "std", "start", "end", "band")  # see EmotionCurve.summary
SUMMARY_COLUMNS = ("song", "n_steps", "start_s", "end_s",
                   *(f"{target}_{statistic}" for target in TARGETS
                     for statistic in SUMMARY_STATISTICS), "valence_01", "energy_01", "quadrant")
PARQUET_SONGS = 256  # songs per Parquet part


def output_paths(out_dir: str | Path, with_json: bool = False, pictures: bool = True,
                 report: bool = True, parquet: bool = False) -> dict[str, Path]:
    """The files a prediction run writes, by role (``parquet``: the per-step table as
    a folder of Parquet parts instead of one CSV)."""
    tables = ({"summary": TABLE_NAMES["summary"]} | PARQUET_NAME) if parquet else TABLE_NAMES
    names = (tables | (JSON_NAME if with_json else {})
             | (PICTURE_NAMES if pictures else {}) | (REPORT_NAME if report else {}))
    return {key: Path(out_dir) / name for key, name in names.items()}


def rounded(values: np.ndarray) -> np.ndarray:
    """Values as the tables hold them: float64, :data:`DECIMALS` decimals, NaN kept."""
    return np.round(np.asarray(values, dtype=np.float64), DECIMALS)


def curve_columns(curve: EmotionCurve) -> dict[str, np.ndarray]:
    """One song's rows of the per-step table: ``time_s``, each target and its band's
    bounds, rounded."""
    return {"time_s": rounded(curve.times_s),
            **{key: rounded(curve.column(key)) for key in VALUE_COLUMNS}}


def _cell(value: object) -> object:
    """A CSV cell: floats with :data:`DECIMALS` decimals, NaN (no value) as empty."""
    if isinstance(value, float):
        return "" if value != value else f"{value:.{DECIMALS}f}"
    return value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets run as a formula


def spreadsheet_text(text: str) -> str:
    """``text`` with a ``'`` in front when a spreadsheet would run it as a formula
    (OWASP's advice for CSV files that people open)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def summary_row(curve: EmotionCurve) -> dict[str, object]:
    """The summary's values of one song (:data:`SUMMARY_COLUMNS`), rounded."""
    summary = curve.summary()
    return {key: round(value, DECIMALS) if isinstance(value, float) else value
            for key, value in summary.items()}


def write_csv_table(curves: Iterable[EmotionCurve], path: Path) -> None:
    """``TestSongPredicted.csv``: one row per song and time step, empty cells where a
    target has no value (valence before its first full context), song names as they
    are (data for programs)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8",
                                        errors="surrogateescape") as handle:
        writer = csv.writer(handle)
        writer.writerow(TABLE_COLUMNS)
        for curve in curves:
            columns = curve_columns(curve)
            writer.writerows(zip([curve.song] * len(curve.times_s),
                                 *(map(_cell, columns[key].tolist())
                                   for key in TABLE_COLUMNS[1:])))


def _batches(curves: Iterable[EmotionCurve], size: int) -> Iterator[list[EmotionCurve]]:
    batch: list[EmotionCurve] = []
    for curve in curves:
        batch.append(curve)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_parquet_table(curves: Iterable[EmotionCurve], folder: Path,
                        songs_per_part: int = PARQUET_SONGS) -> None:
    """The per-step table as a Parquet dataset ``folder/part-NNNNN.parquet`` of
    ``songs_per_part`` songs each: the CSV's columns and values (pyarrow, imported here)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    for number, batch in enumerate(_batches(curves, songs_per_part)):
        columns = [curve_columns(curve) for curve in batch]
        table = pa.table({
            "song": pa.array([unicode_text(curve.song) for curve in batch
                              for _ in curve.times_s], pa.string()),
            **{key: pa.array(np.concatenate([c[key] for c in columns]), pa.float64())
               for key in TABLE_COLUMNS[1:]}})
        with atomic_path(folder / f"part-{number:05d}.parquet") as tmp:
            pq.write_table(table, tmp)


def write_summary(curves: Iterable[EmotionCurve], path: Path) -> None:
    """``TestSongSummary.csv``, the table people open in a spreadsheet: one row per song;
    names a spreadsheet would run as a formula are quoted (:func:`spreadsheet_text`)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8",
                                        errors="surrogateescape") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        for curve in curves:
            row = summary_row(curve)
            row["song"] = spreadsheet_text(row["song"])
            writer.writerow([_cell(row[key]) for key in SUMMARY_COLUMNS])


def write_json_table(curves: Iterable[EmotionCurve], path: Path) -> None:
    """``TestSongPredicted.json``: per song its summary and its curves (null where a
    target has no value)."""
    record = []
    for curve in curves:
        columns = curve_columns(curve)
        record.append(summary_row(curve) | {
            key: [None if v != v else v for v in columns[key].tolist()]
            for key in TABLE_COLUMNS[1:]})
    write_json(path, record)


def write_tables(curves: Sequence[EmotionCurve], paths: dict[str, Path]) -> None:
    """The tables that ``paths`` asks for (roles ``table``, ``parquet``, ``summary``,
    ``json``); ``curves`` is read once per table."""
    writers = {"table": write_csv_table, "parquet": write_parquet_table,
               "summary": write_summary, "json": write_json_table}
    for role, write in writers.items():
        if role in paths:
            write(curves, paths[role])

"""A prediction run over any number of songs: the same resumable run as ``MAIN.py``.

A run (:class:`CatalogRun`) is checked before any work (files found, output folder
writable, models read, options consistent); :meth:`CatalogRun.run` then sends
:class:`SongJob` s to an engine (this process or Dask workers, each with its own
:class:`~emoreco.model.predictor.Predictor`), writes the curves into resumable parts
(:mod:`emoreco.runs.parts`) as they arrive, and commits the tables, pictures and report
as one output set (:mod:`emoreco.runs.output_set`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.audio.features import grid_indices
from emoreco.core.digest import short_digest
from emoreco.core.engine import Engine, check_not_a_worker_import, open_engine
from emoreco.core.errors import ConfigError, EmorecoError
from emoreco.core.extras import require
from emoreco.data.provenance import demo_warning, describe
from emoreco.model.curves import EmotionCurve
from emoreco.model.files import read_card
from emoreco.model.meta import ModelMeta
from emoreco.model.predictor import Predictor, read_model_metas
from emoreco.model.targets import TARGETS
from emoreco.outputs.tables import KNOWN_OUTPUTS, output_paths, write_tables
from emoreco.runs.inputs import find_audio_files, unique_song_names
from emoreco.runs.output_set import OutputSet, check_writable
from emoreco.runs.parts import PartStore, PartWriter, SongRecord, StoredCurves, file_fingerprint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SongJob:
    """One song of a run, as a worker needs it: where, under which name, which span.

    ``size`` and ``mtime_ns`` identify the file's content when the run was planned.
    """

    path: str
    name: str
    size: int
    mtime_ns: int
    start_s: float = 0.0
    end_s: float | None = None


def song_jobs(files: list[Path], names: dict[Path, str], start_s: float,
              end_s: float | None) -> list[SongJob]:
    """A job per file, with absolute paths (workers may run in another folder)."""
    return [SongJob(str(path.resolve()), names[path], *file_fingerprint(path), start_s, end_s)
            for path in files]


@dataclass(frozen=True)
class PredictorSetup:
    """Builds a :class:`Predictor` (once per worker): picklable, with absolute paths."""

    models_dir: str
    model_names: tuple[tuple[str, str], ...]

    def __call__(self) -> Predictor:
        return Predictor(self.models_dir, dict(self.model_names))


def predict_song(predictor: Predictor, job: SongJob) -> EmotionCurve | str:
    """The curves of one job's song, or the one-line reason it failed.

    Nothing one file does stops the batch: unusable audio and read errors are reported
    as such, anything else as an internal error with its type.
    """
    try:
        return predictor.predict_file(job.path, job.start_s, job.end_s, job.name)
    except (EmorecoError, OSError) as exc:
        return str(exc)
    except MemoryError as exc:
        return f"{job.path}: not enough memory ({exc or 'MemoryError'})"
    except Exception as exc:  # noqa: BLE001 - one song's bug must not lose the others
        return f"{job.path}: internal error {type(exc).__name__}: {exc}"


def song_outcomes(engine: Engine, setup: PredictorSetup, predictor: Predictor,
                  jobs: Sequence[SongJob]) -> Iterator[tuple[SongJob, EmotionCurve | str]]:
    """Each job with its curves, or the one-line reason it has none (also when the engine
    lost it), as results arrive; ``predictor`` serves the in-process engines."""
    for outcome in engine.map_unordered(setup, predict_song, jobs, state=predictor):
        job = outcome.item
        yield job, (outcome.value if outcome.error is None else f"{job.path}: {outcome.error}")


def predict_into_parts(engine: Engine, setup: PredictorSetup,
                       predictor: Predictor, jobs: list[SongJob], writer: PartWriter,
                       progress: bool = True, done: int = 0) -> None:
    """Run every job on ``engine`` and write each result to ``writer`` as it arrives.

    ``predictor`` (already loaded here) serves the in-process engine; workers build
    theirs with ``setup``. ``done`` songs of an earlier run count on the progress bar.
    """
    from tqdm import tqdm

    with tqdm(total=done + len(jobs), initial=done, desc="songs", unit="song",
              disable=not progress, smoothing=0.05) as bar:
        try:
            for job, result in song_outcomes(engine, setup, predictor, jobs):
                record = SongRecord(job.name, job.path, job.size, job.mtime_ns)
                if isinstance(result, EmotionCurve):
                    writer.add(replace(record, summary=result.summary()), result)
                else:
                    writer.add(replace(record, error=str(result)), None)
                bar.update()
        finally:  # Ctrl-C or a cluster failure: keep the songs finished so far
            writer.flush()


# Estimated seconds of work per song and per second of its audio in one process (decode,
# features, models), from benchmarks/bench_engines.py: what chooses the engine of a small
# batch (:func:`~emoreco.core.engine.choose_local_engine`).
WORK_PER_SONG_S = 0.02
WORK_PER_AUDIO_S = 0.004
PLANNED_SONGS = 64  # above this many songs, the work is taken as large without probing


def estimated_work_s(jobs: Sequence[SongJob]) -> float | None:
    """Seconds the songs would take one after the other, from their headers' durations;
    None (large, unknown) for more than :data:`PLANNED_SONGS` songs."""
    if len(jobs) > PLANNED_SONGS:
        return None
    from emoreco.audio.decode import header_duration_s

    total = 0.0
    for job in jobs:
        duration = header_duration_s(Path(job.path))
        end = duration if job.end_s is None or duration is None else min(duration, job.end_s)
        audio_s = (end - job.start_s) if end is not None else 240.0  # unknown: a long song
        total += WORK_PER_SONG_S + WORK_PER_AUDIO_S * max(audio_s, 0.0)
    return total


def predict_catalog(predictor: Predictor, setup: PredictorSetup, jobs: list[SongJob],
                    work_dir: Path, scheduler: str | None = None, n_jobs: int = -1,
                    songs_per_part: int = 256, progress: bool = True
                    ) -> tuple[StoredCurves, dict[str, str]]:
    """Predict every job into parts in ``work_dir``, resuming the work found there.

    Songs with a result in ``work_dir`` for their unchanged file are skipped (failed
    ones are tried again); the others run on the engine (:func:`open_engine`).

    Returns
    -------
    curves : StoredCurves
        The songs that have curves, in the order of ``jobs``, read from the parts.
    failures : dict of str to str
        File (absolute path) -> why it has none.
    """
    fingerprints = {job.path: (job.name, job.size, job.mtime_ns) for job in jobs}
    store = PartStore(work_dir)
    done = {path for path, (_, record) in store.latest(fingerprints).items()
            if record.error is None}
    if done:
        log.info("resuming: %d of %d songs already done", len(done), len(jobs))
    todo = [job for job in jobs if job.path not in done]
    with open_engine(scheduler, n_jobs, len(todo), estimated_work_s(todo)) as engine:
        predict_into_parts(engine, setup, predictor, todo, store.writer(songs_per_part),
                           progress, len(done))
    if done:
        log.info("%d songs predicted now, %d in the interrupted run", len(todo), len(done))
    latest = store.latest(fingerprints)
    failures = {job.path: latest[job.path][1].error or "" for job in jobs
                if latest[job.path][1].error is not None}
    return StoredCurves([(latest[job.path][0], job.name) for job in jobs
                         if job.path not in failures]), failures


AUTO_PLOT_SONGS = 12  # above this, PNGs are drawn only with plots=True
AUTO_PARQUET_SONGS = 5000  # above this, the per-step table is Parquet parts by default
EMBED_AUDIO_SONGS = 200  # about 140 kB per 45-s song
TABLE_FORMATS = ("auto", "csv", "parquet")


@dataclass(frozen=True)
class CatalogOptions:
    """Everything that shapes a prediction run (the options of ``MAIN.py``).

    Attributes
    ----------
    out_dir, models_dir : Path
        Where the outputs go (``results``) and the trained models are (``models``).
    model_names : mapping of str to str
        Target -> model name (default: the target's name).
    start_s, end_s : float or None
        Time span; None: the whole song (``start_s`` must lie on the models' grid).
    recursive, glob
        Look in sub-folders; only files whose name matches this shell pattern.
    jobs, scheduler
        Local worker processes (-1: all cores), or a Dask scheduler's address.
    table : str
        ``auto`` (CSV up to 5,000 songs, then Parquet), ``csv`` or ``parquet``.
    plots : bool or None
        PNG pictures (None: for up to 12 songs).
    report, json, embed_audio
        The HTML page, ``TestSongPredicted.json``, Opus audio inside the page.
    overwrite : bool
        Replace existing outputs (and an interrupted run of other models or span).
    part_songs : int
        Songs per part written as the run goes (the most a kill can lose).
    progress : bool
        A progress bar on standard error.
    """

    out_dir: Path = Path("results")
    models_dir: Path = Path("models")
    model_names: Mapping[str, str] = field(default_factory=dict)
    start_s: float | None = None
    end_s: float | None = None
    recursive: bool = False
    glob: str | None = None
    jobs: int = -1
    scheduler: str | None = None
    table: str = "auto"
    plots: bool | None = None
    report: bool = True
    json: bool = False
    embed_audio: bool = False
    overwrite: bool = False
    part_songs: int = 256
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "out_dir", Path(self.out_dir))
        object.__setattr__(self, "models_dir", Path(self.models_dir))
        for name in ("start_s", "end_s"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be a finite number of seconds >= 0, "
                                  f"got {value}")
        if self.end_s is not None and self.end_s <= (self.start_s or 0.0):
            raise ConfigError(f"--end ({self.end_s}) must be after --start "
                              f"({self.start_s or 0.0})")
        if self.table not in TABLE_FORMATS:
            raise ConfigError(f"table must be one of {TABLE_FORMATS}, got {self.table!r}")
        if self.jobs == 0 or self.part_songs < 1:
            raise ConfigError("jobs must not be 0 and part_songs must be at least 1")
        unknown = set(self.model_names) - set(TARGETS)
        if unknown:
            raise ConfigError(f"unknown target(s) {sorted(unknown)}; known: {list(TARGETS)}")


@dataclass(frozen=True)
class CatalogResult:
    """What a run wrote: the files, the number of songs with curves, the failed files
    (path -> reason) and the summaries of up to 12 songs (for the terminal)."""

    written: list[Path]
    songs: int
    failures: dict[str, str]
    summaries: list[dict[str, Any]]


def check_start(start_s: float, hop_s: float) -> None:
    """``start_s`` on the models' time grid."""
    grid_indices(np.array([start_s]), hop_s, f"--start must be a multiple of {hop_s:g} s")


def audio_sources(files: list[Path], names: dict[Path, str], out_dir: Path, embed: bool,
                  sample_rate: int) -> dict[str, str]:
    """Song name -> what the report's player plays: a link relative to the report, or
    (``embed``) the song as an Opus data URI."""
    import base64
    import urllib.parse

    from emoreco.audio.decode import encode_opus, load_audio

    sources = {}
    for path in files:
        if embed:
            try:
                opus = encode_opus(load_audio(path, sample_rate), sample_rate)
            except EmorecoError:
                continue  # already reported as a failed song
            sources[names[path]] = "data:audio/ogg;base64," + base64.b64encode(opus).decode()
        else:
            relative = os.path.relpath(path.resolve(), out_dir.resolve())
            sources[names[path]] = urllib.parse.quote(Path(relative).as_posix(),
                                                      errors="surrogateescape")
    return sources


def run_key(metas: Mapping[str, ModelMeta], start_s: float, end_s: float | None) -> str:
    """What makes two runs' per-song results interchangeable: the models' files and the
    time span (a resumed run must match)."""
    return short_digest({"models": {target: meta.sha256 for target, meta in sorted(metas.items())},
                         "start_s": start_s, "end_s": end_s, "parts": 1})


def _describes(predictor: Predictor) -> dict[str, str]:
    """Target -> what its value at time t describes (the report's text)."""
    described = {}
    for target, model in predictor.models.items():
        context, span = model.spec.context_s(model.params), model.spec.span_s(model.params)
        described[target] = (f"the {span:g}-s window from t" if not context else
                             f"the {span:g}-s segment from t, after {context:g} s of context")
    return described


def write_outputs(curves: Sequence[EmotionCurve], paths: dict[str, Path],
                  failures: dict[str, str], warning: str | None = None,
                  audio: dict[str, str] | None = None,
                  describes: dict[str, str] | None = None,
                  cards: dict[str, str] | None = None,
                  band_levels: dict[str, float] | None = None) -> None:
    """Tables, then the PNG pictures and the HTML page where ``paths`` asks for them
    (``band_levels``: target -> the level of its model's band, for their labels).

    matplotlib is imported only when PNG pictures are drawn.
    """
    write_tables(curves, paths)
    if "plane" in paths:
        from emoreco.outputs.plots import plane_figure, png_bytes, tracks_figure, write_png

        for target in TARGETS:
            write_png(png_bytes(tracks_figure(curves, target, warning,
                                              (band_levels or {}).get(target))), paths[target])
        write_png(png_bytes(plane_figure(curves, warning)), paths["plane"])
    if "html" in paths:
        from emoreco.outputs.page import write_html_report

        write_html_report(curves, paths["html"], failures, warning, audio, describes=describes,
                          cards=cards, band_levels=band_levels)


class CatalogRun:
    """A prediction run over files and folders: everything is checked when it is made
    (files found, output folder writable, models read and loaded, ``start_s`` on their
    grid) and the output folder is then held for this run (a second run is refused), so
    that :meth:`run` fails only for reasons the work itself meets. Use it as a context
    manager, or call :meth:`run` (which releases the folder when it ends).

    Parameters
    ----------
    inputs : sequence of path
        Audio files and folders.
    options : CatalogOptions

    Raises
    ------
    EmorecoError
        No audio files, no or broken models, an option that does not fit them.
    OSError
        The output folder cannot be written.
    """

    def __init__(self, inputs: Sequence[str | Path],
                 options: CatalogOptions = CatalogOptions()) -> None:
        check_not_a_worker_import()
        self.options = options
        self.files = find_audio_files(inputs, options.recursive, options.glob)
        if options.embed_audio and len(self.files) > EMBED_AUDIO_SONGS:
            raise ConfigError(f"--embed-audio is for portable pages of up to "
                              f"{EMBED_AUDIO_SONGS} songs, not {len(self.files)}; without it "
                              "the page links the files")
        pictures = (options.plots if options.plots is not None
                    else len(self.files) <= AUTO_PLOT_SONGS)
        self.parquet = options.table == "parquet" or (
            options.table == "auto" and len(self.files) > AUTO_PARQUET_SONGS)
        if self.parquet:
            require("pyarrow", "catalog", "a Parquet table (--table parquet)")
        if options.scheduler is not None:
            require("distributed", "catalog", "--scheduler")
        elif options.jobs not in (1, -1):  # -1, the default, runs in this process without Dask
            require("distributed", "catalog", f"--jobs {options.jobs}")
        self.roles = output_paths(options.out_dir, options.json, pictures, options.report,
                                  self.parquet)
        check_writable(options.out_dir)  # fails now, not after the work
        names = {target: options.model_names.get(target, target) for target in TARGETS}
        metas = read_model_metas(options.models_dir, names)
        self.start_s = 0.0 if options.start_s is None else options.start_s
        check_start(self.start_s, next(iter(metas.values())).feature_params.hop_s)
        self.predictor = Predictor(options.models_dir, names, metas)
        self.model_names = names
        metas = self.predictor.metas
        self.trained_on = {target: describe(meta.data) for target, meta in metas.items()}
        self.warning = demo_warning([meta.data for meta in metas.values()])
        # last: the output folder is this run's (locked) until run() or close()
        self.outputs = OutputSet(options.out_dir, [p.name for p in self.roles.values()],
                                 options.overwrite, known_names=KNOWN_OUTPUTS,
                                 resume_key=run_key(metas, self.start_s, options.end_s))

    def close(self) -> None:
        """Release the output folder (keeping a resumable run's work); :meth:`run` does
        it when it ends."""
        self.outputs.close()

    def __enter__(self) -> "CatalogRun":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def describe_models(self) -> str:
        """What the models were trained on, in one phrase."""
        shared = set(self.trained_on.values())
        return (shared.pop() if len(shared) == 1 else
                "; ".join(f"{target}: {d}" for target, d in self.trained_on.items()))

    def run(self, report_failure: Callable[[str], None] | None = None) -> CatalogResult:
        """Predict every song (resuming an interrupted run of the same models and span)
        and commit the outputs as one set.

        ``report_failure`` is told each failed file's reason once the songs are done,
        before the outputs are written (default: a warning in the log). No output is
        committed when no song could be predicted (``songs`` is then 0).
        """
        if self.outputs.lock.descriptor is None:
            raise EmorecoError("this run has ended (a CatalogRun runs once); make a new one")
        options, predictor = self.options, self.predictor
        names = unique_song_names(self.files)
        jobs = song_jobs(self.files, names, self.start_s, options.end_s)
        setup = PredictorSetup(str(options.models_dir.resolve()),
                               tuple(self.model_names.items()))
        with self.outputs as outputs:
            curves, failures = predict_catalog(
                predictor, setup, jobs, outputs.work_dir, options.scheduler, options.jobs,
                options.part_songs, options.progress)
            for message in failures.values():
                (report_failure or (lambda m: log.warning("failed: %s", m)))(message)
            if not curves:  # nothing a rerun could resume: no staging folder is left
                outputs.abandon(keep_work=False)
                return CatalogResult([], 0, failures, [])
            audio = (audio_sources([f for f, job in zip(self.files, jobs)
                                    if job.path not in failures], names, options.out_dir,
                                   options.embed_audio, predictor.params.sample_rate)
                     if "html" in self.roles else {})
            cards = {target: card for target, meta in predictor.metas.items()
                     if (card := read_card(options.models_dir, meta.name)) is not None}
            write_outputs(curves, {role: outputs.path(p.name) for role, p in self.roles.items()},
                          failures, self.warning, audio, _describes(predictor), cards,
                          predictor.band_levels)
            shown = [c.summary() for c in curves] if len(curves) <= AUTO_PLOT_SONGS else []
            models = {target: {"name": meta.name, "trained_on": self.trained_on[target],
                               "data": meta.data} for target, meta in predictor.metas.items()}
            from emoreco import __version__

            written = outputs.commit({"emoreco_version": __version__, "warning": self.warning,
                                      "songs": len(curves), "models": models,
                                      "failures": failures, "start_s": self.start_s,
                                      "end_s": options.end_s})
        return CatalogResult(written, len(curves), failures, shown)


def run_catalog(inputs: Sequence[str | Path], **options: Any) -> CatalogResult:
    """Predict the curves of every audio file in ``inputs`` and write the tables,
    pictures and report into ``out_dir``: the same resumable run as ``MAIN.py``.

    ``options`` are the fields of :class:`CatalogOptions` (``out_dir``, ``models_dir``,
    ``jobs``, ``overwrite``, ...). The demo warning, if any, is logged.

    Examples
    --------
    >>> result = run_catalog(["songs/"], out_dir="results", jobs=2)  # doctest: +SKIP
    >>> result.written[0]  # doctest: +SKIP
    PosixPath('results/TestSongPredicted.csv')
    """
    with CatalogRun(inputs, CatalogOptions(**options)) as run:
        if run.warning:
            log.warning("%s", run.warning)
        return run.run()

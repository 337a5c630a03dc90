"""``emoreco tag``: analyse songs and write their values into the files' own tags.

The songs run on the same engines as ``MAIN.py`` (this process, threads, local Dask
workers or a cluster, chosen by the work) with the same per-song prediction, so a tag
equals ``MAIN.py``'s song mean for the same file and models. Each file is tagged as soon
as its curve arrives (:func:`~emoreco.outputs.tags.write_tags`, which never leaves a file
half-written), so an interrupted run resumes by itself: files already tagged by the same
models are skipped without being decoded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from emoreco.core.digest import short_digest
from emoreco.core.engine import open_engine
from emoreco.core.errors import ConfigError
from emoreco.core.extras import require
from emoreco.data.provenance import demo_warning
from emoreco.model.curves import EmotionCurve
from emoreco.model.meta import ModelMeta
from emoreco.model.predictor import Predictor
from emoreco.outputs.tags import (MODELS_TAG, MOOD_WORDS, TagChange, TagError, read_tags,
                                  remove_stale_copies, tag_names, tag_values, write_tags)
from emoreco.runs.catalog import PredictorSetup, estimated_work_s, song_jobs, song_outcomes
from emoreco.runs.inputs import find_audio_files, unique_song_names

log = logging.getLogger(__name__)


def models_digest(metas: Mapping[str, ModelMeta]) -> str:
    """``EMORECO_MODELS``: 12 hex digits naming the models' files (stale tags show)."""
    return short_digest({target: meta.sha256 for target, meta in sorted(metas.items())}, 12)


@dataclass(frozen=True)
class TagOptions:
    """The options of ``emoreco tag``.

    Attributes
    ----------
    models_dir, model_names
        The trained models (target -> model name).
    mood : bool
        Also write ``MOOD`` from the quadrant (kept where the file has one unless
        ``force``).
    force : bool
        Analyse and tag files already tagged by these models; replace a mood.
    dry_run : bool
        Analyse and report the changes; write nothing.
    keep_mtime : bool
        Tagged files keep their modification time.
    allow_demo : bool
        Tag with models trained on the synthetic demo corpus (refused by default: their
        values mean nothing for real music, and tags outlive the run).
    recursive, glob
        Folders' subfolders; only names matching a shell pattern.
    jobs, scheduler
        As ``MAIN.py``'s ``--jobs`` and ``--scheduler``.
    progress : bool
        A progress bar.
    """

    models_dir: Path = Path("models")
    model_names: Mapping[str, str] = field(default_factory=dict)
    mood: bool = False
    force: bool = False
    dry_run: bool = False
    keep_mtime: bool = True
    allow_demo: bool = False
    recursive: bool = True
    glob: str | None = None
    jobs: int = -1
    scheduler: str | None = None
    progress: bool = True


@dataclass
class TagResult:
    """What a tagging run did: changes per file, files skipped, failures (path -> why)."""

    changed: list[TagChange] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failures: dict[Path, str] = field(default_factory=dict)


def check_not_demo(predictor: Predictor, allowed: bool, how: str) -> None:
    """Refuse models trained on the demo corpus unless ``allowed`` (``how``: the option
    that allows them)."""
    warning = demo_warning([meta.data for meta in predictor.metas.values()])
    if warning and not allowed:
        raise ConfigError(f"not tagging with demo models: {warning} (or, to try the "
                          f"pipeline, {how})")


def already_tagged(path: Path, models: str) -> bool:
    """Whether ``path`` has every value tag and ``EMORECO_MODELS == models`` (read from
    its tags alone, without decoding)."""
    found = read_tags(path)
    return found.get(MODELS_TAG) == models and all(
        name in found for name in tag_names() if name != MODELS_TAG)


def analyse_files(files: Sequence[Path], predictor: Predictor, models_dir: str | Path,
                  model_names: Mapping[str, str], jobs: int = -1,
                  scheduler: str | None = None, progress: bool = True
                  ) -> Iterator[tuple[Path, EmotionCurve | str]]:
    """Each file's curves (or the one-line reason it has none), as they arrive.

    The songs run on the engine ``MAIN.py`` would choose for them (``jobs``,
    ``scheduler``); ``predictor`` (loaded from ``models_dir``) serves this process.
    """
    if not files:
        return
    from tqdm import tqdm

    names = unique_song_names(list(files))
    song_list = song_jobs(list(files), names, 0.0, None)
    by_job = {job.path: path for job, path in zip(song_list, files)}
    setup = PredictorSetup(str(Path(models_dir).resolve()), tuple(sorted(model_names.items())))
    work_s = estimated_work_s(song_list)
    with open_engine(scheduler, jobs, len(song_list), work_s) as engine, \
            tqdm(total=len(song_list), desc="songs", unit="song", disable=not progress) as bar:
        for job, curve in song_outcomes(engine, setup, predictor, song_list):
            bar.update()
            yield by_job[job.path], curve


def tag_files(inputs: Sequence[str | Path], options: TagOptions,
              report: Callable[[str], None] = log.warning) -> TagResult:
    """Analyse the audio files of ``inputs`` and tag each one.

    ``report`` gets one line per file that failed (unreadable, read-only, damaged tags,
    audio that cannot be predicted); the run goes on.

    Raises
    ------
    EmorecoError
        No audio files, no or broken models, mutagen not installed.
    """
    require("mutagen", "library", "emoreco tag")
    files = find_audio_files(inputs, options.recursive, options.glob)
    predictor = Predictor(options.models_dir, dict(options.model_names))
    check_not_demo(predictor, options.allow_demo or options.dry_run, "--allow-demo")
    models = models_digest(predictor.metas)
    if not options.dry_run:
        for folder in sorted({path.resolve().parent for path in files}):
            if removed := remove_stale_copies(folder):
                log.info("%s: removed %d copies left by an interrupted run", folder, removed)
    result = TagResult()
    todo = []
    for path in files:
        try:
            if not options.force and already_tagged(path, models):
                result.skipped.append(path)
                continue
        except TagError as exc:
            result.failures[path] = str(exc)
            report(str(exc))
            continue
        todo.append(path)
    if result.skipped:
        log.info("%d files already tagged by these models (--force redoes them)",
                 len(result.skipped))
    for path, curve in analyse_files(todo, predictor, options.models_dir,
                                      options.model_names, options.jobs, options.scheduler,
                                      options.progress):
        _tag_one(path, curve, models, options, result, report)
    return result


def _tag_one(path: Path, curve: EmotionCurve | str, models: str, options: TagOptions,
             result: TagResult, report: Callable[[str], None]) -> None:
    """Write one song's tags (or record why not)."""
    if not isinstance(curve, EmotionCurve):
        result.failures[path] = str(curve)
        report(str(curve))
        return
    summary = curve.summary()
    mood = MOOD_WORDS.get(summary.get("quadrant", "")) if options.mood else None
    try:
        change = write_tags(path, tag_values(summary, models), mood, options.force,
                            options.dry_run, options.keep_mtime)
    except TagError as exc:
        result.failures[path] = str(exc)
        report(str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - one file's surprise must not stop the others
        why = f"{path}: internal error {type(exc).__name__}: {exc}; file left as it was"
        result.failures[path] = why
        report(why)
        return
    (result.changed if change.changes else result.unchanged).append(
        change if change.changes else path)


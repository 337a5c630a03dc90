"""Filling the feature cache for a whole corpus, in parallel, with a progress bar."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from emoreco.core.config import FeatureParams
from emoreco.core.errors import EmorecoError
from emoreco.data.corpus import Corpus
from emoreco.data.feature_cache import FeatureCache, song_features
from emoreco.data.sources import CorpusSource, LoadedCorpus, load_source
from emoreco.core.engine import open_engine

log = logging.getLogger(__name__)


def _extract_one(_: None, job: tuple[int, Path, FeatureParams, FeatureCache]
                 ) -> tuple[int, str | None]:
    """Engine task: fill the cache for one song; return (id, error message or None).

    Nothing a song does stops the corpus: unusable audio and read errors are reported
    as such, anything else as an internal error with its type.
    """
    song_id, audio_path, params, cache = job
    try:
        song_features(audio_path, params, cache, song_id)
    except (EmorecoError, OSError) as exc:
        return song_id, str(exc)
    except Exception as exc:  # noqa: BLE001 - one song's bug must not lose the others
        return song_id, f"{audio_path}: internal error {type(exc).__name__}: {exc}"
    return song_id, None


def extract_corpus(audio: dict[int, Path], params: FeatureParams, cache: FeatureCache,
                   n_jobs: int = -1, progress: bool = True,
                   scheduler: str | None = None) -> dict[int, str]:
    """Fill the feature cache for every song, in parallel, with a progress bar.

    Workers (local processes, or those of the Dask ``scheduler``, which must see the
    audio and the cache under the same paths) write to the cache and return only a
    status, so memory stays bounded by the few songs in flight, not the corpus.

    Returns
    -------
    dict of int to str
        Songs that failed, with a one-line reason each (the others are cached).
    """
    from tqdm import tqdm

    todo = {}
    for song_id, path in audio.items():
        problem = cache.check(song_id, path)
        if problem is not None:
            if problem != "not cached":
                log.warning("song %s: %s; recomputing", song_id, problem)
            todo[song_id] = path
    failures: dict[int, str] = {}
    if not todo:
        return failures
    # absolute (workers may run in another folder) but not resolved: a song that is a
    # link to a file elsewhere is cached under its own folder and id, where training
    # looks for it
    jobs = [(i, Path(os.path.abspath(p)), params, cache) for i, p in todo.items()]
    with open_engine(scheduler, n_jobs, len(jobs)) as engine:
        for outcome in tqdm(engine.map_unordered(None, _extract_one, jobs), total=len(jobs),
                            desc="features", unit="song", disable=not progress):
            song_id, error = outcome.value or (outcome.item[0], outcome.error)
            if error is not None:
                log.warning("skipped: %s", error)
                failures[song_id] = error
    return failures


@dataclass(frozen=True)
class PreparedCorpus:
    """A corpus located, matched to its annotations of one target, and its features
    cached: what training reads."""

    loaded: LoadedCorpus
    cache: FeatureCache
    failures: dict[int, str]

    @property
    def corpus(self) -> Corpus:
        """The songs with audio and annotations."""
        return self.loaded.corpus


def prepare_corpus(source: CorpusSource, target: str, params: FeatureParams,
                   cache_dir: str | Path = "data", n_jobs: int = -1, progress: bool = True,
                   scheduler: str | None = None,
                   loaded: LoadedCorpus | None = None) -> PreparedCorpus:
    """Match ``target``'s annotations to the audio (unless ``loaded`` already did) and
    fill the feature cache.

    Songs whose audio is unusable are listed in ``failures`` (and logged), not fatal.
    """
    loaded = loaded or load_source(source, target)
    log.info("%s: %s (%s)", source, loaded.corpus.summary().replace("\n", "; "),
             loaded.annotation_file)
    # resolved: workers may run in another folder
    cache = FeatureCache(Path(cache_dir).resolve(), params, loaded.cache_namespace)
    failures = extract_corpus(loaded.corpus.audio, params, cache, n_jobs, progress, scheduler)
    if failures:
        log.warning("%s: %d song(s) skipped because their audio is unusable (listed above)",
                    source, len(failures))
    return PreparedCorpus(loaded, cache, failures)

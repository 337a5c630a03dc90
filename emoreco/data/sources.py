"""Corpora as a concept: a kind plus where it lives (``--corpus KIND:DIR``).

Kinds (:data:`CORPUS_KINDS`): ``deam`` (the official archives or the design's ``data/``
folder, :mod:`emoreco.data.layout`), ``pmemo`` (PMEmo2019, :mod:`emoreco.data.pmemo`) and
``csv`` (the user's own long CSV, :mod:`emoreco.data.user_csv`). Each kind maps its values
onto [-1, 1] and its times onto seconds in the audio; :class:`LoadedCorpus` says how, for
the model's metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from emoreco.core.digest import short_digest
from emoreco.core.errors import ConfigError
from emoreco.data.layout import locate_deam

if TYPE_CHECKING:  # the corpus modules read annotations with pandas: imported when loading
    from emoreco.data.corpus import Corpus

CORPUS_KINDS = ("deam", "pmemo", "csv")
VALUE_MAPPINGS = {
    "deam": "x (DEAM's values are in [-1, 1])",
    "pmemo": "2 * x - 1 (PMEmo's values are in [0, 1])",
    "csv": "x (the CSV's values are in [-1, 1])",
}
TIME_MAPPINGS = {
    "deam": "sample_<ms>ms: the annotation at <ms> / 1000 s into the audio",
    "pmemo": "frameTime: the annotation at frameTime s into the chorus clip",
    "csv": "time_s: the annotation at time_s s into the audio file",
}


@dataclass(frozen=True)
class CorpusSource:
    """Where a corpus is and how to read it.

    Attributes
    ----------
    kind : str
        One of :data:`CORPUS_KINDS`.
    location : Path
        A folder (``deam``, ``pmemo``) or a CSV file (``csv``).
    audio_dir, annotations_dir : Path, optional
        ``deam`` only: ``--audio-dir`` / ``--annotations-dir``.
    """

    kind: str
    location: Path | None
    audio_dir: Path | None = None
    annotations_dir: Path | None = None

    @classmethod
    def parse(cls, text: str) -> "CorpusSource":
        """``KIND:PATH`` as given to ``--corpus`` (``~`` expanded).

        Raises
        ------
        ConfigError
            An unknown kind or an empty path, naming the accepted kinds.
        """
        kind, sep, location = str(text).partition(":")
        if not sep or kind not in CORPUS_KINDS or not location:
            raise ConfigError(f"corpus {text!r} is not KIND:PATH with KIND one of "
                              f"{', '.join(CORPUS_KINDS)} (e.g. pmemo:~/PMEmo2019)")
        return cls(kind, Path(location).expanduser())

    def __str__(self) -> str:
        return f"{self.kind}:{self.location or self.annotations_dir}"


@dataclass(frozen=True)
class LoadedCorpus:
    """A corpus' songs for one target, with what its records need.

    Attributes
    ----------
    source : CorpusSource
    corpus : Corpus
        Values already on [-1, 1].
    annotation_file : Path
        The file the values came from (its digest is recorded with the model).
    audio_dir : Path
        Folder of the audio (the CSV's folder for ``csv``).
    cache_namespace : str
        Subfolder of the feature cache that only this corpus uses ("" for DEAM, whose
        cache layout predates the other kinds).
    """

    source: CorpusSource
    corpus: Corpus
    annotation_file: Path
    audio_dir: Path
    cache_namespace: str

    @property
    def value_mapping(self) -> str:
        """How the kind's values map onto [-1, 1]."""
        return VALUE_MAPPINGS[self.source.kind]

    @property
    def time_mapping(self) -> str:
        """What the kind's annotation times mean."""
        return TIME_MAPPINGS[self.source.kind]


def load_source(source: CorpusSource, target: str) -> LoadedCorpus:
    """Read ``source``'s annotations of ``target`` and match them to its audio.

    Raises
    ------
    DataLayoutError, AnnotationError
        Missing folders or files, bad rows (named by file and line).
    """
    if source.kind == "deam":
        from emoreco.data.corpus import load_corpus

        paths = locate_deam(source.location, source.audio_dir, source.annotations_dir)
        return LoadedCorpus(source, load_corpus(paths, target, source.location),
                            paths.annotation_csv(target),
                            paths.audio_dir, "")
    assert source.location is not None
    if source.kind == "pmemo":
        from emoreco.data.pmemo import AUDIO, load_pmemo, pmemo_root

        corpus, annotation_file = load_pmemo(source.location, target)
        return LoadedCorpus(source, corpus, annotation_file,
                            pmemo_root(source.location) / AUDIO, "pmemo")
    from emoreco.data.user_csv import load_user_csv

    corpus = load_user_csv(source.location, target)
    namespace = f"csv-{short_digest(str(source.location.resolve()), 8)}"
    return LoadedCorpus(source, corpus, source.location, source.location.parent, namespace)


def corpus_labels(sources: list[CorpusSource]) -> list[str]:
    """Short unique names for metrics and logs: the kind, numbered when it repeats
    (``deam``, ``pmemo``, ``csv``, ``csv-2``)."""
    labels: list[str] = []
    for source in sources:
        count = sum(1 for earlier in labels if earlier.split("-")[0] == source.kind)
        labels.append(source.kind if not count else f"{source.kind}-{count + 1}")
    return labels


def corpus_sources(deam_dir: str | Path | None = None,
                   corpora: Sequence[str | CorpusSource] = (),
                   audio_dir: str | Path | None = None,
                   annotations_dir: str | Path | None = None) -> list[CorpusSource]:
    """The training corpora from the options: ``--deam-dir`` (with ``--audio-dir`` /
    ``--annotations-dir``) is ``deam:DIR``, then every ``--corpus KIND:PATH``.

    Raises
    ------
    ConfigError
        No corpus at all, or a malformed ``KIND:PATH``.
    """
    sources = [c if isinstance(c, CorpusSource) else CorpusSource.parse(c) for c in corpora]
    if deam_dir is not None or audio_dir is not None or annotations_dir is not None:
        sources.insert(0, CorpusSource(
            "deam", Path(deam_dir).expanduser() if deam_dir is not None else None,
            Path(audio_dir) if audio_dir is not None else None,
            Path(annotations_dir) if annotations_dir is not None else None))
    if not sources:
        raise ConfigError("no corpus: give --deam-dir DIR or --corpus KIND:PATH "
                          "(deam:DIR, pmemo:DIR, csv:FILE)")
    return sources

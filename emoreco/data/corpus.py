"""The songs of a corpus that have both audio and annotations for one target."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from emoreco.data.annotations import AnnotationSeries, load_dynamic_annotations
from emoreco.audio.decode import index_audio_folder
from emoreco.data.layout import DeamPaths
from emoreco.data.raters import load_genres, load_rater_spread
from emoreco.core.errors import DataLayoutError


@dataclass
class Corpus:
    """Songs that have both audio and the requested annotations.

    Attributes
    ----------
    audio : dict of int to Path
    annotations : dict of int to AnnotationSeries
        Only songs that also have audio.
    missing_audio, missing_annotations : list of int
        Annotated songs without audio, and audio files without annotations.
    names : dict of int to str
        Display names of songs whose id the program assigned (``csv`` corpora).
    rater_spread : dict of int to AnnotationSeries
        The annotators' standard deviation over time, for songs whose per-rater
        annotations the corpus has (:mod:`emoreco.data.raters`).
    genres : dict of int to str
        Genre of the songs the corpus' metadata names one for.
    """

    audio: dict[int, Path]
    annotations: dict[int, AnnotationSeries]
    missing_audio: list[int] = field(default_factory=list)
    missing_annotations: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    rater_spread: dict[int, AnnotationSeries] = field(default_factory=dict)
    genres: dict[int, str] = field(default_factory=dict)

    @classmethod
    def matched(cls, annotations: dict[int, AnnotationSeries], audio: dict[int, Path],
                names: dict[int, str] | None = None) -> "Corpus":
        """The songs with both, and those with only one of the two, by song id."""
        both = sorted(set(annotations) & set(audio))
        return cls(audio={i: audio[i] for i in both},
                   annotations={i: annotations[i] for i in both},
                   missing_audio=sorted(set(annotations) - set(audio)),
                   missing_annotations=sorted(set(audio) - set(annotations)),
                   names=dict(names or {}))

    def name(self, song_id: int) -> str:
        """How the user knows the song: its file in a CSV corpus, else its id."""
        return self.names.get(song_id, str(song_id))

    @property
    def song_ids(self) -> list[int]:
        """Ids usable for training, sorted."""
        return sorted(self.annotations)

    def summary(self) -> str:
        """One line per fact, for the user."""
        lines = [f"{len(self.annotations)} songs with audio and annotations"]
        if self.missing_audio:
            lines.append(f"{len(self.missing_audio)} annotated songs have no audio "
                         f"(e.g. {self._examples(self.missing_audio)}); skipped")
        if self.missing_annotations:
            lines.append(f"{len(self.missing_annotations)} audio files have no annotations "
                         f"(e.g. {self._examples(self.missing_annotations)}); skipped")
        return "\n".join(lines)

    def _examples(self, song_ids: list[int]) -> str:
        return ", ".join(self.name(i) for i in song_ids[:5])


def load_corpus(paths: DeamPaths, target: str, deam_root: Path | None = None) -> Corpus:
    """Match the annotations of ``target`` (``<target>.csv``) to audio files by song id;
    with ``deam_root`` (the unzipped archives), add the raters' spread and the genres
    found there."""
    annotations = load_dynamic_annotations(paths.annotation_csv(target))
    audio = index_audio_folder(paths.audio_dir)
    if not audio:
        raise DataLayoutError(f"{paths.audio_dir}: no <song_id>.mp3/.wav/.flac/.ogg files")
    corpus = Corpus.matched(annotations, audio)
    corpus.rater_spread = load_rater_spread(deam_root, target, corpus.song_ids)
    corpus.genres = {song_id: genre for song_id, genre in load_genres(deam_root).items()
                     if song_id in corpus.annotations}
    return corpus

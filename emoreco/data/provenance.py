"""What a model was trained on: recorded at training, said at prediction.

The demo generator marks its corpus with ``demo_truth.json``; ``fetch-deam`` leaves
``emoreco_fetch.json`` with the SHA-256 of every file it unpacked from a verified
official archive. Both are looked for in the annotation folder and its parents.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emoreco.core.checks import is_relative_path, is_sha256
from emoreco.core.deam import OFFICIAL_ARCHIVE_SHA256
from emoreco.core.digest import sha256_of
from emoreco.core.errors import EmorecoError
from emoreco.core.jsonfile import UnreadableJSON, read_json

if TYPE_CHECKING:  # sources reads annotations with pandas, which prediction goes without
    from emoreco.data.sources import LoadedCorpus

log = logging.getLogger(__name__)

DEMO_MARKER = "demo_truth.json"
FETCH_RECORD = "emoreco_fetch.json"
KIND_PHRASES = {"deam": "a DEAM-layout corpus", "pmemo": "a PMEmo corpus",
                "csv": "your own annotations (csv corpus)"}
HOW_TO_TRAIN_ON_DEAM = ("train on DEAM with `make deam`, or `emoreco fetch-deam --dest ~/DEAM` "
                        "then `python MAIN_arousal.py --deam-dir ~/DEAM --overwrite` and "
                        "`python MAIN_valence.py --deam-dir ~/DEAM --overwrite` (replacing "
                        "the demo models), or install DEAM-trained models a colleague shared: "
                        "`emoreco models install BUNDLE --sha256 HEX`")


def read_fetch_record(path: Path) -> dict[str, Any]:
    """``emoreco_fetch.json``: ``archives`` (name -> what was fetched) and ``files``
    (relative path -> SHA-256), after checking its structure.

    Raises
    ------
    EmorecoError
        The file cannot be read or is not such a record (naming it and why).
    """
    try:
        record = read_json(path)
    except UnreadableJSON as exc:
        raise EmorecoError(f"{path}: damaged fetch record ({exc})"
                           ) from exc
    files = record.get("files") if isinstance(record, dict) else None
    archives = record.get("archives") if isinstance(record, dict) else None
    if not (isinstance(files, dict) and isinstance(archives, dict)
            and all(is_relative_path(name) and is_sha256(digest)
                    for name, digest in files.items())
            and all(isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
                    and isinstance(entry.get("files"), list)
                    and all(is_relative_path(name) for name in entry["files"])
                    for entry in archives.values())):
        raise EmorecoError(f"{path}: damaged fetch record (not the archives and files that "
                           "fetch-deam writes)")
    return record


def _from_official_archive(record: dict[str, Any], relative: str) -> bool:
    """Whether the record says ``relative`` was unpacked from an archive whose SHA-256
    is an official DEAM archive's (a hand-written record, or one of a custom manifest,
    says otherwise)."""
    return any(relative in entry["files"] and entry["sha256"] in OFFICIAL_SHA256
               for entry in record["archives"].values())


OFFICIAL_SHA256 = frozenset(OFFICIAL_ARCHIVE_SHA256.values())


def _find_upwards(start: Path, name: str, levels: int = 4) -> Path | None:
    for folder in [start, *start.parents][:levels + 1]:
        if (folder / name).is_file():
            return folder / name
    return None


def corpus_provenance(loaded: LoadedCorpus, n_songs: int) -> dict[str, Any]:
    """What one corpus contributed to a model: recorded in its metadata.

    ``kind``, ``annotations`` (file), ``annotations_sha256``, ``audio_dir``, ``n_songs``,
    ``values`` and ``times`` (how the kind's annotations were mapped), ``demo_corpus``;
    ``official_deam_annotations`` is True when the file matches what ``fetch-deam``
    unpacked from an archive whose SHA-256 is the official one, False when it differs
    from what was unpacked or the archive was not the official one, None when the
    corpus was not fetched by ``fetch-deam`` or is not DEAM (unknown).
    """
    annotation_file = loaded.annotation_file.resolve()
    digest = sha256_of(annotation_file)
    official: bool | None = None
    record_path = (_find_upwards(annotation_file.parent, FETCH_RECORD)
                   if loaded.source.kind == "deam" else None)
    if record_path is not None:
        try:
            record = read_fetch_record(record_path)
        except EmorecoError as exc:
            log.warning("%s; the annotations' origin is recorded as unknown", exc)
        else:
            relative = annotation_file.relative_to(record_path.parent.resolve()).as_posix()
            expected = record["files"].get(relative)
            official = None if expected is None else (
                expected == digest and _from_official_archive(record, relative))
    return {
        "kind": loaded.source.kind,
        "annotations": str(annotation_file),
        "annotations_sha256": digest,
        "audio_dir": str(loaded.audio_dir.resolve()),
        "n_songs": n_songs,
        "values": loaded.value_mapping,
        "times": loaded.time_mapping,
        "demo_corpus": _find_upwards(annotation_file.parent, DEMO_MARKER) is not None,
        "official_deam_annotations": official,
    }


def training_provenance(corpora: dict[str, dict[str, Any]],
                        test_corpus: dict[str, Any] | None = None) -> dict[str, Any]:
    """The record of a model (``ModelMeta.data``) from its corpora's records.

    ``corpora`` maps each training corpus' label to its :func:`corpus_provenance`; with a
    single corpus its fields are also at the top level, as models trained on one DEAM
    corpus have always had them. ``demo_corpus`` is True when any training corpus is the
    demo's; ``test_corpus`` is the cross-corpus evaluation's, or None.
    """
    records = list(corpora.values())
    single = records[0] if len(records) == 1 else {}
    return {**single, "n_songs": sum(int(r["n_songs"]) for r in records),
            "demo_corpus": any(bool(r.get("demo_corpus")) for r in records),
            "corpora": corpora, "test_corpus": test_corpus}


def _describe_one(data: dict[str, Any]) -> str:
    kind = data.get("kind", "deam")
    phrase = ("the synthetic DEMO corpus" if data.get("demo_corpus") else
              {True: "the official DEAM annotations (verified)",
               False: "annotations that differ from the official DEAM archive",
               }.get(data.get("official_deam_annotations"), KIND_PHRASES.get(
                   kind, "a corpus of unknown kind")))
    where = data.get("audio_dir")
    place = f" in {Path(where).parent}" if isinstance(where, str) and where else ""
    return f"{phrase}, {data.get('n_songs', '?')} songs{place}"


def describe(data: dict[str, Any]) -> str:
    """One phrase: what a model with this record was trained on."""
    if not data:
        return "an unrecorded corpus (model saved before provenance was recorded)"
    corpora = data.get("corpora")
    if isinstance(corpora, dict) and len(corpora) > 1:
        return " + ".join(f"{label}: {_describe_one(record)}" for label, record in
                          corpora.items() if isinstance(record, dict))
    return _describe_one(data)


def demo_warning(data_records: list[dict[str, Any]]) -> str | None:
    """The warning to show when any model was trained on the demo corpus, else None."""
    if not any(record.get("demo_corpus") for record in data_records):
        return None
    return ("these models were trained on the synthetic demo corpus: the curves are a "
            "demonstration of the pipeline, not meaningful for real music; "
            + HOW_TO_TRAIN_ON_DEAM)

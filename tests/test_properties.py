"""Property-based tests (Hypothesis) of every reader of untrusted files: JSON records,
fetch records and download manifests, corpora CSVs, PMEmo metadata, model metadata and
digest lists. Any bytes give a result or one clear error (an ``EmorecoError`` or the
reader's own ``ValueError``), never another exception, unbounded recursion or memory."""

import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emoreco.core.errors import EmorecoError

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

# JSON-ish text: real JSON values, their prefixes and nestings, and plain noise
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=20)
json_bytes = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v).encode()[:-1]),  # cut short
    st.integers(1, 5000).map(lambda n: b"[" * n),
    st.integers(1, 5000).map(lambda n: b'{"a":' * n),
    st.binary(max_size=300))


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@SETTINGS
@given(data=json_bytes)
def test_any_bytes_are_json_or_unreadable(data):
    from emoreco.core.jsonfile import UnreadableJSON, parse_json

    try:
        parse_json(data)
    except UnreadableJSON:
        pass


@SETTINGS
@given(data=json_bytes)
def test_any_fetch_record_is_a_record_or_one_error(tmp_path_factory, data):
    from emoreco.data.provenance import read_fetch_record

    path = _write(tmp_path_factory.mktemp("f"), "emoreco_fetch.json", data)
    try:
        record = read_fetch_record(path)
    except EmorecoError as exc:
        assert "damaged fetch record" in str(exc)
    else:
        assert isinstance(record["files"], dict) and isinstance(record["archives"], dict)


archive_entries = st.fixed_dictionaries({
    "name": st.sampled_from(["a.zip", "../x", "", "ok.zip"]) | st.text(max_size=10),
    "url": st.sampled_from(["http://127.0.0.1/a.zip", "file:///etc/passwd"]) | st.integers(),
    "size": st.integers(-5, 10**12) | st.text(max_size=3) | st.booleans(),
    "sha256": st.sampled_from(["0" * 64, "x"]) | st.none(),
    "unpacks_to": st.sampled_from(["annotations", "../up", ""]) | st.integers(),
})


@SETTINGS
@given(data=json_bytes | st.lists(archive_entries, max_size=3).map(
    lambda items: json.dumps(items).encode()))
def test_any_download_manifest_is_archives_or_one_error(tmp_path_factory, data):
    from emoreco.data.fetch import FetchError, read_manifest

    path = _write(tmp_path_factory.mktemp("m"), "manifest.json", data)
    try:
        archives = read_manifest(path)
    except FetchError as exc:
        assert "not a manifest of archives" in str(exc)
    else:
        for archive in archives:
            assert archive.url.startswith(("http://", "https://")) and archive.size >= 1


cells = st.text(alphabet=string.printable + "é\x00", max_size=12)
csv_rows = st.lists(st.lists(cells, min_size=1, max_size=5), max_size=8)


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(row) for row in [header, *rows]).encode("utf-8", "replace")


@SETTINGS
@given(rows=csv_rows, header=st.sampled_from([["audio", "time_s", "arousal", "valence"],
                                              ["audio", "time_s"], ["x"]]),
       noise=st.binary(max_size=100))
def test_any_user_csv_is_a_corpus_or_one_error(tmp_path_factory, rows, header, noise):
    from emoreco.data.user_csv import load_user_csv

    folder = tmp_path_factory.mktemp("csv")
    _write(folder, "a.wav", b"RIFF")
    for data in (_csv(header, rows), noise):
        path = _write(folder, "annotations.csv", data)
        try:
            corpus = load_user_csv(path, "arousal")
        except EmorecoError:
            continue
        assert all(song.is_relative_to(folder) for song in corpus.audio.values())


@SETTINGS
@given(rows=csv_rows, noise=st.binary(max_size=100))
def test_any_pmemo_metadata_is_files_or_one_error(tmp_path_factory, rows, noise):
    from emoreco.data.pmemo import audio_files

    root = tmp_path_factory.mktemp("pmemo")
    (root / "chorus").mkdir()
    for data in (_csv(["musicId", "fileName", "title"], rows), noise):
        _write(root, "metadata.csv", data)
        try:
            files = audio_files(root)
        except EmorecoError:
            continue
        assert all(path.parent == root / "chorus" for path in files.values())
        assert all(0 <= song_id <= 999_999_999 for song_id in files)


@pytest.fixture(scope="module")
def model_copy(trained_models, tmp_path_factory) -> Path:
    import shutil

    folder = tmp_path_factory.mktemp("models") / "models"
    shutil.copytree(trained_models / "models", folder)
    (folder / "arousal.sha256").unlink()  # the meta is replaced by each example
    return folder


meta_edits = st.dictionaries(
    st.sampled_from(["target", "input_shape", "feature_params", "train_params", "scaler",
                     "data", "song_ids", "history", "schema_version", "sha256"]),
    json_values, max_size=4)


@SETTINGS
@given(data=json_bytes, edits=meta_edits)
def test_any_model_meta_is_a_model_or_one_error(model_copy, data, edits):
    from emoreco.core.errors import ModelError
    from emoreco.model.predictor import read_model_metas

    path = model_copy / "arousal.meta.json"
    original = path.read_bytes()
    record = json.loads(original)
    record.update(edits)
    try:
        for candidate in (data, json.dumps(record).encode()):
            path.write_bytes(candidate)
            try:
                metas = read_model_metas(model_copy)
            except ModelError:
                continue
            assert metas["arousal"].feature_params.sample_rate <= 48000
    finally:
        path.write_bytes(original)


@SETTINGS
@given(data=st.binary(max_size=400) | st.lists(
    st.tuples(st.sampled_from(["0" * 64, "z" * 64]),
              st.sampled_from(["arousal.json", "arousal.onnx", "../x", "other.json"])),
    max_size=6).map(lambda lines: "".join(f"{d}  {n}\n" for d, n in lines).encode()))
def test_any_digest_list_is_digests_or_one_error(tmp_path_factory, data):
    from emoreco.core.errors import ModelError
    from emoreco.model.files import ModelFiles, read_digests

    folder = tmp_path_factory.mktemp("d")
    _write(folder, "arousal.sha256", data)
    try:
        listed = read_digests(ModelFiles.at(folder, "arousal"))
    except ModelError:
        return
    assert listed is not None and set(listed) <= {"arousal.json", "arousal.onnx"}

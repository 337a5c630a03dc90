"""fetch-deam against a local HTTP server (127.0.0.1, started here) serving small archives
of the official layout with their own manifest."""

import hashlib
import io
import json
import subprocess
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from emoreco.cli import main_module
from emoreco.data.layout import locate_deam
from emoreco.data.provenance import corpus_provenance
from emoreco.data.sources import CorpusSource, load_source

DYNAMIC = "annotations/annotations averaged per song/dynamic (per second annotations)"


class ArchiveServer:
    """Serves ``files`` with Range support; can drop a connection, send more than the
    file, send forever, or answer a range request with the wrong range."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, str | None]] = []
        self.drop_after: dict[str, int] = {}  # name -> bytes sent before hanging up once
        self.extra: dict[str, bytes] = {}  # name -> bytes sent after the file
        self.endless: set[str] = set()  # names whose body does not end (64 MB: a bound
        # that keeps a broken client from filling this machine's disk)
        self.wrong_range: set[str] = set()  # names whose 206 answers start at byte 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                server.requests.append((name, self.headers.get("Range")))
                if name not in server.files:
                    self.send_error(404)
                    return
                body, start = server.files[name] + server.extra.get(name, b""), 0
                if name in server.endless:
                    self.send_response(200)
                    self.end_headers()
                    try:
                        for _ in range((64 << 20) // len(body)):
                            self.wfile.write(body)
                    except OSError:  # the client hung up, as it must
                        pass
                    return
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    if name in server.wrong_range:
                        start = 0
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/"
                                                      f"{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                cut = server.drop_after.pop(name, None)
                if cut is not None:
                    self.wfile.write(body[start:cut])
                    self.wfile.flush()
                    self.connection.shutdown(2)  # the connection drops mid-transfer
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def official_like(tiny_deam, tmp_path):
    """A server with DEAM_Annotations.zip and DEAM_audio.zip in the official layout."""
    annotations = {f"{DYNAMIC}/{name}": (tiny_deam / DYNAMIC / name).read_bytes()
                   for name in ("arousal.csv", "valence.csv")}
    audio = {f"MEMD_audio/{p.name}": p.read_bytes()
             for p in sorted((tiny_deam / "MEMD_audio").glob("*.mp3"))[:3]}
    files = {"DEAM_Annotations.zip": _zip(annotations), "DEAM_audio.zip": _zip(audio)}
    server = ArchiveServer(files)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([
        {"name": name, "url": f"{server.url}/{name}", "size": len(data),
         "sha256": hashlib.sha256(data).hexdigest(),
         "unpacks_to": "annotations" if "Annotations" in name else "MEMD_audio"}
        for name, data in files.items()]))
    yield server, manifest
    server.close()


def _fetch(dest: Path, manifest: Path, *extra: str) -> int:
    return main_module(["fetch-deam", "--dest", str(dest), "--manifest", str(manifest),
                        "--quiet", *extra])


def test_fetch_unpacks_the_official_layout_and_a_rerun_downloads_nothing(official_like,
                                                                        tmp_path, monkeypatch):
    from emoreco.data import provenance

    server, manifest = official_like
    dest = tmp_path / "DEAM"
    assert _fetch(dest, manifest) == 0
    paths = locate_deam(dest)
    assert len(list(paths.audio_dir.glob("*.mp3"))) == 3
    record = json.loads((dest / "emoreco_fetch.json").read_text())
    assert set(record["archives"]) == {"DEAM_Annotations.zip", "DEAM_audio.zip"}
    data = corpus_provenance(load_source(CorpusSource("deam", dest), "arousal"), 3)
    # verified against the custom manifest, but that archive is not the official one
    assert data["official_deam_annotations"] is False
    official = record["archives"]["DEAM_Annotations.zip"]["sha256"]
    monkeypatch.setattr(provenance, "OFFICIAL_SHA256", frozenset({official}))
    data = corpus_provenance(load_source(CorpusSource("deam", dest), "arousal"), 3)
    assert data["official_deam_annotations"] is True  # matches the official archive
    (paths.annotation_csv("arousal")).write_text("song_id,sample_15000ms\n2,0.1\n")
    data = corpus_provenance(load_source(CorpusSource("deam", dest), "arousal"), 1)
    assert data["official_deam_annotations"] is False  # edited after unpacking
    count = len(server.requests)
    (paths.annotation_csv("arousal")).unlink()  # a missing file is fetched again ...
    assert _fetch(dest, manifest) == 0
    assert [name for name, _ in server.requests[count:]] == []  # ... from the kept zip
    assert paths.annotation_csv("arousal").is_file()
    assert _fetch(dest, manifest) == 0 and len(server.requests) == count


def test_a_dropped_connection_is_resumed_with_a_range_request(official_like, tmp_path):
    server, manifest = official_like
    server.drop_after["DEAM_audio.zip"] = 100_000
    assert _fetch(tmp_path / "DEAM", manifest) == 0
    audio_requests = [r for name, r in server.requests if name == "DEAM_audio.zip"]
    assert audio_requests == [None, "bytes=100000-"]
    assert len(list((tmp_path / "DEAM" / "MEMD_audio").glob("*.mp3"))) == 3


def test_a_corrupted_archive_is_refused_and_kept_for_inspection(official_like, tmp_path,
                                                                capsys):
    server, manifest = official_like
    good = server.files["DEAM_audio.zip"]
    body = bytearray(good)
    body[5000] ^= 0xFF  # one flipped byte, same size
    server.files["DEAM_audio.zip"] = bytes(body)
    dest = tmp_path / "DEAM"
    assert _fetch(dest, manifest) == 2
    err = capsys.readouterr().err
    assert "DEAM_audio.zip.part: SHA-256" in err and "kept for inspection" in err
    assert (dest / "downloads" / "DEAM_audio.zip.rejected").read_bytes() == bytes(body)
    assert not (dest / "MEMD_audio").exists()  # nothing unpacked from it
    server.files["DEAM_audio.zip"] = good  # the mirror is mended: the next run starts over
    assert _fetch(dest, manifest) == 0
    assert len(list((dest / "MEMD_audio").glob("*.mp3"))) == 3


@pytest.mark.parametrize("fault", ["extra", "endless"])
def test_a_download_never_grows_past_the_manifests_size(official_like, tmp_path, capsys, fault):
    server, manifest = official_like
    size = len(server.files["DEAM_audio.zip"])
    if fault == "extra":
        server.extra["DEAM_audio.zip"] = bytes(10 << 20)  # 10 MB more than declared
    else:
        server.endless.add("DEAM_audio.zip")  # a body that never ends
    dest = tmp_path / "DEAM"
    assert _fetch(dest, manifest) == 2
    err = capsys.readouterr().err
    assert "sends more than the manifest's" in err or "SHA-256" in err
    for leftover in (dest / "downloads").iterdir():
        assert leftover.stat().st_size <= size
    server.extra.clear()
    server.endless.clear()  # a healthy server: the rerun is not blocked by the first one
    assert _fetch(dest, manifest) == 0
    assert len(list((dest / "MEMD_audio").glob("*.mp3"))) == 3


def test_a_range_answer_that_does_not_continue_the_file_is_not_appended(official_like,
                                                                        tmp_path, caplog):
    server, manifest = official_like
    server.drop_after["DEAM_audio.zip"] = 100_000
    server.wrong_range.add("DEAM_audio.zip")  # 206, but from byte 0 again
    assert _fetch(tmp_path / "DEAM", manifest) == 0  # verified: the SHA-256 matched
    assert "got Content-Range 'bytes 0-" in caplog.text
    assert "downloading it again from the start" in caplog.text
    assert len(list((tmp_path / "DEAM" / "MEMD_audio").glob("*.mp3"))) == 3


def _manifest_for(tmp_path: Path, name: str, data: bytes,
                  url: str = "http://127.0.0.1:9/unused") -> Path:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([{"name": name, "url": url, "size": len(data),
                                     "sha256": hashlib.sha256(data).hexdigest(),
                                     "unpacks_to": "MEMD_audio"}]))
    return manifest


def test_an_archive_that_fails_midway_leaves_nothing_unpacked(tmp_path, capsys):
    data = {"MEMD_audio/2.mp3": b"a" * 50_000, "MEMD_audio/3.mp3": bytes(range(256)) * 400}
    archive = bytearray(_zip(data))
    with zipfile.ZipFile(io.BytesIO(bytes(archive))) as listing:
        second = listing.getinfo("MEMD_audio/3.mp3")
    archive[second.header_offset + 30 + len(second.filename) + 10] ^= 0xFF  # its data
    server = ArchiveServer({"DEAM_audio.zip": bytes(archive)})
    dest = tmp_path / "DEAM"
    try:
        assert _fetch(dest, _manifest_for(tmp_path, "DEAM_audio.zip", bytes(archive)),
                      "--base-url", server.url, "--archives", "DEAM_audio.zip") == 2
    finally:
        server.close()
    err = capsys.readouterr().err
    assert "DEAM_audio.zip: cannot be unpacked" in err and "is removed" in err
    assert not list((dest / "MEMD_audio").iterdir())  # 2.mp3 was written, then removed


def _small_filesystem(folder: Path, megabytes: int) -> Path:
    """A tmpfs of ``megabytes`` mounted at ``folder`` (root only), or skip."""
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs",
                              str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs needs root: "
                    + mounted.stderr.decode(errors="replace").strip())
    return folder


def test_an_archive_larger_than_the_free_space_is_refused_before_unpacking(tmp_path, capsys):
    rng = np.random.default_rng(0)
    entries = {f"MEMD_audio/{k}.mp3": rng.choice([48, 49], size=5_000_000).astype(np.uint8)
               .tobytes() for k in range(2, 5)}  # 15 MB that deflate to about 2 MB
    archive = _zip(entries, zipfile.ZIP_DEFLATED)
    dest = _small_filesystem(tmp_path / "DEAM", 12)
    server = ArchiveServer({"DEAM_audio.zip": archive})
    try:
        assert _fetch(dest, _manifest_for(tmp_path, "DEAM_audio.zip", archive),
                      "--base-url", server.url, "--archives", "DEAM_audio.zip") == 2
    finally:
        server.close()
        err = capsys.readouterr().err
        listing = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*"))
        subprocess.run(["umount", str(dest)], check=True)
    assert "unpacking needs 15 MB" in err and "nothing unpacked" in err
    assert listing == ["downloads", "downloads/DEAM_audio.zip"]


def test_a_zip_bomb_is_refused(tmp_path, capsys):
    archive = _zip({"annotations/a.csv": bytes(50_000_000)}, zipfile.ZIP_DEFLATED)
    server = ArchiveServer({"DEAM_Annotations.zip": archive})
    try:
        assert _fetch(tmp_path / "DEAM", _manifest_for(tmp_path, "DEAM_Annotations.zip",
                                                       archive),
                      "--base-url", server.url, "--archives", "DEAM_Annotations.zip") == 2
    finally:
        server.close()
    assert "(a zip bomb?); nothing unpacked" in capsys.readouterr().err


@pytest.mark.parametrize("damage", [b"", b"{\"archives\": [", b'{"archives": {}, "files": '
                                    b'{"../../etc/passwd": "x"}}'])
def test_a_damaged_fetch_record_is_set_aside_with_a_message(official_like, tmp_path, caplog,
                                                            damage):
    server, manifest = official_like
    dest = tmp_path / "DEAM"
    assert _fetch(dest, manifest) == 0
    (dest / "emoreco_fetch.json").write_bytes(damage)
    count = len(server.requests)
    assert _fetch(dest, manifest) == 0  # the kept archives are verified and unpacked again
    assert "emoreco_fetch.json: damaged fetch record" in caplog.text
    assert len(server.requests) == count and (dest / "emoreco_fetch.json.damaged").is_file()
    data = corpus_provenance(load_source(CorpusSource("deam", dest), "arousal"), 3)
    assert data["official_deam_annotations"] is False  # known again (a custom manifest)


@pytest.mark.parametrize("entry, message", [
    ({"size": "12"}, "size '12' is not a positive integer"),
    ({"sha256": 5}, "sha256 5 is not 64 hex digits"),
    ({"name": "../../x.zip"}, "name '../../x.zip' is not a plain file name"),
    ({"url": "file:///etc/passwd"}, "is not an http(s) URL"),
])
def test_a_manifest_field_of_the_wrong_kind_is_one_line(tmp_path, capsys, entry, message):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([{"name": "a.zip", "url": "http://127.0.0.1:9/a.zip",
                                     "size": 12, "sha256": "0" * 64, "unpacks_to": "x"}
                                    | entry]))
    assert main_module(["fetch-deam", "--dest", str(tmp_path / "d"), "--manifest",
                        str(manifest)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def test_an_entry_that_escapes_the_folder_is_refused(tmp_path, capsys):
    evil = _zip({"annotations/ok.csv": b"fine", "../../outside.txt": b"escaped"})
    server = ArchiveServer({"DEAM_Annotations.zip": evil})
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([{"name": "DEAM_Annotations.zip", "url": "http://127.0.0.1:9/unused",
                                     "size": len(evil),
                                     "sha256": hashlib.sha256(evil).hexdigest(),
                                     "unpacks_to": "annotations"}]))
    dest = tmp_path / "deep" / "DEAM"
    try:
        assert _fetch(dest, manifest, "--base-url", server.url,
                      "--archives", "DEAM_Annotations.zip") == 2
    finally:
        server.close()
    assert "'../../outside.txt' would be written outside" in capsys.readouterr().err
    assert not (tmp_path / "outside.txt").exists() and not (dest / "annotations").exists()


def test_unknown_archives_and_unreachable_servers_are_clear_errors(tmp_path, capsys):
    assert main_module(["fetch-deam", "--dest", str(tmp_path), "--archives", "nope.zip"]) == 2
    assert "unknown archive(s) nope.zip" in capsys.readouterr().err
    assert main_module(["fetch-deam", "--dest", str(tmp_path), "--base-url",
                        "http://127.0.0.1:9", "--archives", "metadata.zip", "--quiet"]) == 2
    assert "metadata.zip: download failed after 5 attempts" in capsys.readouterr().err

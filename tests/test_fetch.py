"""fetch-deam against a local HTTP server (127.0.0.1, started here) serving small archives
of the official layout with their own manifest."""

import hashlib
import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from emoreco.cli import main_module
from emoreco.deam_layout import locate_deam
from emoreco.provenance import corpus_provenance

DYNAMIC = "annotations/annotations averaged per song/dynamic (per second annotations)"


class ArchiveServer:
    """Serves ``files`` with Range support; can drop a connection or corrupt a body."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, str | None]] = []
        self.drop_after: dict[str, int] = {}  # name -> bytes sent before hanging up once
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
                body, start = server.files[name], 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
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


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
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
                                                                        tmp_path):
    server, manifest = official_like
    dest = tmp_path / "DEAM"
    assert _fetch(dest, manifest) == 0
    paths = locate_deam(dest)
    assert len(list(paths.audio_dir.glob("*.mp3"))) == 3
    record = json.loads((dest / "emoreco_fetch.json").read_text())
    assert set(record["archives"]) == {"DEAM_Annotations.zip", "DEAM_audio.zip"}
    data = corpus_provenance(paths.annotation_csv("arousal"), paths.audio_dir, 3)
    assert data["official_deam_annotations"] is True  # matches the verified archive
    (paths.annotation_csv("arousal")).write_text("song_id,sample_15000ms\n2,0.1\n")
    data = corpus_provenance(paths.annotation_csv("arousal"), paths.audio_dir, 1)
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
    body = bytearray(server.files["DEAM_audio.zip"])
    body[5000] ^= 0xFF  # one flipped byte, same size
    server.files["DEAM_audio.zip"] = bytes(body)
    dest = tmp_path / "DEAM"
    assert _fetch(dest, manifest) == 2
    err = capsys.readouterr().err
    assert "DEAM_audio.zip.part: SHA-256" in err and "kept for inspection" in err
    assert (dest / "downloads" / "DEAM_audio.zip.part").stat().st_size == len(body)
    assert not (dest / "MEMD_audio").exists()  # nothing unpacked from it


def test_an_entry_that_escapes_the_folder_is_refused(tmp_path, capsys):
    evil = _zip({"annotations/ok.csv": b"fine", "../../outside.txt": b"escaped"})
    server = ArchiveServer({"DEAM_Annotations.zip": evil})
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([{"name": "DEAM_Annotations.zip", "url": "unused",
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

"""Downloading and unpacking the official DEAM archives, verified, resumable, idempotent.

Archives are declared data (:class:`Archive`: URL, size, SHA-256, what they unpack to);
:func:`fetch` downloads each one into ``<dest>/downloads/`` (resuming a partial file with
an HTTP Range request), checks its size and SHA-256 before anything is unpacked, unpacks
it safely (no entry may leave ``dest``, no links) and records what it unpacked, with
digests, in ``<dest>/emoreco_fetch.json``. A second run finds the record and downloads
nothing.
"""

from __future__ import annotations

import http.client
import json
import logging
import shutil
import socket
import stat
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from emoreco.atomic import atomic_path
from emoreco.digest import sha256_of
from emoreco.errors import EmorecoError
from emoreco.provenance import FETCH_RECORD

log = logging.getLogger(__name__)
DOWNLOAD_ATTEMPTS = 5
CHUNK = 1 << 20


class FetchError(EmorecoError):
    """A download or archive cannot be trusted or completed."""


@dataclass(frozen=True)
class Archive:
    """One archive to download: where from, what it must be, what it unpacks to."""

    name: str
    url: str
    size: int
    sha256: str
    unpacks_to: str


OFFICIAL_BASE_URL = "https://cvml.unige.ch/databases/DEAM"
OFFICIAL_ARCHIVES = (  # sizes and digests as reported by people who downloaded them (2026-09)
    Archive("DEAM_Annotations.zip", f"{OFFICIAL_BASE_URL}/DEAM_Annotations.zip", 4_735_283,
            "809b0feb4ba6196c1eda9b2b7b33b892b11fa71457cfceb0d47e832ed1a5f15f", "annotations"),
    Archive("DEAM_audio.zip", f"{OFFICIAL_BASE_URL}/DEAM_audio.zip", 1_343_203_527,
            "e2814325f573ade8caebc697f0efcfdf7207142b737d72558a416117ca591353", "MEMD_audio"),
    Archive("metadata.zip", f"{OFFICIAL_BASE_URL}/metadata.zip", 344_760,
            "3d1d5ab42e852803a770f2cfbd685c6b464e1ebe76f26b0e10954597902b90f8", "metadata"),
)
DEFAULT_ARCHIVES = ("DEAM_Annotations.zip", "DEAM_audio.zip")


def read_manifest(path: Path) -> tuple[Archive, ...]:
    """Archives declared in a JSON file: a list of :class:`Archive` fields."""
    try:
        return tuple(Archive(**item) for item in json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise FetchError(f"{path}: not a manifest of archives ({exc})") from exc


def _download(url: str, part: Path, size: int, progress: bool, timeout_s: float) -> None:
    """Fill ``part`` up to ``size`` bytes from ``url``, resuming after drops."""
    from tqdm import tqdm

    with tqdm(total=size, initial=part.stat().st_size if part.exists() else 0, unit="B",
              unit_scale=True, desc=part.name.removesuffix(".part"),
              disable=not progress) as bar:
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            have = part.stat().st_size if part.exists() else 0
            if have >= size:
                return
            request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"}
                                             if have else {})
            try:
                with urllib.request.urlopen(request, timeout=timeout_s) as response:
                    resumed = have > 0 and response.status == 206
                    if have and not resumed:  # the server ignored the range: start again
                        bar.reset()
                    with open(part, "ab" if resumed else "wb") as sink:
                        for block in iter(lambda: response.read(CHUNK), b""):
                            sink.write(block)
                            bar.update(len(block))
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                    socket.timeout, TimeoutError) as exc:
                if isinstance(exc, urllib.error.HTTPError) and exc.code < 500:
                    raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
                if attempt == DOWNLOAD_ATTEMPTS:
                    raise FetchError(f"{url}: download failed after {attempt} attempts "
                                     f"({exc}); run again to resume") from exc
                log.warning("%s: connection lost (%s); resuming", url, exc)


def _safe_members(archive: zipfile.ZipFile, dest: Path, source: Path) -> list[zipfile.ZipInfo]:
    """Every entry, after checking that none can write outside ``dest``."""
    root = dest.resolve()
    members = archive.infolist()
    for info in members:
        name = PurePosixPath(info.filename)
        kind = stat.S_IFMT(info.external_attr >> 16)
        target = (root / name).resolve()
        if (name.is_absolute() or ".." in name.parts or "\\" in info.filename
                or not target.is_relative_to(root) or kind == stat.S_IFLNK):
            raise FetchError(f"{source}: entry {info.filename!r} would be written outside "
                             f"{dest} (or is a link); nothing unpacked")
    return members


def _unpack(zip_path: Path, dest: Path) -> dict[str, str]:
    """Unpack safely; return {relative path: SHA-256} of the files written."""
    written: dict[str, str] = {}
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for info in _safe_members(archive, dest, zip_path):
                target = dest / info.filename
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                with archive.open(info) as source, atomic_path(target) as tmp:
                    with open(tmp, "wb") as sink:
                        shutil.copyfileobj(source, sink, CHUNK)
                    written[PurePosixPath(info.filename).as_posix()] = sha256_of(tmp)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise FetchError(f"{zip_path}: not a readable zip archive ({exc})") from exc
    return written


def fetch(dest: Path, archives: Sequence[Archive], base_url: str | None = None,
          progress: bool = True, timeout_s: float = 60.0) -> dict[str, Any]:
    """Download, verify and unpack ``archives`` into ``dest``; return the record.

    Raises
    ------
    FetchError
        A failed download (after retries), a size or SHA-256 that does not match the
        manifest (the downloaded file is kept as ``downloads/<name>.part`` for
        inspection), an unreadable archive or an entry that would leave ``dest``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    record_path = dest / FETCH_RECORD
    record: dict[str, Any] = (json.loads(record_path.read_text()) if record_path.is_file()
                              else {"archives": {}, "files": {}})
    for archive in archives:
        url = f"{base_url.rstrip('/')}/{archive.name}" if base_url else archive.url
        done = record["archives"].get(archive.name)
        if done and done["sha256"] == archive.sha256 and all(
                (dest / name).is_file() for name in done["files"]):
            log.info("%s: already downloaded, verified and unpacked", archive.name)
            continue
        downloads = dest / "downloads"
        downloads.mkdir(exist_ok=True)
        zip_path = downloads / archive.name
        if not (zip_path.is_file() and zip_path.stat().st_size == archive.size
                and sha256_of(zip_path) == archive.sha256):
            part = downloads / f"{archive.name}.part"
            _download(url, part, archive.size, progress, timeout_s)
            got_size = part.stat().st_size
            if got_size != archive.size:
                raise FetchError(f"{part}: {got_size} bytes, the manifest says {archive.size}; "
                                 "kept for inspection")
            digest = sha256_of(part)
            if digest != archive.sha256:
                raise FetchError(f"{part}: SHA-256 {digest} does not match the manifest's "
                                 f"{archive.sha256}; kept for inspection, nothing unpacked")
            part.replace(zip_path)
        log.info("%s: verified (%d bytes, SHA-256 %s...); unpacking", archive.name,
                 archive.size, archive.sha256[:12])
        files = _unpack(zip_path, dest)
        record["archives"][archive.name] = dict(asdict(archive), url=url, files=sorted(files))
        record["files"].update(files)
        with atomic_path(record_path) as tmp:
            tmp.write_text(json.dumps(record, indent=1) + "\n")
    return record

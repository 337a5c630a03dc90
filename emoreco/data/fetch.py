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
import logging
import re
import shutil
import socket
import stat
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any

from emoreco.core.atomic import atomic_path, write_json
from emoreco.core.checks import is_plain_name, is_sha256
from emoreco.core.deam import OFFICIAL_ARCHIVE_SHA256
from emoreco.core.digest import sha256_of
from emoreco.core.errors import EmorecoError
from emoreco.core.jsonfile import read_json
from emoreco.data.provenance import FETCH_RECORD, read_fetch_record

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
OFFICIAL_ARCHIVES = tuple(  # sizes as reported by people who downloaded them (2026-09)
    Archive(name, f"{OFFICIAL_BASE_URL}/{name}", size, OFFICIAL_ARCHIVE_SHA256[name], folder)
    for name, size, folder in (("DEAM_Annotations.zip", 4_735_283, "annotations"),
                               ("DEAM_audio.zip", 1_343_203_527, "MEMD_audio"),
                               ("metadata.zip", 344_760, "metadata")))
DOWNLOADS = "downloads"  # fetch's own folder in dest: no archive entry may write there
DEFAULT_ARCHIVES = ("DEAM_Annotations.zip", "DEAM_audio.zip")


MAX_RATIO = 1000  # a zip entry inflating more than this is a bomb, not audio or CSV
FREE_SPACE_MARGIN = 64 << 20  # bytes left free after unpacking


def _checked_archive(item: Any) -> Archive:
    """An :class:`Archive` from a manifest entry, after checking every field."""
    if not isinstance(item, dict) or set(item) != {f.name for f in fields(Archive)}:
        raise ValueError(f"an entry has fields {sorted(item) if isinstance(item, dict) else item!r}"
                         f", not {[f.name for f in fields(Archive)]}")
    if not is_plain_name(item["name"]):
        raise ValueError(f"name {item['name']!r} is not a plain file name")
    if not (isinstance(item["url"], str) and item["url"].startswith(("http://", "https://"))):
        raise ValueError(f"{item['name']}: url {item['url']!r} is not an http(s) URL")
    if type(item["size"]) is not int or item["size"] < 1:
        raise ValueError(f"{item['name']}: size {item['size']!r} is not a positive integer")
    if not is_sha256(item["sha256"]):
        raise ValueError(f"{item['name']}: sha256 {item['sha256']!r} is not 64 hex digits")
    if not isinstance(item["unpacks_to"], str):
        raise ValueError(f"{item['name']}: unpacks_to is not a string")
    return Archive(**item)


def read_manifest(path: Path) -> tuple[Archive, ...]:
    """Archives declared in a JSON file: a list of :class:`Archive` fields, checked."""
    try:
        items = read_json(path)
        if not isinstance(items, list):
            raise ValueError("not a list of archives")
        return tuple(_checked_archive(item) for item in items)
    except (OSError, ValueError) as exc:
        raise FetchError(f"{path}: not a manifest of archives ({exc})") from exc


class _Restart(Exception):
    """The server's answer cannot continue the partial file: start it again."""


def _content_range(response: Any) -> tuple[int, int | None] | None:
    """(first byte, total size or None) of a 206 answer's ``Content-Range``, or None."""
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)",
                         (response.headers.get("Content-Range") or "").strip())
    if match is None:
        return None
    return int(match.group(1)), None if match.group(2) == "*" else int(match.group(2))


def _receive(url: str, part: Path, size: int, timeout_s: float, bar: Any) -> None:
    """One request: append to ``part`` (or start it again), never past ``size`` bytes.

    Raises
    ------
    FetchError
        The server sends more than ``size`` bytes (the manifest's size).
    _Restart
        A range answer that does not continue the partial file.
    """
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        if have and response.status == 206:
            first, total = _content_range(response) or (-1, None)
            if first != have or total not in (None, size):
                raise _Restart(f"asked for bytes {have}- of {size}, got Content-Range "
                               f"{response.headers.get('Content-Range')!r}")
            mode = "ab"
        else:
            if have:  # the server ignored the range: start again
                bar.reset()
            have, mode = 0, "wb"
        with open(part, mode) as sink:
            while have < size:
                block = response.read(min(CHUNK, size - have))
                if not block:
                    return  # the body ended early: the caller resumes
                sink.write(block)
                have += len(block)
                bar.update(len(block))
            if response.read(1):
                raise FetchError(f"{url}: the server sends more than the manifest's {size} "
                                 "bytes")


def _download(url: str, part: Path, size: int, progress: bool, timeout_s: float) -> None:
    """Fill ``part`` up to ``size`` bytes from ``url``, resuming after drops."""
    from tqdm import tqdm

    with tqdm(total=size, initial=part.stat().st_size if part.exists() else 0, unit="B",
              unit_scale=True, desc=part.name.removesuffix(".part"),
              disable=not progress) as bar:
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            if part.exists() and part.stat().st_size >= size:
                return
            try:
                _receive(url, part, size, timeout_s, bar)
            except _Restart as exc:
                log.warning("%s: %s; downloading it again from the start", url, exc)
                part.unlink()
                bar.reset()
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                    socket.timeout, TimeoutError) as exc:
                if isinstance(exc, urllib.error.HTTPError) and exc.code < 500:
                    raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
                reason = getattr(exc, "reason", None)
                if isinstance(reason, socket.gaierror):  # no retry can help
                    raise FetchError(f"{url}: the host name does not resolve "
                                     f"({reason.strerror}); check the network or the "
                                     "URL") from exc
                if attempt == DOWNLOAD_ATTEMPTS:
                    raise FetchError(f"{url}: download failed after {attempt} attempts "
                                     f"({exc}); run again to resume") from exc
                log.warning("%s: connection lost (%s); resuming", url, exc)
        if not part.exists() or part.stat().st_size < size:
            raise FetchError(f"{url}: the server ended the download early {DOWNLOAD_ATTEMPTS} "
                             "times; run again to resume")


def _safe_members(archive: zipfile.ZipFile, dest: Path, source: Path) -> list[zipfile.ZipInfo]:
    """Every entry, after checking that none can write outside ``dest`` and that they
    fit in its free space.

    Raises
    ------
    FetchError
        An entry that would leave ``dest`` or is a link, an entry that inflates more
        than :data:`MAX_RATIO` times, or more data than the disk holds.
    """
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
        if name.parts and (name.parts[0] == DOWNLOADS
                           or name.parts[0].startswith(FETCH_RECORD)):
            raise FetchError(f"{source}: entry {info.filename!r} would overwrite fetch-deam's "
                             f"own files ({DOWNLOADS}/, {FETCH_RECORD}); nothing unpacked")
        if info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise FetchError(f"{source}: entry {info.filename!r} inflates {info.compress_size} "
                             f"bytes to {info.file_size} (a zip bomb?); nothing unpacked")
    needed = sum(info.file_size for info in members)
    free = shutil.disk_usage(dest).free
    if needed + FREE_SPACE_MARGIN > free:
        raise FetchError(f"{source}: unpacking needs {needed / 1e6:.0f} MB, {dest} has "
                         f"{free / 1e6:.0f} MB free; nothing unpacked")
    return members


def _unpack(zip_path: Path, dest: Path) -> dict[str, str]:
    """Unpack safely; return {relative path: SHA-256} of the files written.

    On any failure the files written by this call are removed again.
    """
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
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError) as exc:
        for name in written:
            (dest / name).unlink(missing_ok=True)
        raise FetchError(f"{zip_path}: cannot be unpacked into {dest} ({exc}); what was "
                         "unpacked from it is removed") from exc
    return written


def _read_record(path: Path) -> dict[str, Any]:
    """The fetch record of ``dest``; a damaged one is set aside (and the archives, kept
    in ``downloads/``, verified and unpacked again)."""
    if not path.is_file():
        return {"archives": {}, "files": {}}
    try:
        return read_fetch_record(path)
    except EmorecoError as exc:
        aside = path.with_name(path.name + ".damaged")
        path.replace(aside)
        log.warning("%s; set aside as %s, the archives are verified and unpacked again",
                    exc, aside.name)
        return {"archives": {}, "files": {}}


def fetch(dest: Path, archives: Sequence[Archive], base_url: str | None = None,
          progress: bool = True, timeout_s: float = 60.0) -> dict[str, Any]:
    """Download, verify and unpack ``archives`` into ``dest``; return the record.

    Raises
    ------
    FetchError
        A failed download (after retries), a server sending more than the manifest's
        size, a SHA-256 that does not match it (the file is kept for inspection as
        ``downloads/<name>.rejected`` and the next run downloads it again), an unreadable
        archive, an entry that would leave ``dest`` or does not fit on its disk.
    """
    dest.mkdir(parents=True, exist_ok=True)
    record_path = dest / FETCH_RECORD
    record = _read_record(record_path)
    for archive in archives:
        url = f"{base_url.rstrip('/')}/{archive.name}" if base_url else archive.url
        done = record["archives"].get(archive.name)
        if done and done["sha256"] == archive.sha256 and all(
                (dest / name).is_file() for name in done["files"]):
            log.info("%s: already downloaded, verified and unpacked", archive.name)
            continue
        downloads = dest / DOWNLOADS
        downloads.mkdir(exist_ok=True)
        zip_path = downloads / archive.name
        if not (zip_path.is_file() and zip_path.stat().st_size == archive.size
                and sha256_of(zip_path) == archive.sha256):
            part = downloads / f"{archive.name}.part"
            _download(url, part, archive.size, progress, timeout_s)
            digest = sha256_of(part)
            if digest != archive.sha256:
                rejected = part.replace(downloads / f"{archive.name}.rejected")
                raise FetchError(f"{part}: SHA-256 {digest} does not match the manifest's "
                                 f"{archive.sha256}; nothing unpacked, the file is kept for "
                                 f"inspection as {rejected} and the next run downloads it "
                                 "again")
            part.replace(zip_path)
        log.info("%s: verified (%d bytes, SHA-256 %s...); unpacking", archive.name,
                 archive.size, archive.sha256[:12])
        files = _unpack(zip_path, dest)
        if not (dest / archive.unpacks_to).is_dir():
            raise FetchError(f"{archive.name}: unpacked, but not into {archive.unpacks_to}/ as "
                             "its manifest says; check the manifest or the archive")
        record["archives"][archive.name] = dict(asdict(archive), url=url, files=sorted(files))
        record["files"].update(files)
        write_json(record_path, record)
    return record


def fetch_deam(dest: str | Path, archives: Sequence[str] = DEFAULT_ARCHIVES,
               base_url: str | None = None, manifest: str | Path | None = None,
               progress: bool = True) -> dict[str, Any]:
    """Download, verify and unpack DEAM archives by name into ``dest`` (:func:`fetch`).

    Parameters
    ----------
    dest : path
        The folder to fill (``MEMD_audio/``, ``annotations/`` side by side).
    archives : sequence of str
        Archive names (default: annotations and audio; ``metadata.zip`` also exists).
    base_url : str, optional
        A mirror holding the archives under their names.
    manifest : path, optional
        A JSON list of archives (name, url, size, sha256, unpacks_to) instead of the
        official one.

    Returns
    -------
    dict
        The fetch record (``emoreco_fetch.json``).

    Examples
    --------
    >>> fetch_deam("~/DEAM")  # doctest: +SKIP
    """
    known = read_manifest(Path(manifest)) if manifest else OFFICIAL_ARCHIVES
    by_name = {archive.name: archive for archive in known}
    unknown = [name for name in archives if name not in by_name]
    if unknown:
        raise FetchError(f"unknown archive(s) {', '.join(unknown)}; the manifest has "
                         f"{', '.join(by_name)}")
    return fetch(Path(dest).expanduser(), [by_name[name] for name in archives], base_url,
                 progress)

"""The network side of ``emoreco listen URL``: which URLs a stream may open, and how.

A stream URL may come from someone else (a shared list of stations, a server), and an
HLS playlist names further URLs. So every URL the demuxer opens, the stream's own, its
redirects, nested playlists and segments, goes through :class:`StreamOpener` (PyAV's
``io_open``), which

* allows ``http`` and ``https`` only;
* allows a loopback, private, link-local or otherwise non-public address only when it is
  the stream URL's own server (same host and port): a playlist cannot lead the listener
  to other services of the machine or its network;
* reads with a timeout, so a server that stops sending is a drop after ``timeout_s``
  (handled by ``--retries``), never a hang;
* treats the end of a response without a length (a radio stream that ends) as a drop,
  as FFmpeg's own HTTP client did.

:func:`public_label` is how a URL is shown anywhere (terminal, page, tables): without
credentials, query string or fragment.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from emoreco.core.errors import AudioError, ConfigError

ALLOWED_SCHEMES = ("http", "https")
PLAYLIST_TYPES = ("mpegurl", "m3u")


def is_url(source: str) -> bool:
    """``scheme://...``: a URL, not a file name (which it is is checked by
    :func:`check_url`)."""
    scheme, sep, _ = source.partition("://")
    return bool(sep) and scheme.isalpha()


def check_url(url: str) -> None:
    """Refuse a URL whose scheme is not http(s) or that names no host.

    Raises
    ------
    ConfigError
        Naming the scheme (shown without credentials).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ConfigError(f"{public_label(url)}: only http:// and https:// streams are read "
                          f"(not {parts.scheme}://)")
    if not parts.hostname:
        raise ConfigError(f"{public_label(url)}: no host in the URL")


def public_label(url: str) -> str:
    """``url`` without user name, password, query string and fragment (tokens live
    there), for messages, the page and the tables."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return urllib.parse.urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def _origin(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    default = 443 if parts.scheme.lower() == "https" else 80
    try:
        port = parts.port or default
    except ValueError:
        port = -1
    return (parts.hostname or "").lower(), port


def is_public(host: str, port: int) -> bool:
    """Whether every address ``host`` resolves to is globally routable (not loopback,
    private, link-local, multicast, reserved, ...).

    Raises
    ------
    OSError
        The name does not resolve.
    """
    addresses = {info[4][0] for info in socket.getaddrinfo(host, port,
                                                           type=socket.SOCK_STREAM)}
    return all(ipaddress.ip_address(address.split("%")[0]).is_global
               for address in addresses)


class _HttpBody:
    """A response as the file object PyAV reads: each ``read`` returns what has
    arrived (never waits for a full buffer); the end of a body of unknown length is a
    drop unless it is a playlist."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self._response = response
        kind = (response.headers.get("Content-Type") or "").lower()
        path = urllib.parse.urlsplit(response.geturl()).path.lower()
        self._ends_cleanly = (response.length is not None
                              or any(t in kind for t in PLAYLIST_TYPES)
                              or path.endswith((".m3u8", ".m3u")))

    def read(self, size: int = -1) -> bytes:
        data = self._response.read1(size if size > 0 else 1 << 16)
        if not data and not self._ends_cleanly:
            raise ConnectionError("the server ended the stream")
        return data

    def close(self) -> None:
        self._response.close()


class StreamOpener:
    """PyAV's ``io_open`` for one stream URL: checks and opens every URL the demuxer
    asks for (see the module's description).

    Parameters
    ----------
    stream_url : str
        The URL given by the user (its server may be on any address).
    timeout_s : float
        Seconds a connection or a read may wait for data.

    Attributes
    ----------
    refused : list of str
        The URLs refused so far (shown without credentials).
    """

    def __init__(self, stream_url: str, timeout_s: float) -> None:
        check_url(stream_url)
        self.origin = _origin(stream_url)
        self.timeout_s = timeout_s
        self.refused: list[str] = []
        opener = self

        class CheckedRedirects(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                                 newurl: str) -> Any:
                opener.check(newurl)
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        self._urllib = urllib.request.build_opener(CheckedRedirects)
        self._urllib.addheaders = [("User-Agent", "emoreco-listen")]

    def check(self, url: str) -> None:
        """Refuse ``url`` unless the stream may open it.

        Raises
        ------
        AudioError
            Another scheme, or a non-public address other than the stream's server.
        """
        label = public_label(url)
        reason = None
        if urllib.parse.urlsplit(url).scheme.lower() not in ALLOWED_SCHEMES:
            reason = "not an http(s) URL"
        elif _origin(url) != self.origin:
            host, port = _origin(url)
            try:
                if not is_public(host, port):
                    reason = ("a loopback, private or link-local address other than the "
                              "stream's own server")
            except OSError as exc:
                reason = f"its host does not resolve ({exc.strerror or exc})"
        if reason is not None:
            self.refused.append(label)
            raise AudioError(f"{label}: refused, {reason}")

    def open(self, url: str) -> _HttpBody:
        """Check and open ``url`` for reading.

        Raises
        ------
        AudioError
            Refused (:meth:`check`), or the server answered with an error.
        OSError
            The connection failed or timed out.
        """
        self.check(url)
        label = public_label(url)
        parts = urllib.parse.urlsplit(url)
        headers = {}
        if parts.username is not None:  # user:password@ as FFmpeg took it: Basic auth
            secret = f"{urllib.parse.unquote(parts.username)}:" \
                     f"{urllib.parse.unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()
            url = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        try:
            response = self._urllib.open(urllib.request.Request(url, headers=headers),
                                         timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            raise AudioError(f"{label}: the server answered {exc.code} {exc.reason}") from exc
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, AudioError):
                raise reason from exc
            if isinstance(reason, OSError) and reason.strerror:
                reason = reason.strerror
            raise ConnectionError(f"cannot connect ({reason})") from exc
        return _HttpBody(response)

    def __call__(self, url: str, flags: int, options: dict[str, str]) -> _HttpBody:
        """PyAV's ``io_open(url, flags, options)``: read-only."""
        if flags & 2:  # AVIO_FLAG_WRITE
            raise AudioError(f"{public_label(url)}: a stream may not write")
        return self.open(url)

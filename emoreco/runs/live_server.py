"""The web page of ``emoreco listen --serve``: the page at ``/`` and every new value as a
Server-Sent Event at ``/events``, served by aiohttp on an event loop of its own thread.

What holds with clients that misbehave (``benchmarks/bench_live_server.py`` measures
it with 1,000 hostile connections):

* the page is built once (plotly.js inlined, gzip-compressed once too) and sent in
  64-kB pieces, each accepted by the client before the next is written;
* at most :data:`MAX_CONNECTIONS` connections are open; the next ones are answered
  ``503 Service Unavailable`` and closed at once, before reading them;
* a request must arrive whole within :data:`REQUEST_TIMEOUT_S` (aiohttp's idle timeout
  of a connection without a request), or the connection is closed;
* each ``/events`` client has a queue of :data:`CLIENT_QUEUE` records: one that falls
  further behind, or does not accept a piece for :data:`SEND_TIMEOUT_S`, is dropped
  (its page reconnects by itself and gets the history again). Publishing never waits
  for a client, so none of this slows the stream or the other pages;
* a request whose ``Host`` is not a name of this server is refused (421): a page of
  another site cannot read the values through DNS rebinding;
* by default only loopback addresses (IPv4 and IPv6) are bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ipaddress
import json
import logging
import socket
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from emoreco.core.errors import ConfigError
from emoreco.outputs.live_page import live_page

log = logging.getLogger(__name__)
HISTORY = 7200  # records a newly opened page starts with (an hour at 2 values per 0.5 s)
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing the stream
MAX_CONNECTIONS = 64  # open connections; more are answered 503
REQUEST_TIMEOUT_S = 5.0  # a request must arrive whole within this
SEND_TIMEOUT_S = 20.0  # a client that accepts no data for this long is dropped
CLIENT_QUEUE = 512  # records a page may fall behind (4 minutes of values) before it is dropped
PIECE = 1 << 16  # bytes written at a time
LOOPBACK = ("127.0.0.1", "::1")
END = object()  # the end of the stream, told to every page
SERVICE_UNAVAILABLE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                       b"Content-Length: 20\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
                       b"too many connections")


def serve_address(text: str) -> tuple[tuple[str, ...], int]:
    """``PORT``, ``HOST:PORT`` or ``[IPV6]:PORT`` -> (hosts to bind, port).

    Without a host, or with ``localhost``, both loopback addresses (127.0.0.1 and ::1);
    port 0: any free one.

    Raises
    ------
    ConfigError
        Not a port in 0-65535 with an optional host.
    """
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535 or (sep and not host):
        raise ConfigError(f"--serve {text!r}: expected PORT, HOST:PORT or [IPV6]:PORT, e.g. "
                          "8000 or 127.0.0.1:8000")
    hosts = LOOPBACK if not sep or host == "localhost" else (host,)
    return hosts, int(port)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def host_names(hosts: Iterable[str]) -> frozenset[str]:
    """The names a browser may put in the ``Host`` header of a request to a server
    bound to ``hosts`` (IP literals are always accepted: rebinding needs a name)."""
    names = {"localhost"}
    for host in hosts:
        address = _ip(host)
        if address is None:
            names.add(host.lower())
        elif not address.is_loopback:  # reachable from the network: the machine's names
            names.update({socket.gethostname().lower(), socket.getfqdn().lower()})
    return frozenset(names)


def host_allowed(header: str, names: frozenset[str], loopback_only: bool) -> bool:
    """Whether a request's ``Host`` header names this server."""
    host = header.strip().lower()
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else ""
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    address = _ip(host)
    if address is not None:
        return address.is_loopback or not loopback_only
    return host in names or host.endswith(".localhost")


def _server_class() -> type:
    """aiohttp's low-level server with a cap on open connections (imported lazily)."""
    from aiohttp import web

    class _Unavailable(asyncio.Protocol):
        """Answers 503 and closes, without reading the request."""

        def connection_made(self, transport: Any) -> None:
            transport.write(SERVICE_UNAVAILABLE)
            transport.close()

    class CappedServer(web.Server):
        """Refuses connections beyond ``cap`` with 503."""

        def __init__(self, *args: Any, cap: int, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.cap = cap
            self.refused = 0
            self.open = 0

        def __call__(self) -> Any:
            if self.open >= self.cap:
                self.refused += 1
                return _Unavailable()
            self.open += 1
            return super().__call__()

        def connection_lost(self, handler: Any, exc: BaseException | None = None) -> None:
            self.open -= 1
            super().connection_lost(handler, exc)

    return CappedServer


class _QuietLog(logging.LoggerAdapter):
    """aiohttp's server log as one debug line per event: what clients get wrong is no
    news for the terminal, and a client could flood it."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        error = kwargs.pop("exc_info", None)
        kwargs.pop("stack_info", None)
        if isinstance(error, BaseException):
            msg = f"{msg} ({type(error).__name__}: {error})"
        self.logger.debug(msg, *args, **kwargs)


class LiveServer:
    """Serves the live page and streams each :meth:`publish`\\ ed record to every page.

    Parameters
    ----------
    address : str
        ``PORT``, ``HOST:PORT`` or ``[IPV6]:PORT`` (:func:`serve_address`).
    title : str
        The page's title (no credentials or query strings: the caller's job).
    warning : str, optional
        Shown at the top of the page (the demo models' warning).
    band_levels : dict, optional
        Target -> the level of its model's band, named in the page's legend.

    Attributes
    ----------
    url : str
        Where the page is, e.g. ``http://127.0.0.1:8000/``.
    refused, dropped : int
        Connections answered 503, and event clients dropped for falling behind.

    Raises
    ------
    OSError
        The address cannot be bound (in use, not an address of this machine).
    """

    def __init__(self, address: str, title: str, warning: str | None = None,
                 band_levels: dict[str, float] | None = None,
                 max_connections: int = MAX_CONNECTIONS,
                 request_timeout_s: float = REQUEST_TIMEOUT_S,
                 send_timeout_s: float = SEND_TIMEOUT_S,
                 client_queue: int = CLIENT_QUEUE) -> None:
        hosts, port = serve_address(address)
        page = live_page(title, warning, band_levels).encode()
        self._page = {False: page, True: gzip.compress(page, 6, mtime=0)}
        self._names = host_names(hosts)
        self._loopback_only = all((_ip(h) or _ip("0.0.0.0")).is_loopback for h in hosts)
        self._history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._clients: dict[asyncio.Queue, Any] = {}  # inbox -> its connection
        self._ended = False
        self._send_timeout_s, self._client_queue = send_timeout_s, client_queue
        self.dropped = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="emoreco-live-page",
                                        daemon=True)
        self._thread.start()
        try:
            self.url = asyncio.run_coroutine_threadsafe(
                self._start(hosts, port, max_connections, request_timeout_s),
                self._loop).result()
        except BaseException:
            self._stop_loop()
            raise

    @property
    def refused(self) -> int:
        return self._server.refused

    async def _start(self, hosts: tuple[str, ...], port: int, cap: int,
                     request_timeout_s: float) -> str:
        self._server = _server_class()(
            self._handle, cap=cap, keepalive_timeout=request_timeout_s, access_log=None,
            logger=_QuietLog(log, {}), max_line_size=4096, max_field_size=4096,
            max_headers=64)
        self._listeners = []
        for number, host in enumerate(hosts):
            try:
                listener = await self._loop.create_server(self._server, host, port,
                                                          reuse_address=True)
            except OSError:
                if number == 0:
                    raise
                log.debug("--serve: %s not bound (no IPv6 on this machine?)", host)
                continue
            self._listeners.append(listener)
            port = listener.sockets[0].getsockname()[1]  # port 0: the others take it too
        first = hosts[0]
        shown = f"[{first}]" if ":" in first else first
        return f"http://{shown}:{port}/"

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        if not host_allowed(request.host or "", self._names, self._loopback_only):
            return web.Response(status=421, text="not a name of this server")
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, headers={"Allow": "GET, HEAD"})
        if request.path in ("/", "/index.html"):
            return await self._send_page(request)
        if request.path == "/events":
            return await self._stream_to(request)
        return web.Response(status=404, text="not found")

    async def _send_page(self, request: Any) -> Any:
        from aiohttp import web

        compressed = "gzip" in request.headers.get("Accept-Encoding", "")
        body = memoryview(self._page[compressed])
        response = web.StreamResponse(headers={
            "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding",
            **({"Content-Encoding": "gzip"} if compressed else {})})
        response.content_length = len(body)
        response.force_close()  # one request per connection: no idle keep-alive
        try:
            await self._send(response.prepare(request))
            if request.method == "GET":
                for first in range(0, len(body), PIECE):
                    await self._send(response.write(body[first:first + PIECE]))
            await self._send(response.write_eof())
        except (TimeoutError, ConnectionError):
            request.protocol.force_close()  # gone, or not reading: let it go
        return response

    async def _send(self, step: Any) -> None:
        """Await one write, dropping a client that accepts nothing for too long."""
        async with asyncio.timeout(self._send_timeout_s):
            await step

    async def _stream_to(self, request: Any) -> Any:
        """The records so far, then every new one, to one page until it goes away or
        the stream ends."""
        from aiohttp import web

        inbox: asyncio.Queue = asyncio.Queue(self._client_queue)
        history = list(self._history)  # on the loop's thread: nothing is published meanwhile
        self._clients[inbox] = request.protocol
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        response.force_close()
        try:
            await self._send(response.prepare(request))
            for first in range(0, len(history), 256):
                await self._send(response.write(_events(history[first:first + 256])))
            while True:
                if self._ended and inbox.empty():
                    await self._send(response.write(b"event: end\ndata: {}\n\n"))
                    break
                try:
                    async with asyncio.timeout(KEEPALIVE_S):
                        batch = [await inbox.get()]
                except TimeoutError:
                    await self._send(response.write(b": keep-alive\n\n"))
                    continue
                while not inbox.empty():
                    batch.append(inbox.get_nowait())
                records = [record for record in batch if record is not END]
                if records:
                    await self._send(response.write(_events(records)))
        except (TimeoutError, ConnectionError):
            request.protocol.force_close()
        finally:
            self._clients.pop(inbox, None)
        return response

    def _deliver(self, record: Any) -> None:
        """On the loop's thread: queue ``record`` for every page; drop those whose queue
        is full (they fell behind)."""
        if record is END:
            self._ended = True
        else:
            self._history.append(record)
        for inbox, connection in list(self._clients.items()):
            try:
                inbox.put_nowait(record)
            except asyncio.QueueFull:
                del self._clients[inbox]
                self.dropped += 1
                connection.force_close()

    def publish(self, record: dict[str, Any]) -> None:
        """Send ``record`` to every open page and keep it for pages opened later (never
        waits for a page)."""
        self._loop.call_soon_threadsafe(self._deliver, record)

    def end(self) -> None:
        """Tell every page that the stream has ended (the page stays served)."""
        self._loop.call_soon_threadsafe(self._deliver, END)

    async def _close(self) -> None:
        for listener in self._listeners:
            listener.close()
        for connection in self._server.connections:
            connection.force_close()
        await asyncio.sleep(0)

    def close(self) -> None:
        """Stop serving (open pages are disconnected)."""
        with contextlib.suppress(RuntimeError, TimeoutError):
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(5)
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


def _events(records: list[Any]) -> bytes:
    """Server-Sent Events, one ``data:`` line per record."""
    return "".join(f"data: {json.dumps(record)}\n\n" for record in records).encode()

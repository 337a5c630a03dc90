"""The web page of ``emoreco listen --serve``: an HTTP server (loopback by default) that
serves :func:`~emoreco.outputs.live_page.live_page` at ``/`` and every new value as a
Server-Sent Event at ``/events``."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from emoreco.core.errors import ConfigError
from emoreco.outputs.live_page import live_page

log = logging.getLogger(__name__)
HISTORY = 7200  # records a newly opened page starts with (an hour at 2 values per 0.5 s)
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing the stream
END = object()  # the end of the stream, told to every page


def serve_address(text: str) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` (host 127.0.0.1 unless given; port 0: any free one).

    Raises
    ------
    ConfigError
        Not a port in 0-65535 with an optional host.
    """
    host, sep, port = text.rpartition(":")
    host = host if sep else "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535 or (sep and not host):
        raise ConfigError(f"--serve {text!r}: expected PORT or HOST:PORT, e.g. "
                          "127.0.0.1:8000")
    return host, int(port)


class LiveServer:
    """Serves the live page and streams each :meth:`publish`\\ ed record to every page.

    Attributes
    ----------
    url : str
        Where the page is, e.g. ``http://127.0.0.1:8000/``.
    """

    def __init__(self, address: str, title: str) -> None:
        host, port = serve_address(address)
        self._history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._clients: list[queue.Queue] = []
        self._lock = threading.Lock()
        self._ended = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                if self.path in ("/", "/index.html"):
                    with server._lock:
                        history = list(server._history)
                    body = live_page(title, history).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path == "/events":
                    server._stream_to(self)
                else:
                    self.send_error(404)

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://{host}:{self._httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def _stream_to(self, handler: BaseHTTPRequestHandler) -> None:
        """Send the records so far, then every new one, to one page until it goes away or
        the stream ends (the page may already hold some: it keeps one value per time)."""
        inbox: queue.Queue = queue.Queue()
        with self._lock:  # nothing published between the history and the first new one
            for record in self._history:
                inbox.put(record)
            self._clients.append(inbox)
            ended = self._ended
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        try:
            while True:
                if ended and inbox.empty():
                    item = END
                else:
                    try:
                        item = inbox.get(timeout=KEEPALIVE_S)
                    except queue.Empty:
                        handler.wfile.write(b": keep-alive\n\n")
                        handler.wfile.flush()
                        continue
                if item is END:
                    handler.wfile.write(b"event: end\ndata: {}\n\n")
                    handler.wfile.flush()
                    return
                handler.wfile.write(f"data: {json.dumps(item)}\n\n".encode())
                handler.wfile.flush()
        except OSError:  # the page was closed
            return
        finally:
            with self._lock:
                self._clients.remove(inbox)

    def publish(self, record: dict[str, Any]) -> None:
        """Send ``record`` to every open page and keep it for pages opened later."""
        with self._lock:
            self._history.append(record)
            for inbox in self._clients:
                inbox.put(record)

    def end(self) -> None:
        """Tell every page that the stream has ended (the page stays served)."""
        with self._lock:
            self._ended = True
            for inbox in self._clients:
                inbox.put(END)

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()

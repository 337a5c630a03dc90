"""The live page's server under 1,000 hostile connections, with honest readers.

Starts `python -m emoreco listen SONG --realtime --serve 127.0.0.1:0` on a 60-s demo
song, connects ``--honest`` pages to its event stream, and then opens ``--hostile``
connections of three kinds, a third each: page requests from clients that never read
(a 4-kB receive buffer), half-sent requests (``GET /eve`` and nothing more) and event
streams that are never read. Prints the listening process's resident memory and thread
count before, at their peak and after the hostile sockets close, how the hostile
connections were answered, and whether every honest page got every record the process
printed. Needs trained models (`make demo`).

    python benchmarks/bench_live_server.py [--hostile 1000] [--honest 10]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from _common import ROOT, require_trained_models, write_demo_song


def status(pid: int) -> tuple[float, int]:
    """(resident MB, threads) of a process (Linux /proc)."""
    text = Path(f"/proc/{pid}/status").read_text()
    rss = int(text.split("VmRSS:")[1].split()[0]) / 1024
    return rss, int(text.split("Threads:")[1].split()[0])


class Honest:
    """A page that reads every event."""

    def __init__(self, url: str) -> None:
        self.times: list[float] = []
        self.ended = threading.Event()
        self.response = urllib.request.urlopen(url + "events", timeout=120)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self) -> None:
        for line in self.response:
            if line.startswith(b"data: {"):
                self.times.append(json.loads(line[6:])["t"])
            elif line.startswith(b"event: end"):
                self.ended.set()
                return


def hostile(port: int, kind: int) -> socket.socket | None:
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        client.connect(("127.0.0.1", port))
        client.sendall([b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", b"GET /eve",
                        b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"][kind])
    except OSError:
        client.close()
        return None
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hostile", type=int, default=1000)
    parser.add_argument("--honest", type=int, default=10)
    args = parser.parse_args()
    require_trained_models()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.hostile + 256)), hard))
    with tempfile.TemporaryDirectory() as folder:
        song = write_demo_song(Path(folder) / "song.mp3", seconds=60.0)
        process = subprocess.Popen([sys.executable, "-m", "emoreco", "listen", str(song),
                                    "--realtime", "--serve", "127.0.0.1:0"], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        url = None
        while url is None:
            line = process.stderr.readline()
            if not line:
                sys.exit("error: listen ended without serving")
            match = re.search(r"live page: (http://127\.0\.0\.1:(\d+)/)", line)
            url = match and match.group(1)
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        printed: list[float] = []
        threading.Thread(target=lambda: printed.extend(
            json.loads(line)["t"] for line in process.stdout), daemon=True).start()
        pages = [Honest(url) for _ in range(args.honest)]
        time.sleep(2)
        before = status(process.pid)
        peak = list(before)
        opened, refused = [], 0
        started = time.monotonic()
        for number in range(args.hostile):
            client = hostile(port, number % 3)
            if client is not None:
                opened.append(client)
            if number % 50 == 0:
                rss, threads = status(process.pid)
                peak = [max(peak[0], rss), max(peak[1], threads)]
        for _ in range(40):  # hold them 20 s (longer than every timeout of the server)
            time.sleep(0.5)
            rss, threads = status(process.pid)
            peak = [max(peak[0], rss), max(peak[1], threads)]
        for client in opened:
            client.setblocking(False)
            try:
                refused += client.recv(64).startswith(b"HTTP/1.1 503")
            except OSError:
                pass
            client.close()
        held = time.monotonic() - started
        time.sleep(2)
        after = status(process.pid)
        for page in pages:
            page.ended.wait(120)
        process.send_signal(signal.SIGINT)
        process.wait(60)
    complete = sum(sorted(page.times) == sorted(printed) for page in pages)
    print(f"{args.hostile} hostile connections (never-read pages, half-sent requests, unread "
          f"event streams), held {held:.0f} s; {refused} answered 503 at once")
    print(f"listening process: resident memory {before[0]:.1f} MB before, peak {peak[0]:.1f} "
          f"MB, {after[0]:.1f} MB after; threads {before[1]} before, peak {peak[1]}")
    print(f"honest pages with every record: {complete} of {len(pages)} "
          f"({len(printed)} records printed)")


if __name__ == "__main__":
    main()

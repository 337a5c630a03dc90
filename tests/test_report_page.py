"""The interactive report, rendered in headless Chromium with every network request
refused: the charts draw and no request leaves the machine."""

import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emoreco.cli import main_predict

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium itself still calls home for updates and sign-in whatever the flags; those
# requests name Google's service hosts and come from the browser, not from the page.
BROWSER_SERVICES = ("update.googleapis.com", "accounts.google.com", "clients2.google.com")


def from_the_page(requests: list[str]) -> list[str]:
    """The recorded requests that the browser's own services did not make."""
    return [r for r in requests if not any(host in r for host in BROWSER_SERVICES)]


class RecordingProxy:
    """A proxy on 127.0.0.1 that refuses and records every request sent through it."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _refuse(self):
                proxy.requests.append(f"{self.command} {self.path}")
                self.send_error(403)

            do_GET = do_POST = do_HEAD = do_CONNECT = _refuse

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def render(page, tmp_path, *extra):
    """The page's DOM after scripts ran (or a screenshot), and what it asked the network."""
    proxy = RecordingProxy()
    try:
        result = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             # the browser's own housekeeping (clock, updates, sign-in), not the page's:
             "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,"
             "MediaRouter,Translate,AutofillServerCommunication,SigninInterceptBubble",
             "--disable-default-apps", "--disable-extensions", "--no-pings",
             "--disable-domain-reliability", "--disable-client-side-phishing-detection",
             f"--user-data-dir={tmp_path / 'profile'}", f"--proxy-server=http://{proxy.address}",
             "--proxy-bypass-list=<-loopback>", "--virtual-time-budget=15000", *extra,
             page.as_uri()], capture_output=True, text=True, timeout=120)
    finally:
        proxy.httpd.shutdown()
    return result.stdout, proxy.requests


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get "
                                              "install chromium; .ci/run installs it)")
def test_the_page_draws_offline_and_asks_the_network_nothing(trained_models, tiny_deam,
                                                              tmp_path, capsys):
    out = tmp_path / "out"
    assert main_predict([str(tiny_deam / "test_songs"), "--models-dir",
                         str(trained_models / "models"), "--out-dir", str(out), "--quiet",
                         "--no-plots"]) == 0
    capsys.readouterr()
    dom, requests = render(out / "emotion_report.html", tmp_path, "--dump-dom")
    assert 'data-ready="1"' in dom  # the page's script finished drawing
    assert dom.count('class="main-svg"') >= 8  # plane, bars, timeline, trajectory (2 layers)
    assert dom.count("<tr data-index=") == 4  # one table row per song
    assert 'id="demo-warning"' in dom
    titles = re.findall(r'class="[xy]title"[^>]*>([^<]+)<', dom)  # axis titles as drawn
    for title in ("valence", "arousal", "time (s)", "value", "mean ± std"):
        assert title in titles
    assert from_the_page(requests) == []  # nothing the page asked for left the machine
    player = dom.split('id="player"')[1].split(">")[0]
    assert 'src="../../' in player or "test_songs" in player  # linked by relative path


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get "
                                              "install chromium; .ci/run installs it)")
def test_the_recording_proxy_does_see_a_page_that_fetches(tmp_path):
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><img src="http://example.invalid/x.png">')
    _, requests = render(page, tmp_path, "--dump-dom")
    assert any("example.invalid" in r for r in from_the_page(requests))  # it can fail


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get "
                                              "install chromium; .ci/run installs it)")
def test_beyond_the_limit_curves_are_loaded_from_shard_files(tmp_path):
    import numpy as np

    from emoreco.model.curves import EmotionCurve
    from emoreco.outputs.page import write_html_report

    times = np.arange(0, 20, 0.5)
    curves = [EmotionCurve(f"song{k}.mp3", times,
                           {"arousal": np.full(len(times), 0.1 * (k % 9), np.float32),
                            "valence": np.linspace(-0.5, 0.5, len(times), dtype=np.float32)})
              for k in range(30)]
    page = tmp_path / "report" / "emotion_report.html"
    shards = write_html_report(curves, page, {}, embedded_values=100)
    assert len(shards) == 1 and shards[0].parent.name == "emotion_report_data"
    assert '"arousal":[' not in page.read_text()  # no curve is embedded in the page
    dom, requests = render(page, tmp_path, "--dump-dom")
    assert 'data-ready="1"' in dom  # drawn after the first song's shard arrived
    assert 'src="emotion_report_data/curves-00000.js"' in dom
    assert dom.count('class="main-svg"') >= 8
    assert from_the_page(requests) == []


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get "
                                              "install chromium; .ci/run installs it)")
def test_a_song_name_that_opens_a_comment_and_a_script_does_not_blank_the_page(tmp_path):
    import numpy as np

    from emoreco.model.curves import EmotionCurve
    from emoreco.outputs.page import write_html_report

    times = np.arange(0, 10, 0.5)
    values = np.linspace(-0.5, 0.5, len(times), dtype=np.float32)
    curves = [EmotionCurve(name, times, {"arousal": values, "valence": -values})
              for name in ("<!--<script>.wav", "</script><script>x.wav", "plain.wav")]
    page = tmp_path / "emotion_report.html"
    write_html_report(curves, page, {})
    dom, _ = render(page, tmp_path, "--dump-dom")
    assert 'data-ready="1"' in dom  # report.js ran: nothing swallowed it
    assert dom.count("<tr data-index=") == 3

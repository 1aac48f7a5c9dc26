"""`feedsvc stats --html` in a real browser: Debian's Chromium, headless, opens the report from
a file with every network request sent to a proxy that records them, draws both charts with
the inlined Chart.js, and shows the figures (issue 15)."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree
from PIL import Image

from feedsvc.cli import main

from .stats_logs import DAY, FEEDLY, NETNEWSWIRE, combined, write_log
from .test_browser import CHROMIUM, FLAGS

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

HOSTILE_AGENT = '</script><script>document.title="owned"</script><b x="'
FIRST_COLOUR = (0x2F, 0x6D, 0xB5)  # the report's palette: the widest feed, the largest share
SECOND_COLOUR = (0xD9, 0x62, 0x2B)


class Proxy:
    """A listening socket standing for an HTTP proxy: records the request line of every
    connection made to it, and answers none."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.requests: list[str] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return  # closed
            with connection:
                connection.settimeout(5)
                try:
                    head = connection.recv(4096)
                except OSError:
                    head = b""
                self.requests.append(head.split(b"\r\n")[0].decode("latin-1"))

    def close(self) -> None:
        self.server.close()
        self._thread.join(timeout=5)


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    recorder = Proxy()
    try:
        yield recorder
    finally:
        recorder.close()


def chromium(profile: Path, proxy: Proxy, *arguments: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
            # Every request, to loopback too, goes to the recording proxy.
            f"--proxy-server=http://127.0.0.1:{proxy.port}", "--proxy-bypass-list=<-loopback>",
            "--enable-logging=stderr", "--v=0", *arguments,
        ],
        capture_output=True, text=True, timeout=90, check=True,
    )  # fmt: skip


@pytest.fixture
def report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    lines = []
    for age in range(3):
        when = DAY - timedelta(days=age)
        lines += [
            combined("/feeds/all.rss", FEEDLY.format(300 - 10 * age), when=when),
            combined("/feeds/all.rss", "Feedbin feed-id:7 - 40 subscribers", when=when),
            combined("/feeds/all.atom", NETNEWSWIRE, when=when),
            combined("/feeds/all.atom", HOSTILE_AGENT, when=when),
            combined("/feeds/all.atom", HOSTILE_AGENT, when=when + timedelta(hours=1)),
        ]
    path = tmp_path / "report.html"
    assert main(["stats", str(write_log(tmp_path / "access.log", lines)), "--html", str(path)]) == 0
    capsys.readouterr()
    return path


def test_the_report_draws_its_charts_offline(report: Path, tmp_path: Path, proxy: Proxy) -> None:
    result = chromium(tmp_path / "profile", proxy, "--dump-dom", report.as_uri())
    assert "Uncaught" not in result.stderr  # no script failed
    page = etree.fromstring(result.stdout.encode(), etree.HTMLParser())
    assert page.findtext(".//title") == "Feed subscribers, 2026-12-04"
    # Chart.js sizes each canvas it draws in (a style only it sets).
    canvases = {c.get("id"): c.get("style", "") for c in page.iter("canvas")}
    assert set(canvases) == {"days", "shares"}
    assert all("box-sizing: border-box" in style for style in canvases.values())
    # The hostile User-Agent is text in the pollers' table, and closed no script.
    assert len(list(page.iter("script"))) == 3
    assert HOSTILE_AGENT in [text(td) for td in table(page, "pollers").iter("td")]
    rows = [[text(td) for td in tr.iter("td")] for tr in table(page, "feeds").iter("tr")]
    assert [row[:4] for row in rows if row] == [
        ["/feeds/all.rss", "340", "0", "Feedly 300, Feedbin 40"],
        ["/feeds/all.atom", "2", "2", "-"],
    ]
    days = [[text(cell) for cell in tr] for tr in table(page, "days-table").iter("tr")]
    assert days == [
        ["day (UTC)", "/feeds/all.rss", "/feeds/all.atom"],
        ["2026-12-02", "320", "2"],
        ["2026-12-03", "330", "2"],
        ["2026-12-04", "340", "2"],
    ]
    (data_script,) = [s for s in page.iter("script") if s.get("id") == "chart-data"]
    data = json.loads(text(data_script))
    assert data["days"] == ["2026-12-02", "2026-12-03", "2026-12-04"]
    assert data["series"][0] == {"feed": "/feeds/all.rss", "counts": [320, 330, 340]}

    screenshot = tmp_path / "report.png"
    chromium(tmp_path / "profile", proxy, f"--screenshot={screenshot}", "--window-size=1200,900",
             report.as_uri())  # fmt: skip
    with Image.open(screenshot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None
    counts = {colour: n for n, colour in colours}
    # The doughnut's largest slice and the widest feed's line, in the palette's colours.
    assert counts.get(FIRST_COLOUR, 0) > 2000
    assert counts.get(SECOND_COLOUR, 0) > 500
    assert page_requests(proxy) == []  # the page fetched nothing


def test_the_proxy_sees_what_a_page_fetches(tmp_path: Path, proxy: Proxy) -> None:
    """The check above can fail: a page that loads a script is seen doing so."""
    page = tmp_path / "page.html"
    page.write_text('<script src="http://cdn.example.invalid/chart.js"></script>', "utf-8")
    chromium(tmp_path / "profile", proxy, "--dump-dom", page.as_uri())
    assert any("cdn.example.invalid" in r for r in page_requests(proxy))


# Chromium's own services (updates, network time, accounts), which it calls whatever the page.
BROWSER_HOSTS = ("google.com", "googleapis.com", "gvt1.com", "gstatic.com")


def table(page: etree._Element, name: str) -> etree._Element:
    found = page.find(f".//table[@id='{name}']")
    assert found is not None, name
    return found


def text(element: etree._Element) -> str:
    return "".join(str(part) for part in element.itertext())


def page_requests(proxy: Proxy) -> list[str]:
    """The requests of the proxy's log that Chromium did not make for itself."""
    found = []
    for line in proxy.requests:
        target = line.split(" ")[1] if line.count(" ") >= 2 else line
        host = urlsplit(target).hostname if "://" in target else target.rpartition(":")[0]
        if not host or not host.endswith(BROWSER_HOSTS):
            found.append(line)
    return found

"""The README's production command, for real: gunicorn with deploy/gunicorn.conf.py on 127.0.0.1."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import Store, check_feed

REPO = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Redirects point at base_url, which is not this machine: never follow them.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def start(store: Store, tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOME": str(tmp_path),  # gunicorn keeps a control socket under ~/.gunicorn
        "FEEDSVC_ARTICLES_DIR": str(store.root),
        "FEEDSVC_STATE_DIR": str(tmp_path / "state"),
        "FEEDSVC_BIND": f"127.0.0.1:{port}",
        "FEEDSVC_WORKERS": "2",
        "FEEDSVC_RESCAN_INTERVAL": "0.2",
    }
    return subprocess.Popen(
        [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def server(store: Store, tmp_path: Path) -> Iterator[str]:
    store.add("a.md", id="a", title="First")
    port = free_port()
    process = start(store, tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                fetch(f"{base}/")
                break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "gunicorn did not start within 30 s"
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()


def test_gunicorn_serves_conditional_and_compressed_feeds(server: str) -> None:
    status, headers, body = fetch(f"{server}/feeds/all.atom")
    assert status == 200
    assert headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert [e.title for e in check_feed(body).entries] == ["First"]
    status, again, body304 = fetch(f"{server}/feeds/all.atom", {"If-None-Match": headers["ETag"]})
    assert (status, body304) == (304, b"")
    assert again["ETag"] == headers["ETag"]
    status, zipped, compressed = fetch(f"{server}/feeds/all.atom", {"Accept-Encoding": "gzip"})
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed) == body
    status, moved, _ = fetch(f"{server}/feed/")
    assert status == 301
    assert moved["Location"] == "https://news.example.com/feeds/all.rss"


def test_every_worker_serves_an_edit_within_seconds(server: str, store: Store) -> None:
    store.add("b.md", id="b", title="Second", published="2025-03-20 10:00")
    deadline = time.monotonic() + 10
    while True:
        # Several requests in a row reach both workers.
        titles = [
            [e.title for e in check_feed(fetch(f"{server}/feeds/all.rss")[2]).entries]
            for _ in range(8)
        ]
        if all(t == ["Second", "First"] for t in titles):
            break
        assert time.monotonic() < deadline, titles
        time.sleep(0.2)


def test_a_misconfigured_site_stops_start_up_with_a_clear_message(
    store: Store, tmp_path: Path
) -> None:
    store.write_site('title = "No GUID parts"\nbase_url = "https://x.example"\n')
    process = start(store, tmp_path, free_port())
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode != 0
    assert b"feedsvc cannot start" in stderr
    assert b"`tag_authority` is required" in stderr

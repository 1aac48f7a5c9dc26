"""The README's production command, for real: gunicorn with deploy/gunicorn.conf.py on 127.0.0.1."""

from __future__ import annotations

import gzip
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .checks import check_feed
from .factories import Store
from .servers import fetch, free_port, granian_server, production_server, start_gunicorn


@pytest.fixture
def server(store: Store, tmp_path: Path) -> Iterator[str]:
    store.add("a.md", id="a", title="First")
    with production_server(store.root, tmp_path) as gunicorn:
        yield gunicorn.base


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
    process = start_gunicorn(store.root, tmp_path, free_port())
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode != 0
    assert b"feedsvc cannot start" in stderr
    assert b"`tag_authority` is required" in stderr


def test_granian_serves_the_same_bytes_as_gunicorn(store: Store, tmp_path: Path) -> None:
    """deploy/granian.sh, the server for serving clients directly: same documents, validators
    and compression as the gunicorn command."""
    store.add("a.md", id="a", title="First")
    env = {"FEEDSVC_ACCESS_LOG": "off"}
    with granian_server(store.root, tmp_path / "granian-state", env, subprocess.DEVNULL) as base:
        with production_server(store.root, tmp_path / "gunicorn") as gunicorn:
            for path in ("/feeds/all.atom", "/feeds/all.json", "/feeds/all/archive/2025-03.rss"):
                for headers in ({}, {"Accept-Encoding": "gzip"}):
                    one, one_headers, one_body = fetch(f"{base}{path}", headers)
                    two, two_headers, two_body = fetch(f"{gunicorn.base}{path}", headers)
                    assert one == two == 200
                    assert one_body == two_body
                    # granian sends header names in lower case (they are case-insensitive).
                    ours = {k.lower(): v for k, v in one_headers.items()}
                    theirs = {k.lower(): v for k, v in two_headers.items()}
                    for name in ("etag", "last-modified", "cache-control", "content-type", "vary"):
                        assert ours[name] == theirs[name]
                    again = fetch(f"{base}{path}", {**headers, "If-None-Match": ours["etag"]})
                    assert (again[0], again[2]) == (304, b"")
        status, _, _ = fetch(f"{base}/feeds/nothing.rss")
        assert status == 404

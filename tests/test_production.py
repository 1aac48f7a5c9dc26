"""The README's production command, for real: gunicorn with deploy/gunicorn.conf.py on 127.0.0.1."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import Store, check_feed, fetch, free_port, production_server, start_gunicorn


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

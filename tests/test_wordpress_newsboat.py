"""The move from WordPress as a subscriber lives it: newsboat (Debian package) subscribed to
WordPress's real /feed/ (saved by tests/fixtures/wordpress/make_fixtures.sh), then the same
address answered by feedsvc after ``feedsvc import wordpress``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .factories import Clock, make_app
from .servers import StatusLog, serving
from .test_newsboat import Reader, pytestmark  # noqa: F401 (skipped without newsboat)
from .wordpress import WORDPRESS_FEED, run_import, wordpress_store

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# After every published post of the fixtures, before the one scheduled for 2099.
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def wordpress(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """WordPress's /feed/ as it served it (the saved bytes)."""
    if environ["PATH_INFO"] != "/feed/":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    body = WORDPRESS_FEED.read_bytes()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/rss+xml; charset=UTF-8"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


class Site:
    """One address, answered first by WordPress, then by feedsvc."""

    def __init__(self) -> None:
        self.app: WsgiApp = wordpress

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self.app(environ, start_response)


def unread(reader: Reader) -> int:
    with sqlite3.connect(reader.cache) as db:
        (count,) = db.execute("select count(*) from rss_item where unread = 1").fetchone()
        return int(count)


def mark_all_read(reader: Reader) -> None:
    with sqlite3.connect(reader.cache) as db:
        db.execute("update rss_item set unread = 0")


@pytest.mark.parametrize(("items_per_feed", "new_items"), [(10, 0), (15, 5)])
def test_a_subscriber_sees_no_post_twice_and_nothing_new(
    tmp_path: Path, items_per_feed: int, new_items: int
) -> None:
    site = Site()
    with serving(site) as base:
        # 1. A reader subscribed to WordPress's /feed/ has its 10 newest posts, all read.
        reader = Reader(tmp_path / "newsboat", f"{base}/feed/")
        reader.reload()
        before = reader.items()
        assert len(before) == 10
        assert all(guid.startswith("https://blog.example.com/") for guid in before)
        mark_all_read(reader)

        # 2. The site moves: the store is imported, and feedsvc answers the same address
        # (its /feed/ alias leads to /feeds/all.rss).
        store = wordpress_store(tmp_path / "store", base_url=base, items_per_feed=items_per_feed)
        assert run_import(store) == 0
        log = StatusLog(make_app(store, tmp_path / "state", clock=Clock(NOW)))
        site.app = log

        # 3. After a reload: no duplicate, nothing unread, unless feedsvc lists more posts
        # than WordPress did (the README's migration steps say to match the setting first).
        reader.reload()
        assert log.codes == [301, 200]
        after = reader.items()
        assert set(before) <= set(after)
        assert len(after) == 10 + new_items
        assert unread(reader) == new_items

"""The fast path answers feed requests exactly as the Flask route behind it would."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import Client, TestResponse

from feedsvc.fastpath import FastPath

from .factories import Clock, Store, make_app

PATHS = [
    "/feeds/all.rss",
    "/feeds/all.atom",
    "/feeds/all.json",
    "/feeds/technology.rss",
    "/feeds/tag/%E8%8A%AF%E7%89%87.atom",
    "/feeds/all/archive/2025-03.json",
    "/feeds/all/archive/2025-04.rss",  # empty month, open
    "/feeds/lang/de.rss",
    "/feeds/nothing.rss",
    "/feeds/all.xml",
    "/feeds/all.rss?utm_source=x",
]


# Without hubs, and with hubs (a WebSub Link header on subscription documents).
@pytest.fixture(params=["", "http://127.0.0.1:9/hub"])
def app(store: Store, state_dir: Path, clock: Clock, request: pytest.FixtureRequest) -> Flask:
    store.add(id="a", tags="[芯片]", published="2025-03-01 10:00")
    store.add(id="b", language="de", published="2025-03-02 10:00")
    store.add(id="later", published="2025-06-03 10:00")  # shortens max-age
    return make_app(store, state_dir, clock, HUB_URLS=request.param, WEBSUB_NOTIFY="false")


def variants(fast: Client) -> list[dict[str, str]]:
    plain = fast.get("/feeds/all.rss")
    zipped = fast.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip"})
    etag, gzip_etag = plain.headers["ETag"], zipped.headers["ETag"]
    since = plain.headers["Last-Modified"]
    return [
        {},
        {"Accept-Encoding": "gzip"},
        {"Accept-Encoding": "gzip;q=0, deflate"},
        {"Accept-Encoding": "*"},
        {"Accept-Encoding": "br, gzip;q=0.5"},
        {"If-None-Match": etag},
        {"If-None-Match": gzip_etag, "Accept-Encoding": "gzip"},
        {"If-None-Match": etag, "Accept-Encoding": "gzip"},  # the other representation's
        {"If-None-Match": f'"x", W/{etag}'},
        {"If-None-Match": "*"},
        {"If-None-Match": '"stale"', "If-Modified-Since": since},  # If-None-Match decides
        {"If-Modified-Since": since},
        {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"},
        {"If-Modified-Since": "not a date"},
        {"Range": "bytes=0-10"},
    ]


def comparable(response: TestResponse) -> tuple[str, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.items() if k != "Date"]
    return response.status, headers, response.get_data()


def test_the_fast_path_answers_like_flask(app: Flask) -> None:
    assert isinstance(app.wsgi_app, FastPath)
    fast = Client(app)
    flask_only = Client(app.wsgi_app.app)
    for path in PATHS:
        for headers in variants(fast):
            for method in ("GET", "HEAD"):
                one = fast.open(path, method=method, headers=headers)
                two = flask_only.open(path, method=method, headers=headers)
                assert comparable(one) == comparable(two), (path, method, headers)
                assert ("Date" in one.headers) == ("Date" in two.headers)


def test_the_fast_path_leaves_other_requests_to_flask(app: Flask) -> None:
    fast = Client(app)
    for method, path in [("POST", "/feeds/all.rss"), ("GET", "/"), ("GET", "/feeds.opml"),
                         ("GET", "/feed/"), ("DELETE", "/feeds/all.rss")]:  # fmt: skip
        one = fast.open(path, method=method)
        two = Client(app.wsgi_app.app).open(path, method=method)  # type: ignore[attr-defined]
        assert comparable(one) == comparable(two)

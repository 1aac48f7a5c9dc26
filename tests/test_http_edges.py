"""HTTP edges: odd validators, ranges, methods, query strings, huge requests. Every one gets a
defined answer, never a 500; public feeds carry nosniff and CORS, nothing else carries CORS."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from feedsvc.model import FEED_FORMATS
from feedsvc.render import CONTENT_TYPES, render_feed

from .checks import check_document
from .factories import DEFAULT_NOW, Clock, Store, make_app
from .servers import production_server

FEEDS = [f"/feeds/{scope}.{fmt}" for scope in ("all", "technology") for fmt in FEED_FORMATS]


@pytest.fixture
def app(store: Store, state_dir: Path, clock: Clock) -> Flask:
    store.add("a.md", id="a", category="technology")
    return make_app(store, state_dir, clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_feed_formats_and_content_types_agree() -> None:
    assert set(CONTENT_TYPES) == set(FEED_FORMATS)


@pytest.mark.parametrize("path", FEEDS)
@pytest.mark.parametrize(
    "headers",
    [
        {"If-Modified-Since": "garbage"},
        {"If-Modified-Since": "Mon, 99 Foo 2025 25:61:61 GMT"},
        {"If-Modified-Since": "Sun, 06 Nov 1794 08:49:37 GMT"},
        {"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT"},
        {"If-Modified-Since": "\x00\x7f\u00e9"},
        {"If-None-Match": '"unterminated'},
        {"If-None-Match": "W/"},
        {"If-None-Match": ",,, ,"},
        {"If-None-Match": "no-quotes-at-all"},
        {"If-None-Match": ", ".join(f'"stale-{n}"' for n in range(2000))},
        {"If-Unmodified-Since": "garbage"},
        {"If-Range": "garbage", "Range": "bytes=0-10"},
        {"Range": "bytes=0-10"},
        {"Range": "bytes=-5"},
        {"Range": "bytes=999999-"},
        {"Range": "bytes=5-1"},
        {"Range": "lines=1-2"},
        {"Range": "bytes=0-1,2-3,4-5"},
        {"Accept-Encoding": "gzip;q=nonsense"},
        {"Accept-Encoding": "*"},
    ],
)
def test_odd_validators_and_ranges_get_the_whole_feed(
    client: FlaskClient, path: str, headers: dict[str, str]
) -> None:
    plain = client.get(path)
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    assert "Content-Range" not in response.headers
    body = response.data
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    assert body == plain.data
    check_document(body, path.rsplit(".", 1)[1])


@pytest.mark.parametrize("path", FEEDS)
def test_validator_lists_star_and_weak_tags(client: FlaskClient, path: str) -> None:
    first = client.get(path)
    etag = first.headers["ETag"]
    for header in (f'"a", {etag}, "b"', "*", f"W/{etag}", f'W/"x", W/{etag}', f" {etag} "):
        response = client.get(path, headers={"If-None-Match": header})
        assert (response.status_code, response.data) == (304, b""), header
        assert response.headers["ETag"] == etag
    # If-Match compares strongly: * and the exact tag match, a weak or stale tag does not.
    for header in ("*", etag, f'"other", {etag}'):
        assert client.get(path, headers={"If-Match": header}).status_code == 200, header
    for header in (f"W/{etag}", '"other"'):
        response = client.get(path, headers={"If-Match": header})
        assert response.status_code == 412, header
        assert response.content_type == "text/plain; charset=utf-8"


def test_if_modified_since_in_the_future_is_ignored(client: FlaskClient, clock: Clock) -> None:
    last_modified = client.get("/feeds/all.rss").headers["Last-Modified"]
    assert (
        client.get("/feeds/all.rss", headers={"If-Modified-Since": last_modified}).status_code
        == 304
    )
    ahead = format_datetime(clock.now.replace(year=clock.now.year + 1), usegmt=True)
    assert client.get("/feeds/all.rss", headers={"If-Modified-Since": ahead}).status_code == 200


@pytest.mark.parametrize(
    "method", ["POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND", "BREW", "X-1"]
)
@pytest.mark.parametrize("path", [*FEEDS, "/", "/feed/", "/healthz", "/category/technology/feed/"])
def test_unknown_methods_answer_405_with_allow(client: FlaskClient, path: str, method: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.content_type == "text/plain; charset=utf-8"
    assert client.options(path).status_code == 200


def test_query_strings_never_make_new_renderings(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders: list[object] = []

    def counting_render(*args: Any) -> bytes:
        renders.append(args[1])
        return render_feed(*args)

    monkeypatch.setattr("feedsvc.service.render_feed", counting_render)
    for path in FEEDS:
        plain = client.get(path)
        for query in ("?x=1", "?feed=atom", "?" + "a" * 5000, "?%00%ff", "?a=1&a=2&b", "?"):
            response = client.get(path + query)
            assert response.status_code == 200
            assert response.data == plain.data
            assert response.headers["ETag"] == plain.headers["ETag"]
    assert len(renders) == len(FEEDS)  # once each, whatever the query
    assert client.get("/?utm_source=x").data == client.get("/").data


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/" + "a" * 100_000 + ".rss",
        "/" + "x/" * 20_000,
        "/feeds/all.rss/" + "." * 5000,
        "/category/" + "a" * 50_000 + "/feed/",
        "/feeds/%ff%fe.rss",
        "/feeds/\u202eall.rss",
    ],
)
def test_very_long_and_odd_paths_are_plain_404s(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.content_type == "text/plain; charset=utf-8"


def test_very_long_headers_are_ignored_by_the_app(client: FlaskClient) -> None:
    response = client.get(
        "/feeds/all.rss",
        headers={"X-Long": "a" * 100_000, "User-Agent": "b" * 100_000, "Accept": "*/*;" * 5000},
    )
    assert response.status_code == 200


def test_public_feeds_send_nosniff_and_cors_and_nothing_else_sends_cors(
    client: FlaskClient,
) -> None:
    for path in FEEDS:
        for headers in ({}, {"Accept-Encoding": "gzip"}):
            response = client.get(path, headers=headers)
            etag = response.headers["ETag"]
            not_modified = client.get(path, headers={**headers, "If-None-Match": etag})
            for answer in (response, not_modified, client.head(path, headers=headers)):
                assert answer.headers["X-Content-Type-Options"] == "nosniff"
                assert answer.headers["Access-Control-Allow-Origin"] == "*"
    # CORS is for public feeds only: not the page, health, redirects or errors. Partner
    # feeds, when they come, must keep it that way.
    for path in ("/", "/healthz", "/feed/", "/?feed=atom", "/feeds/nope.rss", "/nothing"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "Access-Control-Allow-Origin" not in response.headers, path
    assert "Access-Control-Allow-Origin" not in client.post("/feeds/all.rss").headers


# --- the same edges through the production server (gunicorn) ------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp_path = tmp_path_factory.mktemp("edges")
    store = Store(tmp_path / "store")
    store.add("a.md", id="a", published=f"{DEFAULT_NOW:%Y-%m-%d}")
    with production_server(store.root, tmp_path / "home") as gunicorn:
        yield int(gunicorn.base.rsplit(":", 1)[1])


def raw_request(port: int, request: bytes) -> int:
    """Send bytes as they are; the status code of the answer (0: the server closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


@pytest.mark.parametrize(
    ("request_bytes", "expected"),
    [
        (b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {200}),
        (b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {414}),
        (
            b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\nX-Big: "
            + b"b" * 20_000
            + b"\r\nConnection: close\r\n\r\n",
            {400, 431},
        ),
        (
            b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%d: y\r\n" % n for n in range(200))
            + b"Connection: close\r\n\r\n",
            {400, 431},
        ),
        (b"BREW /feeds/all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {405}),
        (b"G\x01T /feeds/all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400}),
        (b"GET /feeds/all.rss HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n", {400, 505}),
        (b"GET /feeds/%ff.rss?\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400, 404}),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", {0, 400}),  # TLS by mistake
    ],
)
def test_the_production_server_answers_odd_requests_without_a_500(
    server: int, request_bytes: bytes, expected: set[int]
) -> None:
    assert raw_request(server, request_bytes) in expected

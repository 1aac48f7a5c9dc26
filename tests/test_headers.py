"""The one builder of a document's headers (feedsvc.headers), and the Flask routes using it."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

from werkzeug.test import Client, TestResponse

from feedsvc.headers import VARY, VARY_AUTHORIZATION, DocumentHeaders, document_headers
from feedsvc.service import FeedService, RenderedDocument
from feedsvc.web import EXTENSION_KEY

from .factories import Clock, Store, make_app

BODY = b"<rss>" + b"news " * 100 + b"</rss>"
DOCUMENT = RenderedDocument(
    body=BODY,
    gzip_body=gzip.compress(BODY, mtime=0),
    etag="abc123",
    last_modified=datetime(2025, 3, 1, 10, 0, 5, tzinfo=UTC),
    content_type="application/rss+xml; charset=utf-8",
)
DATE = datetime(2026, 12, 4, 14, 0, 0, tzinfo=UTC)
HUB_LINK = (
    '<https://hub.example.com/>; rel="hub", <https://news.example.com/feeds/all.rss>; rel="self"'
)
CONTENT_FIELDS = {"Content-Type", "Content-Length", "Content-Encoding", "Last-Modified"}


def public(*, gzipped: bool = False, link: str | None = None) -> DocumentHeaders:
    return document_headers(
        DOCUMENT, gzipped=gzipped, max_age=300, private=False, cross_origin=True, vary=VARY,
        link=link, date=DATE,
    )  # fmt: skip


def names(headers: tuple[tuple[str, str], ...]) -> list[str]:
    return [name for name, _ in headers]


def test_a_public_200_and_its_304() -> None:
    headers = public()
    assert headers.etag == '"abc123"'
    assert headers.ok == (
        ("Content-Type", "application/rss+xml; charset=utf-8"),
        ("Content-Length", str(len(BODY))),
        ("ETag", '"abc123"'),
        ("Last-Modified", "Sat, 01 Mar 2025 10:00:05 GMT"),
        ("Vary", "Accept-Encoding"),
        ("Cache-Control", "public, max-age=300"),
        ("Access-Control-Allow-Origin", "*"),
        ("Date", "Fri, 04 Dec 2026 14:00:00 GMT"),
        ("X-Content-Type-Options", "nosniff"),
    )
    # RFC 9110 15.4.5: the validator and the caching fields of the 200, no content fields.
    assert headers.not_modified == (
        ("ETag", '"abc123"'),
        ("Vary", "Accept-Encoding"),
        ("Cache-Control", "public, max-age=300"),
        ("Access-Control-Allow-Origin", "*"),
        ("Date", "Fri, 04 Dec 2026 14:00:00 GMT"),
        ("X-Content-Type-Options", "nosniff"),
    )


def test_the_304_is_the_200_without_its_content_fields() -> None:
    for gzipped in (False, True):
        for link in (None, HUB_LINK):
            headers = public(gzipped=gzipped, link=link)
            kept = tuple(field for field in headers.ok if field[0] not in CONTENT_FIELDS)
            assert headers.not_modified == kept
            assert CONTENT_FIELDS.isdisjoint(names(headers.not_modified))


def test_gzip_and_identity_are_two_representations() -> None:
    identity, zipped = public(), public(gzipped=True)
    assert dict(zipped.ok)["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in dict(identity.ok)
    assert dict(zipped.ok)["Content-Length"] == str(len(DOCUMENT.gzip_body))
    assert dict(identity.ok)["Content-Length"] == str(len(DOCUMENT.body))
    # Each has its own strong ETag, in the 200 and in the 304 alike.
    assert zipped.etag == '"abc123-gzip"' != identity.etag
    assert dict(zipped.ok)["ETag"] == dict(zipped.not_modified)["ETag"] == zipped.etag
    assert dict(identity.ok)["ETag"] == dict(identity.not_modified)["ETag"] == identity.etag
    # Both vary on the encoding asked for and have the same date of last change.
    assert dict(zipped.ok)["Vary"] == dict(identity.ok)["Vary"] == "Accept-Encoding"
    assert dict(zipped.ok)["Last-Modified"] == dict(identity.ok)["Last-Modified"]


def test_a_private_partner_answer() -> None:
    headers = document_headers(
        DOCUMENT, gzipped=True, max_age=60, private=True, cross_origin=False,
        vary=VARY_AUTHORIZATION, link=None, date=DATE,
    )  # fmt: skip
    for fields in (dict(headers.ok), dict(headers.not_modified)):
        assert fields["Cache-Control"] == "private, max-age=60"
        assert fields["Vary"] == "Accept-Encoding, Authorization"
        assert "Access-Control-Allow-Origin" not in fields
        assert "Link" not in fields


def test_the_link_only_when_given() -> None:
    assert "Link" not in names(public().ok) + names(public().not_modified)
    with_link = public(link=HUB_LINK)
    assert dict(with_link.ok)["Link"] == HUB_LINK
    assert dict(with_link.not_modified)["Link"] == HUB_LINK


def test_the_date_is_the_one_given() -> None:
    later = document_headers(
        DOCUMENT, gzipped=False, max_age=300, private=False, cross_origin=True, vary=VARY,
        link=None, date=datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC),
    )  # fmt: skip
    assert dict(later.ok)["Date"] == dict(later.not_modified)["Date"]
    assert dict(later.ok)["Date"] == "Sat, 02 Jan 2027 03:04:05 GMT"
    assert public().ok == public().ok  # nothing but the arguments decides


def without_date(response: TestResponse) -> list[tuple[str, str]]:
    return [(name, value) for name, value in response.headers.items() if name != "Date"]


def test_the_home_page_and_the_opml_list_are_served_with_these_headers(
    store: Store, state_dir: Path, clock: Clock
) -> None:
    store.add(id="a", published="2025-03-01 10:00")
    app = make_app(store, state_dir, clock)
    service: FeedService = app.extensions[EXTENSION_KEY]
    client = Client(app)
    for path, document, cross_origin in (
        ("/", service.index(), False),
        ("/feeds.opml", service.opml(), True),
    ):
        for gzipped in (False, True):
            expected = document_headers(
                document, gzipped=gzipped, max_age=service.max_age(), private=False,
                cross_origin=cross_origin, vary=VARY, link=None, date=DATE,
            )  # fmt: skip
            accept = {"Accept-Encoding": "gzip"} if gzipped else {}
            ok = client.get(path, headers=accept)
            assert ok.status_code == 200
            assert without_date(ok) == [field for field in expected.ok if field[0] != "Date"]
            assert ok.get_data() == (document.gzip_body if gzipped else document.body)
            again = client.get(path, headers={**accept, "If-None-Match": expected.etag})
            assert again.status_code == 304
            assert again.get_data() == b""
            assert without_date(again) == [
                field for field in expected.not_modified if field[0] != "Date"
            ]

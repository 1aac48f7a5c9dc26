"""Inputs that bench/fuzz.sh (atheris) found breaking a rule, kept as regression tests.
Each is the smallest form of the finding; its comment says what it broke."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from feedsvc import frontmatter
from feedsvc.errors import ArticleError
from feedsvc.model import FEED_FORMATS, Site
from feedsvc.settings import build_site
from feedsvc.store import parse as parse_module
from feedsvc.store.parse import read_article_bytes

from .checks import check_document
from .factories import TEXTS, Store, render_site_feed, store_reader


def site(timezone: str = "Europe/Berlin") -> Site:
    return build_site(
        {
            "title": "Fuzz Wire",
            "base_url": "https://news.example.com",
            "tag_authority": "news.example.com",
            "tag_date": "2025-01-01",
            "timezone": timezone,
            "categories": {"economy": {}},
        }
    )


def article(published: str) -> bytes:
    return f"---\nid: a\ntitle: T\npublished: {published}\ncategory: economy\n---\nBody.".encode()


@pytest.mark.parametrize("published", ["1012-12-20 13:30", "0001-01-01", "1899-12-31 23:59"])
def test_a_year_no_feed_can_date_is_rejected(published: str) -> None:
    # Found: 1012-12-20 in Europe/Berlin is local mean time, +00:53:28, which RSS wrote as
    # "+005328" and Atom as "+00:53:28": neither is a valid date.
    with pytest.raises(ArticleError, match="is not 1900 to 2999") as caught:
        read_article_bytes(article(published), path="fuzz.md", site=site())
    assert caught.value.field == "published"


def test_an_offset_with_seconds_is_written_in_utc() -> None:
    # Africa/Monrovia kept local mean time (-00:44:30) until 1972.
    monrovia = site("Africa/Monrovia")
    record, text = read_article_bytes(article("1960-05-01 10:00"), path="fuzz.md", site=monrovia)
    TEXTS[record.version] = text
    assert record.published == datetime(1960, 5, 1, 10, 44, 30, tzinfo=UTC)
    assert record.published.utcoffset() is not None
    for fmt in FEED_FORMATS:
        check_document(render_site_feed(monrovia, [record], fmt), fmt)


def test_the_last_year_still_renders() -> None:
    # Year 9999 with a negative offset overflowed date arithmetic; 2999 is the last one.
    ny = site("America/New_York")
    record, text = read_article_bytes(article("2999-12-31 23:59"), path="fuzz.md", site=ny)
    TEXTS[record.version] = text
    for fmt in FEED_FORMATS:
        check_document(render_site_feed(ny, [record], fmt), fmt)


@pytest.mark.parametrize("published", ["2025-03-05 14-40", "2025-03-05 14:40 +2500"])
def test_a_zone_a_day_or_more_off_is_rejected(published: str) -> None:
    # Found: "14-40" reads as 14:00 in a zone 40 hours off; converting it raised ValueError
    # out of the loader, which stopped the whole scan (every request after it failed).
    with pytest.raises(ArticleError, match="has no valid time zone") as caught:
        read_article_bytes(article(published), path="fuzz.md", site=site())
    assert caught.value.field == "published"


def test_an_unexpected_error_in_one_file_never_stops_the_others(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store.add("good.md", id="good")
    store.add("trigger.md", id="trigger")
    real = frontmatter.load_front_matter

    def buggy(header: str) -> object:
        if "trigger" in header:
            raise RuntimeError("a bug we have not found yet")
        return real(header)

    monkeypatch.setattr(parse_module, "load_front_matter", buggy)
    snapshot = store_reader(store.root).scan()
    assert [a.id for a in snapshot.articles] == ["good"]
    assert [(p.path, p.reason) for p in snapshot.problems] == [
        ("trigger.md", "could not be read because of an unexpected error (see the log)")
    ]
    assert "a bug we have not found yet" in caplog.text


@pytest.mark.parametrize("url", ["https://news.]xample.com/a.jpg", "http://[::1/a.jpg"])
def test_an_image_url_urllib_cannot_split_is_rejected(url: str) -> None:
    # Found: urljoin raises ValueError ("Invalid IPv6 URL") on a host with a lone bracket.
    text = article("2025-03-05 14:40").replace(b"---\nBody", f"image: '{url}'\n---\nBody".encode())
    with pytest.raises(ArticleError, match="is not an http") as caught:
        read_article_bytes(text, path="fuzz.md", site=site())
    assert caught.value.field == "image"


@pytest.mark.parametrize("media_type", ["imag$e/jpeg", "image/jp!eg", "image/#", "a&b/c"])
def test_a_media_type_with_characters_no_feed_validator_takes_is_rejected(
    media_type: str,
) -> None:
    # Found: RFC 6838 allows "!#$&^" in type names, but the JSON Feed schema (and validators)
    # do not; "imag$e/jpeg" was written into every format.
    image = f"image: {{url: /a.jpg, type: '{media_type}', length: 1}}"
    text = article("2025-03-05 14:40").replace(b"---\nBody", f"{image}\n---\nBody".encode())
    with pytest.raises(ArticleError, match="is not a media type") as caught:
        read_article_bytes(text, path="fuzz.md", site=site())
    assert caught.value.field == "image"


@pytest.mark.parametrize("url", ["0\u20280", "/a\u2029b.jpg", "/a\u00a0b.jpg", "/a\u3000b.jpg"])
def test_an_image_url_with_white_space_of_any_kind_is_rejected(url: str) -> None:
    # Found (Hypothesis, in CI): "0\u2028 0" was accepted as an image URL, and the JSON Feed
    # schema, like readers, ends a URL at any white space.
    text = article("2025-03-05 14:40").replace(
        b"---\nBody", f"image: {json.dumps(url)}\n---\nBody".encode()
    )
    with pytest.raises(ArticleError, match="is not an http") as caught:
        read_article_bytes(text, path="fuzz.md", site=site())
    assert caught.value.field == "image"

"""Inputs that bench/fuzz.sh (atheris) found breaking a rule, kept as regression tests.
Each is the smallest form of the finding; its comment says what it broke."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedsvc.errors import ArticleError
from feedsvc.model import FEED_FORMATS
from feedsvc.settings import build_site
from feedsvc.store import read_article_bytes

from .helpers import check_document, render_site_feed


def site(timezone: str = "Europe/Berlin"):  # type: ignore[no-untyped-def]
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
    record = read_article_bytes(article("1960-05-01 10:00"), path="fuzz.md", site=monrovia)
    assert record.published == datetime(1960, 5, 1, 10, 44, 30, tzinfo=UTC)
    assert record.published.utcoffset() is not None
    for fmt in FEED_FORMATS:
        check_document(render_site_feed(monrovia, [record], fmt), fmt)


def test_the_last_year_still_renders() -> None:
    # Year 9999 with a negative offset overflowed date arithmetic; 2999 is the last one.
    ny = site("America/New_York")
    record = read_article_bytes(article("2999-12-31 23:59"), path="fuzz.md", site=ny)
    for fmt in FEED_FORMATS:
        check_document(render_site_feed(ny, [record], fmt), fmt)

"""Article slugs of any script: accepted, percent-encoded in every format's link, and the
characters a slug may not hold rejected with a one-line reason (issue 14)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc.errors import ArticleError
from feedsvc.model import Site
from feedsvc.store.parse import parse_article

from .checks import NS, check_feed, check_json_feed, parse_xml
from .factories import Store, front_matter, make_app, make_site

MUELLER_LINK = "https://news.example.com/2025/03/m%c3%bcller-studie/"


def parse_slug(site: Site, slug: str | None, path: str = "2025/a1.md") -> str:
    fields = {
        "id": "a1",
        "title": "T",
        "published": "2025-03-10 09:30",
        "category": "technology",
        "slug": slug,
    }
    article, _ = parse_article(front_matter(fields) + "Body.", path=path, site=site)
    return article.link


def test_a_unicode_slug_is_served_percent_encoded_in_every_format(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.add("studie.md", slug="müller-studie", published="2025-03-10 09:30")
    client = make_app(store, tmp_path / "state").test_client()
    rss = client.get("/feeds/all.rss").data
    (item,) = parse_xml(rss).iter("item")
    assert item.findtext("link") == MUELLER_LINK
    assert check_feed(rss).entries[0].link == MUELLER_LINK  # feedparser, bozo 0
    atom = client.get("/feeds/all.atom").data
    (entry,) = parse_xml(atom).iterfind("atom:entry", NS)
    assert entry.find("atom:link", NS).get("href") == MUELLER_LINK  # type: ignore[union-attr]
    assert check_feed(atom).entries[0].link == MUELLER_LINK
    (json_item,) = check_json_feed(client.get("/feeds/all.json").data)["items"]
    assert json_item["url"] == MUELLER_LINK
    assert json.loads(client.get("/feeds/all.json").data)["items"][0]["url"].isascii()


@pytest.mark.parametrize(
    ("slug", "path"),
    [
        ("привет-мир", "%d0%bf%d1%80%d0%b8%d0%b2%d0%b5%d1%82-%d0%bc%d0%b8%d1%80"),
        ("芯片-2025", "%e8%8a%af%e7%89%87-2025"),
        ("हिन्दी", "%e0%a4%b9%e0%a4%bf%e0%a4%a8%e0%a5%8d%e0%a4%a6%e0%a5%80"),  # combining marks
        ("straße", "stra%c3%9fe"),
        ("plain-ascii-1", "plain-ascii-1"),
    ],
)
def test_slugs_of_any_script(slug: str, path: str) -> None:
    assert parse_slug(make_site(), slug) == f"https://news.example.com/2025/03/{path}/"


@pytest.mark.parametrize(
    ("slug", "named"),
    [
        ('"a/b"', "'/'"),
        ('"a b"', "' '"),
        ("Müller-studie", "'M' (upper case)"),
        ("müller-Studie", "'S' (upper case)"),
        ("Привет", "'П' (upper case)"),
        ("a_b", "'_'"),
        ('"a.b"', "'.'"),
        ('"a%20b"', "'%'"),
    ],
)
def test_a_slug_with_another_character_is_rejected_naming_it(slug: str, named: str) -> None:
    with pytest.raises(ArticleError) as caught:
        parse_slug(make_site(), slug)
    assert caught.value.field == "slug"
    assert f"has {named}; a slug holds lower-case letters of any script" in caught.value.reason
    assert "\n" not in str(caught.value)


def test_the_default_slug_from_a_file_name_is_still_ascii() -> None:
    # Existing stores keep their links: a file name is folded to ASCII as before.
    site = make_site()
    assert parse_slug(site, None, "2025/Über-uns.md").endswith("/2025/03/uber-uns/")
    assert parse_slug(site, None, "2025/müller-studie.md").endswith("/2025/03/muller-studie/")
    with pytest.raises(ArticleError, match="is empty: give a slug"):
        parse_slug(site, None, "2025/Привет.md")


def link_or_error(slug: str) -> str | ArticleError:
    try:
        return parse_slug(make_site(), json.dumps(slug, ensure_ascii=False))  # YAML, quoted
    except ArticleError as error:
        return error


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
# Any text YAML keeps as it is in a double-quoted scalar (no line breaks, which it folds).
@given(st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=30))
def test_any_slug_is_rejected_or_linked_as_an_ascii_uri_that_decodes_to_it(slug: str) -> None:
    outcome = link_or_error(slug)
    if isinstance(outcome, ArticleError):
        assert outcome.field == "slug"
        assert "\n" not in str(outcome)
        return
    assert outcome.isascii()
    assert outcome.isprintable()
    segment = urlsplit(outcome).path.split("/")[-2]
    composed = unicodedata.normalize("NFC", slug.strip())  # one spelling per slug
    assert unquote(segment, errors="strict") == (composed or "a1")  # a blank one: the file's


def test_a_decomposed_slug_links_as_the_composed_one() -> None:
    decomposed = unicodedata.normalize("NFD", "müller-studie")
    assert decomposed != "müller-studie"
    assert parse_slug(make_site(), decomposed) == MUELLER_LINK

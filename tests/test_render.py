"""Rendering, on records built in memory: no Flask, no files, no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from feedsvc.model import Article, Image, Site
from feedsvc.pages import render_index

from .checks import NS, check_feed, parse_xml
from .factories import catalog_of, make_article, render_path

BERLIN = ZoneInfo("Europe/Berlin")
ATOM = "{http://www.w3.org/2005/Atom}"


def rss(site: Site, articles: list[Article], scope: str = "all") -> bytes:
    return render_path(site, articles, f"{scope}.rss")


def atom(site: Site, articles: list[Article], scope: str = "all") -> bytes:
    return render_path(site, articles, f"{scope}.atom")


def test_rss_channel_and_items(site: Site) -> None:
    first = make_article(site, 2, updated="2025-03-05 10:00", image=(
        '{url: "/m/a.jpg", type: image/jpeg, length: 1234}'
    ))  # fmt: skip
    second = make_article(site, 1)
    body = rss(site, [first, second])
    channel = parse_xml(body).find("channel")
    assert channel is not None
    assert channel.findtext("title") == "Test Wire"
    assert channel.findtext("link") == "https://news.example.com/"
    assert channel.findtext("description") == "Test news"
    assert channel.findtext("language") == "en"
    self_link = channel.find("atom:link", NS)
    assert self_link is not None
    assert self_link.get("rel") == "self"
    assert self_link.get("href") == "https://news.example.com/feeds/all.rss"
    assert channel.findtext("lastBuildDate") == "Wed, 05 Mar 2025 10:00:00 +0100"

    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ["Title 2", "Title 1"]
    item = items[0]
    assert item.findtext("link") == "https://news.example.com/2025/03/2/"
    guid = item.find("guid")
    assert guid is not None
    assert guid.text == "tag:news.example.com,2025-01-01:id-2"
    assert guid.get("isPermaLink") == "false"
    assert item.findtext("pubDate") == "Sun, 02 Mar 2025 09:30:00 +0100"
    assert item.findtext("description") == "<p>Body <em>text</em>.</p>"
    assert item.findtext("content:encoded", namespaces=NS) == "<p>Body <em>text</em>.</p>"
    categories = item.findall("category")
    assert [(c.text, c.get("domain")) for c in categories] == [
        ("Technology", "https://news.example.com/category/"),
        ("chips", None),
        ("research", None),
    ]
    assert item.findtext("dc:creator", namespaces=NS) == "Jane Doe"
    enclosure = item.find("enclosure")
    assert enclosure is not None
    assert {k: enclosure.get(k) for k in ("url", "length", "type")} == {
        "url": "https://news.example.com/m/a.jpg",
        "length": "1234",
        "type": "image/jpeg",
    }
    assert items[1].find("enclosure") is None

    parsed = check_feed(body)
    assert parsed.version == "rss20"
    assert [e.id for e in parsed.entries] == [first.guid, second.guid]
    assert parsed.entries[0].published_parsed[:5] == (2025, 3, 2, 8, 30)


def test_an_enclosure_needs_type_and_length_in_rss(site: Site) -> None:
    article = make_article(site, image='{url: "/m/a.jpg", type: image/jpeg}')
    assert b"<enclosure" not in rss(site, [article])


def test_atom_feed_and_entries(site: Site) -> None:
    english = make_article(site, 2, summary='"A *short* summary"', image=(
        '{url: "/m/a.jpg", type: image/jpeg, length: 1234}'
    ))  # fmt: skip
    german = make_article(site, 1, language="de", author=None, authors="[A B, C D]")
    body = atom(site, [english, german], scope="technology")
    feed = parse_xml(body)
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert feed.findtext(f"{ATOM}id") == "tag:news.example.com,2025-01-01:/feeds/technology"
    assert feed.findtext(f"{ATOM}title") == "Test Wire: Technology"
    assert feed.findtext(f"{ATOM}updated") == "2025-03-02T09:30:00+01:00"
    links = {(link.get("rel"), link.get("href")) for link in feed.findall(f"{ATOM}link")}
    assert links == {
        ("self", "https://news.example.com/feeds/technology.atom"),
        ("alternate", "https://news.example.com/category/technology/"),
        ("prev-archive", "https://news.example.com/feeds/technology/archive/2025-03.atom"),
    }
    entries = feed.findall(f"{ATOM}entry")
    entry = entries[0]
    assert entry.findtext(f"{ATOM}id") == english.guid
    assert entry.findtext(f"{ATOM}published") == "2025-03-02T09:30:00+01:00"
    assert entry.findtext(f"{ATOM}updated") == "2025-03-02T09:30:00+01:00"
    summary = entry.find(f"{ATOM}summary")
    content = entry.find(f"{ATOM}content")
    assert summary is not None
    assert content is not None
    assert (summary.get("type"), summary.text) == ("html", "<p>A <em>short</em> summary</p>")
    assert (content.get("type"), content.text) == ("html", "<p>Body <em>text</em>.</p>")
    category = entry.find(f"{ATOM}category")
    assert category is not None
    assert (category.get("term"), category.get("label")) == ("technology", "Technology")
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Jane Doe"
    # A mixed feed: every entry says its language, not only those that differ.
    assert entry.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert entries[1].get("{http://www.w3.org/XML/1998/namespace}lang") == "de"
    assert [a.text for a in entries[1].findall(f"{ATOM}author/{ATOM}name")] == ["A B", "C D"]

    parsed = check_feed(body)
    assert parsed.version == "atom10"
    assert [e.id for e in parsed.entries] == [english.guid, german.guid]
    assert parsed.entries[1].title_detail.language == "de"


def test_atom_entry_links_keep_rel_type_and_length(site: Site) -> None:
    article = make_article(site, image='{url: "/m/a.jpg", type: image/jpeg, length: 1234}')
    entry = parse_xml(atom(site, [article])).find(f"{ATOM}entry")
    assert entry is not None
    links = [dict(link.attrib) for link in entry.findall(f"{ATOM}link")]
    assert links == [
        {"rel": "alternate", "type": "text/html", "href": article.link},
        {
            "rel": "enclosure",
            "href": "https://news.example.com/m/a.jpg",
            "type": "image/jpeg",
            "length": "1234",
        },
    ]


def test_rss_channel_link_is_the_page_the_feed_stands_for(site: Site) -> None:
    channel = parse_xml(rss(site, [make_article(site)], scope="technology")).find("channel")
    assert channel is not None
    assert channel.findtext("link") == "https://news.example.com/category/technology/"


def test_entries_keep_the_given_order(site: Site) -> None:
    articles = [make_article(site, n) for n in (5, 3, 9, 1)]
    titles = [e.title for e in check_feed(rss(site, articles)).entries]
    assert titles == ["Title 5", "Title 3", "Title 9", "Title 1"]
    titles = [e.title for e in check_feed(atom(site, articles)).entries]
    assert titles == ["Title 5", "Title 3", "Title 9", "Title 1"]


def test_dates_never_come_from_the_clock(site: Site) -> None:
    articles = [make_article(site, 1, updated="2025-03-04 05:06")]
    assert b"2025" in rss(site, articles)
    for body in (rss(site, articles), atom(site, articles), rss(site, []), atom(site, [])):
        assert str(datetime.now().year).encode() not in body  # noqa: DTZ005 - the real clock
    assert parse_xml(atom(site, [])).findtext(f"{ATOM}updated") == "2025-01-01T00:00:00+00:00"
    build = parse_xml(rss(site, articles)).findtext("channel/lastBuildDate")
    assert build is not None
    assert parsedate_to_datetime(build) == datetime(2025, 3, 4, 5, 6, tzinfo=BERLIN)


def test_rendering_is_byte_for_byte_repeatable(site: Site) -> None:
    articles = [make_article(site, n) for n in range(1, 6)]
    assert rss(site, articles) == rss(site, list(articles))
    assert atom(site, articles) == atom(site, list(articles))


def test_hostile_text_gives_well_formed_feeds(site: Site) -> None:
    article = make_article(
        site,
        title='"Bad \\x00 \\x1b title ]]> <b>&amp;"',
        body="<script>alert(1)</script> ]]> <![CDATA[x]]> \x0b\ufffe &nbsp; end",
        author='"Eve \\x07"',
        tags='["\\x01tag"]',
    )
    for body in (rss(site, [article]), atom(site, [article])):
        parse_xml(body)
        parsed = check_feed(body)
        assert parsed.entries[0].title == "Bad title ]]> <b>&amp;"
        assert b"alert" not in body
        assert b"<script" not in body


def test_guids_depend_on_nothing_but_the_id(site: Site) -> None:
    original = make_article(site, 1)
    moved_site = replace(site, base_url="https://elsewhere.example.org")
    edited = make_article(
        moved_site, 1, title='"Another title"', category="technology", slug="new-slug",
        published="2025-03-01 10:00", body="Other body",
    )  # fmt: skip
    assert edited.guid == original.guid
    assert edited.link != original.link


def test_index_page_lists_feeds_with_autodiscovery(site: Site) -> None:
    page = render_index(catalog_of(site, [make_article(site)])).decode()
    assert (
        '<link rel="alternate" type="application/rss+xml" title="Test Wire (RSS)" '
        'href="https://news.example.com/feeds/all.rss">'
    ) in page
    assert 'href="https://news.example.com/feeds/technology.atom"' in page
    assert "<title>Test Wire: feeds</title>" in page


def test_an_image_without_type_is_an_atom_enclosure_only(site: Site) -> None:
    article = replace(make_article(site), image=Image("https://x.example/a.png", "", None, None))
    assert b'rel="enclosure"' in atom(site, [article])
    assert b"<enclosure" not in rss(site, [article])

"""JSON Feed, Media RSS, attribution, languages, summary-only sites and RFC 5005 archive
markup, rendered from records in memory and read back by real parsers."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from lxml import etree

from feedsvc.model import FEED_FORMATS, Article, Site
from feedsvc.render import CONTENT_TYPES

from .checks import NS, check_document, check_feed, check_json_feed, parse_xml
from .factories import make_article, render_path

MEDIA = "{http://search.yahoo.com/mrss/}"
ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"
IMAGE = '{url: "/m/a.jpg", alt: "A chip", type: image/jpeg, length: 1234}'


def json_feed(site: Site, articles: list[Article], path: str = "all.json") -> Any:
    return check_json_feed(render_path(site, articles, path))


def test_json_feed_carries_what_rss_and_atom_carry(site: Site) -> None:
    first = make_article(
        site, 2, image=IMAGE, summary='"A *short* summary"', sources="[Guancha, Wccftech]",
        updated="2025-03-05 10:00",
    )  # fmt: skip
    second = make_article(site, 1, language="de", author=None, authors="[A B, C D]")
    feed = json_feed(site, [first, second])
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Test Wire"
    assert feed["home_page_url"] == "https://news.example.com/"
    assert feed["feed_url"] == "https://news.example.com/feeds/all.json"
    assert feed["language"] == "en"
    assert feed["next_url"] == "https://news.example.com/feeds/all/archive/2025-03.json"
    item = feed["items"][0]
    assert item["id"] == first.guid
    assert item["url"] == first.link
    assert item["title"] == "Title 2"
    assert item["content_html"] == "<p>Body <em>text</em>.</p>\n<p>Source: Guancha, Wccftech</p>"
    assert item["summary"] == "A short summary"  # plain text, as the spec asks
    assert item["image"] == "https://news.example.com/m/a.jpg"
    assert item["attachments"] == [
        {
            "url": "https://news.example.com/m/a.jpg",
            "mime_type": "image/jpeg",
            "title": "A chip",
            "size_in_bytes": 1234,
        }
    ]
    assert item["date_published"] == "2025-03-02T09:30:00+01:00"
    assert item["date_modified"] == "2025-03-05T10:00:00+01:00"
    assert item["authors"] == [{"name": "Jane Doe"}]
    assert item["tags"] == ["chips", "research"]
    assert item["language"] == "en"
    assert item["_dc"]["source"] == ["Guancha", "Wccftech"]
    assert feed["items"][1]["language"] == "de"
    assert feed["items"][1]["authors"] == [{"name": "A B"}, {"name": "C D"}]

    # The same ids, titles and order in every format.
    pairs = {fmt: check_document(render_path(site, [first, second], f"all.{fmt}"), fmt)
             for fmt in FEED_FORMATS}  # fmt: skip
    assert pairs["json"] == pairs["rss"] == pairs["atom"]


def test_json_feed_is_utf8_and_repeatable(site: Site) -> None:
    article = make_article(site, 1, title='"Grüße, 芯片 and \\"quotes\\""')
    body = render_path(site, [article], "all.json")
    assert "Grüße, 芯片".encode() in body  # not \\u-escaped
    assert body == render_path(site, [article], "all.json")
    assert json.loads(body)["items"][0]["title"] == 'Grüße, 芯片 and "quotes"'
    assert CONTENT_TYPES["json"] == "application/feed+json"


def test_media_rss_sits_directly_in_the_item(site: Site) -> None:
    body = render_path(site, [make_article(site, 1, image=IMAGE)], "all.rss")
    item = parse_xml(body).find("channel/item")
    assert item is not None
    content = item.find(f"{MEDIA}content")
    assert content is not None
    assert dict(content.items()) == {
        "url": "https://news.example.com/m/a.jpg",
        "medium": "image",
        "type": "image/jpeg",
        "fileSize": "1234",
    }
    assert content.findtext(f"{MEDIA}description") == "A chip"
    thumbnail = item.find(f"{MEDIA}thumbnail")
    assert thumbnail is not None
    assert thumbnail.get("url") == "https://news.example.com/m/a.jpg"
    enclosure = item.find("enclosure")
    assert enclosure is not None
    assert dict(enclosure.items()) == {
        "url": "https://news.example.com/m/a.jpg",
        "length": "1234",
        "type": "image/jpeg",
    }
    parsed = check_feed(body)
    assert parsed.entries[0].media_content[0]["url"] == "https://news.example.com/m/a.jpg"
    assert parsed.entries[0].media_thumbnail[0]["url"] == "https://news.example.com/m/a.jpg"


def test_an_image_of_unknown_type_and_size_is_media_rss_without_an_enclosure(site: Site) -> None:
    article = make_article(site, 1, image='{url: "https://cdn.example/a.png"}')
    rss = render_path(site, [article], "all.rss")
    item = parse_xml(rss).find("channel/item")
    assert item is not None
    assert item.find("enclosure") is None
    content = item.find(f"{MEDIA}content")
    assert content is not None
    assert dict(content.items()) == {"url": "https://cdn.example/a.png", "medium": "image"}
    atom = parse_xml(render_path(site, [article], "all.atom"))
    links = [(x.get("rel"), x.get("href")) for x in atom.iter(f"{ATOM}link")]
    assert ("enclosure", "https://cdn.example/a.png") in links
    item_json = json_feed(site, [article])["items"][0]
    assert item_json["image"] == "https://cdn.example/a.png"
    assert "attachments" not in item_json  # an attachment needs its mime_type
    check_feed(rss)


def test_sources_close_the_content_in_the_article_language(site: Site) -> None:
    english = make_article(site, 2, sources="[xinmin, China Daily]")
    german = make_article(site, 1, language="de-AT", sources="[LEAD, Gotion & Co]")
    body = render_path(site, [english, german], "all.rss")
    items = parse_xml(body).findall("channel/item")
    contents = [i.findtext("content:encoded", namespaces=NS) for i in items]
    assert contents[0] is not None
    assert contents[0].endswith("<p>Source: xinmin, China Daily</p>")
    assert contents[1] is not None
    assert contents[1].endswith("<p>Quelle: LEAD, Gotion &amp; Co</p>")
    # One dc:source per item, the sources in their order (a validator rejects a second one).
    assert [s.text for s in items[0].findall("dc:source", NS)] == ["xinmin; China Daily"]
    assert [s.text for s in items[1].findall("dc:source", NS)] == ["LEAD; Gotion & Co"]
    atom = parse_xml(render_path(site, [english, german], "all.atom"))
    entry = atom.find(f"{ATOM}entry")
    assert entry is not None
    assert [s.text for s in entry.findall("dc:source", NS)] == ["xinmin; China Daily"]
    check_feed(body)


def test_a_mixed_feed_says_every_item_language(site: Site) -> None:
    english = make_article(site, 2)
    german = make_article(site, 1, language="de")
    rss = parse_xml(render_path(site, [english, german], "all.rss"))
    assert rss.findtext("channel/language") == "en"
    assert [i.findtext("dc:language", namespaces=NS) for i in rss.iter("item")] == ["en", "de"]
    # One language: the channel says it, items do not repeat it.
    only_german = parse_xml(render_path(site, [german], "all.rss"))
    assert only_german.findtext("channel/language") == "de"
    assert only_german.find("channel/item/dc:language", NS) is None
    atom = parse_xml(render_path(site, [german], "lang/de.atom"))
    assert atom.get("{http://www.w3.org/XML/1998/namespace}lang") == "de"


def test_summary_only_sites_leave_the_full_text_out(site: Site) -> None:
    summary_site = replace(site, full_content=False)
    article = make_article(summary_site, 1, summary='"Short."', sources="[Xiaomi]")
    rss = render_path(summary_site, [article], "all.rss")
    item = parse_xml(rss).find("channel/item")
    assert item is not None
    assert item.find("content:encoded", NS) is None
    assert item.findtext("description") == "<p>Short.</p>\n<p>Source: Xiaomi</p>"
    atom = parse_xml(render_path(summary_site, [article], "all.atom"))
    assert atom.find(f"{ATOM}entry/{ATOM}content") is None
    assert atom.findtext(f"{ATOM}entry/{ATOM}summary") == "<p>Short.</p>\n<p>Source: Xiaomi</p>"
    item_json = json_feed(summary_site, [article])["items"][0]
    assert item_json["content_html"] == "<p>Short.</p>\n<p>Source: Xiaomi</p>"
    assert "Body" not in json.dumps(item_json)
    check_feed(rss)


def test_archive_documents_carry_rfc5005_markup_in_rss_and_atom(site: Site) -> None:
    articles = [make_article(site, 2), make_article(site, 1)]
    for fmt in ("rss", "atom"):
        body = render_path(site, articles, f"all/archive/2025-03.{fmt}")  # in June: March is closed
        root = parse_xml(body)
        parent = root if fmt == "atom" else root.find("channel")
        assert parent is not None
        assert parent.find(f"{FH}archive") is not None
        links = {x.get("rel"): x.get("href") for x in parent.findall(f"{ATOM}link")}
        links.pop("alternate", None)  # in RSS, the channel's <link>
        assert links == {
            "self": f"https://news.example.com/feeds/all/archive/2025-03.{fmt}",
            "next-archive": f"https://news.example.com/feeds/all/archive/2025-04.{fmt}",
            "current": f"https://news.example.com/feeds/all.{fmt}",
        }
        check_feed(body)
    # The subscription document is no archive.
    subscription = parse_xml(render_path(site, articles, "all.rss")).find("channel")
    assert subscription is not None
    assert subscription.find(f"{FH}archive") is None


def test_namespaces_are_declared_once_at_the_root(site: Site) -> None:
    body = render_path(site, [make_article(site, 1, image=IMAGE)], "all/archive/2025-03.rss")
    root = parse_xml(body)
    assert set(root.nsmap) == {"atom", "content", "dc", "media", "fh"}
    for element in root.iter(etree.Element):
        assert element.nsmap == root.nsmap  # no declaration further down

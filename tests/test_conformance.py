"""The checks in conformance.py catch what they claim to (so a passing feed means something)."""

from __future__ import annotations

from datetime import UTC, datetime

from feedgen.feed import FeedGenerator

from .conformance import atom_violations, rss_violations
from .helpers import parse_xml
from .jsonfeed_schema import json_feed_violations


def plain_feedgen() -> FeedGenerator:
    fg = FeedGenerator()
    fg.id("tag:example.com,2025:feed")
    fg.title("T")
    fg.description("D")
    fg.link(href="https://example.com/", rel="alternate")
    fg.updated(datetime(2025, 1, 1, tzinfo=UTC))
    entry = fg.add_entry()
    entry.id("tag:example.com,2025:1")
    entry.title("E")
    entry.updated(datetime(2025, 1, 1, tzinfo=UTC))
    entry.link(href="https://example.com/1", rel="alternate")
    entry.enclosure(url="https://example.com/1.jpg", length="10", type="image/jpeg")
    return fg


def test_feedgen_unpatched_breaks_atom_rules_we_check() -> None:
    problems = atom_violations(parse_xml(plain_feedgen().atom_str()))
    # Its enclosure loses rel and becomes a second alternate link; no author; no self link.
    assert "entry 1: more than one alternate link with one type and hreflang" in problems
    assert "entry 1: no atom:author here or on the feed (4.1.1)" in problems
    assert "feed: no self link (RFC 4287 4.1.1 SHOULD)" in problems


def test_rss_rules_we_check() -> None:
    document = parse_xml(
        b"""<rss version="2.0"><channel><title>T</title><link>/relative</link>
        <description>D</description>
        <item><title>A</title><guid>not-a-url</guid><pubDate>Mon, 10 Mar 2025 09:30:00 GMT</pubDate>
        <enclosure url="https://example.com/a.jpg"/></item>
        <item><title>B</title><guid>not-a-url</guid></item></channel></rss>"""
    )
    assert rss_violations(document) == [
        "channel: <link> is not an absolute URL",
        "channel: needs one atom:link rel=self with an absolute href",
        "item 1: a permalink guid that is not a URL",
        "item 1: <pubDate> 'Mon, 10 Mar 2025 09:30:00 GMT' is not an RFC 822 date with a "
        "numeric zone",
        "item 1: <enclosure> needs url, length and type",
        "item 2: a permalink guid that is not a URL",
        "channel: two items share a guid",
    ]


def test_feedgen_media_extension_puts_media_in_a_group_which_we_catch() -> None:
    fg = plain_feedgen()
    fg.link(href="https://example.com/feed", rel="self")
    fg.load_extension("media")
    fg.entry()[0].media.content({"url": "https://example.com/1.jpg", "medium": "image"})
    problems = rss_violations(parse_xml(fg.rss_str()))
    assert any("is not directly in the item" in p for p in problems)
    assert "item 1: media:group" in problems


def test_extension_rules_we_check() -> None:
    document = parse_xml(
        b"""<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"
        xmlns:x="urn:example:unknown" xmlns:fh="http://purl.org/syndication/history/1.0">
        <channel><title>T</title><link>https://example.com/</link><description>D</description>
        <atom:link rel="self" href="https://example.com/feed"/>
        <atom:link rel="prev-archive" href="/relative"/><fh:archive/><image2/>
        <item><title>A</title><x:thing/><summary>no such RSS element</summary></item>
        </channel></rss>"""
    )
    assert rss_violations(document) == [
        "element {urn:example:unknown}thing is in a namespace validators do not know",
        "prev-archive link without an absolute href",
        "an archive document needs fh:archive and a current link, and only it",
        "channel: <image2> is not an RSS 2.0 element",
        "item: <summary> is not an RSS 2.0 element",
    ]


def test_json_feed_rules_we_check() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1",
        "title": "T",
        "feed_url": "/relative",
        "items": [
            {"id": "1", "title": "no content"},
            {"id": "", "content_html": "x", "date_published": "2025-03-10 09:30"},
            {"id": "3", "content_text": "x", "attachments": [{"url": "https://e.x/a"}]},
            {"id": "4", "content_text": "x", "summery": "typo"},
        ],
    }
    problems = "\n".join(json_feed_violations(document))
    assert "version: 'https://jsonfeed.org/version/1.1' was expected" in problems
    assert "feed_url: '/relative' does not match" in problems
    assert "items/0: {'id': '1', 'title': 'no content'} is not valid under any" in problems
    assert "items/1/id: '' should be non-empty" in problems
    assert "items/1/date_published: '2025-03-10 09:30' does not match" in problems
    assert "items/2/attachments/0: 'mime_type' is a required property" in problems
    assert "items/3: 'summery' does not match any of the regexes: '^_'" in problems

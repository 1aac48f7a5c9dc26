"""The checks in conformance.py catch what they claim to (so a passing feed means something)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from feedgen.feed import FeedGenerator
from lxml import etree

from .checks import parse_xml
from .conformance import atom_violations, duplicate_violations, rss_violations
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


REPEATED_RSS = b"""<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>
    <link>https://example.com/</link><description>D</description>
    <atom:link rel="self" href="https://example.com/feed"/>
    <image><url>https://example.com/a.png</url><title>T</title><link>https://example.com/</link>
    </image><skipDays><day>Sunday</day></skipDays><category>a</category><category>b</category>
    <image><url>https://example.com/b.png</url><title>T</title><link>https://example.com/</link>
    </image><skipDays><day>Monday</day></skipDays>
    <item><title>A</title><dc:creator>Ann</dc:creator><dc:creator>Bo</dc:creator>
    <dc:source>Guancha</dc:source><dc:source>Wccftech</dc:source><category>x</category>
    <category>y</category><dc:date>2025-03-10</dc:date><dc:date>2025-03-11</dc:date></item>
    </channel></rss>"""
REPEATED_ATOM = b"""<feed xmlns="http://www.w3.org/2005/Atom"
    xmlns:dc="http://purl.org/dc/elements/1.1/"><id>tag:example.com,2025:feed</id>
    <title>T</title><updated>2025-01-01T00:00:00Z</updated><subtitle>S</subtitle>
    <subtitle>S again</subtitle><link rel="self" href="https://example.com/feed"/>
    <author><name>N</name><email>a@example.com</email><email>b@example.com</email></author>
    <entry><id>tag:example.com,2025:1</id><title>E</title><updated>2025-01-01T00:00:00Z</updated>
    <link href="https://example.com/1"/><summary>one</summary><summary>two</summary>
    <published>2025-01-01T00:00:00Z</published><published>2025-01-02T00:00:00Z</published>
    <dc:source>Guancha</dc:source><dc:source>Wccftech</dc:source>
    <dc:subject>a</dc:subject><dc:subject>b</dc:subject></entry></feed>"""
REPEATED_OPML = b"""<opml version="2.0"><head><title>A</title><title>B</title>
    <dateModified>Mon, 03 Mar 2025 09:30:00 +0100</dateModified></head>
    <body><outline text="x"/></body><body><outline text="y"/></body></opml>"""


def test_elements_allowed_once_are_caught_when_repeated() -> None:
    parser = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
    rss, atom, opml = (
        etree.fromstring(d, parser) for d in (REPEATED_RSS, REPEATED_ATOM, REPEATED_OPML)
    )
    # Only what may not repeat: dc:creator, dc:subject and category may.
    assert duplicate_violations(rss) == [
        "channel: <image> occurs 2 times, at most once allowed",
        "channel: <skipDays> occurs 2 times, at most once allowed",
        "item 1: <dc:source> occurs 2 times, at most once allowed",
        "item 1: <dc:date> occurs 2 times, at most once allowed",
    ]
    assert duplicate_violations(atom) == [
        "feed: <atom:subtitle> occurs 2 times, at most once allowed",
        "entry 1: <atom:summary> occurs 2 times, at most once allowed",
        "entry 1: <atom:published> occurs 2 times, at most once allowed",
        "entry 1: <dc:source> occurs 2 times, at most once allowed",
        "a person construct: <atom:email> occurs 2 times, at most once allowed",
    ]
    assert duplicate_violations(opml) == [
        "opml: <body> occurs 2 times, at most once allowed",
        "head: <title> occurs 2 times, at most once allowed",
    ]
    # The feed checks include the rule, and every document a test reads goes through it.
    assert rss_violations(rss) == duplicate_violations(rss)  # nothing else is wrong
    assert atom_violations(atom) == duplicate_violations(atom)
    for document in (REPEATED_RSS, REPEATED_ATOM, REPEATED_OPML):
        with pytest.raises(AssertionError, match="at most once allowed"):
            parse_xml(document)


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

"""The checks in conformance.py catch what they claim to (so a passing feed means something)."""

from __future__ import annotations

from datetime import UTC, datetime

from feedgen.feed import FeedGenerator

from .conformance import atom_violations, rss_violations
from .helpers import parse_xml


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

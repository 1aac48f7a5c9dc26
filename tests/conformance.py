"""Checks of our own, written from RFC 4287 (Atom) and the RSS 2.0 specification, for the rules
a feed validator enforces and feedparser does not (it reads almost anything)."""

from __future__ import annotations

import re
from collections import Counter
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from lxml import etree

ATOM_NS = "http://www.w3.org/2005/Atom"
A = f"{{{ATOM_NS}}}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# RFC 3339 date-time, as RFC 4287 section 3.3 requires (with a zone, "T" separator).
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
RSS_ZONE = re.compile(r" [+-]\d{4}$")
MEDIA_NS = "http://search.yahoo.com/mrss/"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
PREFIXES = {ATOM_NS: "atom", CONTENT_NS: "content", DC_NS: "dc"}
# Namespaces the W3C feed validator knows and accepts in the places we use them.
KNOWN_NAMESPACES = {
    ATOM_NS,
    CONTENT_NS,
    DC_NS,
    MEDIA_NS,
    HISTORY_NS,
}
RSS_CHANNEL_ELEMENTS = {
    "title", "link", "description", "language", "copyright", "managingEditor", "webMaster",
    "pubDate", "lastBuildDate", "category", "generator", "docs", "cloud", "ttl", "image",
    "rating", "textInput", "skipHours", "skipDays", "item",
}  # fmt: skip
RSS_ITEM_ELEMENTS = {
    "title", "link", "description", "author", "category", "comments", "enclosure", "guid",
    "pubDate", "source",
}  # fmt: skip
ARCHIVE_RELS = {"prev-archive", "next-archive", "current"}

# Elements allowed at most once in their parent: the W3C Feed Validator reports a second one as
# an error (DuplicateElement). Dublin Core in a channel, item, feed or entry alike; dc:creator,
# subject, publisher, contributor, relation and coverage may repeat.
DC_ONCE = {
    f"{{{DC_NS}}}{name}"
    for name in ("title", "description", "type", "format", "source", "language", "rights", "date")
}
# RSS 2.0 describes each channel element but category and item as one value, and the validator
# rejects a second (image, textInput, skipHours and skipDays included).
RSS_CHANNEL_ONCE = RSS_CHANNEL_ELEMENTS - {"category", "item"} | DC_ONCE
# Likewise each item element but category, and content:encoded.
RSS_ITEM_ONCE = RSS_ITEM_ELEMENTS - {"category"} | {f"{{{CONTENT_NS}}}encoded"} | DC_ONCE
# RFC 4287 4.1.1, 4.1.2: "MUST NOT contain more than one" (id, title and updated, exactly once,
# are _common_atom's); 3.2.2, 3.2.3: a person's uri and email.
ATOM_FEED_ONCE = {f"{A}{n}" for n in ("generator", "icon", "logo", "rights", "subtitle")} | DC_ONCE
ATOM_ENTRY_ONCE = {
    f"{A}{n}" for n in ("content", "published", "rights", "source", "summary")
} | DC_ONCE
ATOM_PERSON_ONCE = {f"{A}uri", f"{A}email"}
# OPML 2.0: "a single <head> element and a single <body> element"; each head element holds one
# value, and the validator rejects a second.
OPML_ONCE = {"head", "body"}
OPML_HEAD_ONCE = {
    "title", "dateCreated", "dateModified", "ownerName", "ownerEmail", "ownerId", "docs",
    "expansionState", "vertScrollState", "windowTop", "windowLeft", "windowBottom", "windowRight",
}  # fmt: skip


def _absolute_iri(value: str | None) -> bool:
    return bool(value) and bool(urlsplit(value or "").scheme) and " " not in (value or "")


def _once(parent: etree._Element, name: str, where: str, problems: list[str]) -> None:
    count = len(parent.findall(f"{A}{name}"))
    if count != 1:
        problems.append(f"{where}: atom:{name} occurs {count} times, must be once")


def _prefixed(tag: str) -> str:
    namespace = _namespace(tag)
    local = tag.rsplit("}", 1)[-1]
    return f"{PREFIXES[namespace]}:{local}" if namespace in PREFIXES else local


def _repeated(parent: etree._Element, once: set[str], where: str) -> list[str]:
    counts = Counter(child.tag for child in parent.iterchildren(etree.Element))
    return [
        f"{where}: <{_prefixed(tag)}> occurs {count} times, at most once allowed"
        for tag, count in counts.items()
        if count > 1 and tag in once
    ]


def duplicate_violations(document: etree._Element) -> list[str]:
    """Elements repeated where RSS 2.0, RFC 4287, OPML 2.0 or the W3C Feed Validator allow one,
    in an RSS, Atom or OPML document (in document order); empty for any other root."""
    problems: list[str] = []
    if document.tag == "rss":
        problems += _repeated(document, {"channel"}, "rss")
        for channel in document.findall("channel"):
            problems += _repeated(channel, RSS_CHANNEL_ONCE, "channel")
            for index, item in enumerate(channel.findall("item")):
                problems += _repeated(item, RSS_ITEM_ONCE, f"item {index + 1}")
    elif document.tag == f"{A}feed":
        problems += _repeated(document, ATOM_FEED_ONCE, "feed")
        for index, entry in enumerate(document.findall(f"{A}entry")):
            problems += _repeated(entry, ATOM_ENTRY_ONCE, f"entry {index + 1}")
        for person in document.iter(f"{A}author", f"{A}contributor"):
            problems += _repeated(person, ATOM_PERSON_ONCE, "a person construct")
    elif document.tag == "opml":
        problems += _repeated(document, OPML_ONCE, "opml")
        for head in document.findall("head"):
            problems += _repeated(head, OPML_HEAD_ONCE, "head")
    return problems


def _common_atom(element: etree._Element, where: str, problems: list[str]) -> None:
    _once(element, "id", where, problems)
    _once(element, "title", where, problems)
    _once(element, "updated", where, problems)
    if not _absolute_iri(element.findtext(f"{A}id")):
        problems.append(f"{where}: atom:id is not an absolute IRI")
    for name in ("updated", "published"):
        for date in element.findall(f"{A}{name}"):
            if not RFC3339.fullmatch(date.text or ""):
                problems.append(f"{where}: atom:{name} {date.text!r} is not RFC 3339")
    alternates: Counter[tuple[str | None, str | None]] = Counter()
    for link in element.findall(f"{A}link"):
        if not _absolute_iri(link.get("href")):
            problems.append(f"{where}: a link has no absolute href")
        if link.get("rel", "alternate") == "alternate":
            alternates[(link.get("type"), link.get("hreflang"))] += 1
        if link.get("length") is not None and not (link.get("length") or "").isdigit():
            problems.append(f"{where}: link length {link.get('length')!r} is not a number")
    if any(n > 1 for n in alternates.values()):
        problems.append(f"{where}: more than one alternate link with one type and hreflang")
    for text_name in ("title", "summary", "content", "subtitle"):
        for text in element.findall(f"{A}{text_name}"):
            if text.get("type", "text") not in ("text", "html", "xhtml"):
                problems.append(f"{where}: atom:{text_name} type {text.get('type')!r}")
    for category in element.findall(f"{A}category"):
        if not category.get("term"):
            problems.append(f"{where}: atom:category without term")
    lang = element.get(XML_LANG)
    if lang is not None and not LANGUAGE_TAG.fullmatch(lang):
        problems.append(f"{where}: xml:lang {lang!r} is not a language tag")
    for person in element.findall(f"{A}author") + element.findall(f"{A}contributor"):
        if len(person.findall(f"{A}name")) != 1:
            problems.append(f"{where}: a person construct needs exactly one atom:name")


def _namespace(tag: str) -> str | None:
    return tag[1:].split("}")[0] if tag.startswith("{") else None


def _extension_violations(document: etree._Element, items: list[etree._Element]) -> list[str]:
    """Elements from unknown namespaces, Media RSS out of place (RSS board's Media RSS
    profile: media:content directly in the item; readers miss it in media:group), RFC 5005."""
    problems = [
        f"element {element.tag} is in a namespace validators do not know"
        for element in document.iter(etree.Element)
        if _namespace(element.tag) not in (None, *KNOWN_NAMESPACES)
    ]
    for index, item in enumerate(items):
        for media in item.iter(f"{{{MEDIA_NS}}}content", f"{{{MEDIA_NS}}}thumbnail"):
            if media.getparent() is not item:
                problems.append(f"item {index + 1}: {media.tag} is not directly in the item")
            if not _absolute_iri(media.get("url")):
                problems.append(f"item {index + 1}: {media.tag} without an absolute url")
            size = media.get("fileSize")
            if size is not None and not size.isdigit():
                problems.append(f"item {index + 1}: media fileSize {size!r} is not a number")
        if item.find(f"{{{MEDIA_NS}}}group") is not None:
            problems.append(f"item {index + 1}: media:group")
    channel = document if document.tag == f"{A}feed" else document.find("channel")
    assert channel is not None
    archive_links = [
        link for link in channel.findall(f"{A}link") if link.get("rel") in ARCHIVE_RELS
    ]
    for link in archive_links:
        if not _absolute_iri(link.get("href")):
            problems.append(f"{link.get('rel')} link without an absolute href")
    rels = Counter(link.get("rel") for link in archive_links)
    if any(n > 1 for n in rels.values()):
        problems.append("an RFC 5005 link relation occurs more than once")
    is_archive = channel.find(f"{{{HISTORY_NS}}}archive") is not None
    if is_archive != ("current" in rels):
        problems.append("an archive document needs fh:archive and a current link, and only it")
    return problems


def atom_violations(document: etree._Element) -> list[str]:
    """RFC 4287 rules an Atom feed document breaks; empty when it conforms."""
    problems: list[str] = []
    if document.tag != f"{A}feed":
        return [f"the root is {document.tag}, not atom:feed"]
    problems.extend(_extension_violations(document, document.findall(f"{A}entry")))
    problems.extend(duplicate_violations(document))
    _common_atom(document, "feed", problems)
    if not any(link.get("rel") == "self" for link in document.findall(f"{A}link")):
        problems.append("feed: no self link (RFC 4287 4.1.1 SHOULD)")
    entries = document.findall(f"{A}entry")
    ids = Counter(entry.findtext(f"{A}id") for entry in entries)
    if any(n > 1 for n in ids.values()):
        problems.append("feed: two entries share an atom:id")
    feed_has_author = document.find(f"{A}author") is not None
    for index, entry in enumerate(entries):
        where = f"entry {index + 1}"
        _common_atom(entry, where, problems)
        if not feed_has_author and entry.find(f"{A}author") is None:
            problems.append(f"{where}: no atom:author here or on the feed (4.1.1)")
        content = entry.find(f"{A}content")
        has_alternate = any(
            link.get("rel", "alternate") == "alternate" for link in entry.findall(f"{A}link")
        )
        if content is None and not has_alternate:
            problems.append(f"{where}: neither content nor an alternate link (4.1.1)")
    return problems


def rss_violations(document: etree._Element) -> list[str]:
    """RSS 2.0 specification rules (and the RSS Advisory Board's profile) a feed breaks."""
    if document.tag != "rss" or document.get("version") != "2.0":
        return ['the root is not <rss version="2.0">']
    channels = document.findall("channel")
    if len(channels) != 1:
        return [f"{len(channels)} channel elements"]
    channel = channels[0]
    problems = _extension_violations(document, channel.findall("item"))
    problems.extend(duplicate_violations(document))
    for element in channel:
        if _namespace(element.tag) is None and element.tag not in RSS_CHANNEL_ELEMENTS:
            problems.append(f"channel: <{element.tag}> is not an RSS 2.0 element")
    for item in channel.findall("item"):
        for element in item:
            if _namespace(element.tag) is None and element.tag not in RSS_ITEM_ELEMENTS:
                problems.append(f"item: <{element.tag}> is not an RSS 2.0 element")
    for name in ("title", "link", "description"):
        if channel.find(name) is None:
            problems.append(f"channel: <{name}> is missing")
    if not _absolute_iri(channel.findtext("link")):
        problems.append("channel: <link> is not an absolute URL")
    self_links = [link for link in channel.findall(f"{A}link") if link.get("rel") == "self"]
    if len(self_links) != 1 or not _absolute_iri(self_links[0].get("href")):
        problems.append("channel: needs one atom:link rel=self with an absolute href")
    for name in ("pubDate", "lastBuildDate"):
        value = channel.findtext(name)
        if value is not None and not _rfc822(value):
            problems.append(
                f"channel: <{name}> {value!r} is not an RFC 822 date with a numeric zone"
            )
    guids: Counter[str | None] = Counter()
    for index, item in enumerate(channel.findall("item")):
        where = f"item {index + 1}"
        if item.find("title") is None and item.find("description") is None:
            problems.append(f"{where}: needs a title or a description")
        guid = item.find("guid")
        if guid is not None:
            guids[guid.text] += 1
            permalink = guid.get("isPermaLink", "true")
            if permalink not in ("true", "false"):
                problems.append(f"{where}: isPermaLink {permalink!r}")
            if permalink == "true" and not _absolute_iri(guid.text):
                problems.append(f"{where}: a permalink guid that is not a URL")
        pub_date = item.findtext("pubDate")
        if pub_date is not None and not _rfc822(pub_date):
            problems.append(
                f"{where}: <pubDate> {pub_date!r} is not an RFC 822 date with a numeric zone"
            )
        enclosure = item.find("enclosure")
        if enclosure is not None and not (
            _absolute_iri(enclosure.get("url"))
            and (enclosure.get("length") or "").isdigit()
            and enclosure.get("type")
        ):
            problems.append(f"{where}: <enclosure> needs url, length and type")
    if any(n > 1 for n in guids.values()):
        problems.append("channel: two items share a guid")
    return problems


def _rfc822(value: str) -> bool:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    # A numeric zone, as the RSS Advisory Board recommends (no "GMT"/"EST" names).
    return parsed.tzinfo is not None and bool(RSS_ZONE.search(value))

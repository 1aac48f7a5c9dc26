"""Feed documents in, feed bytes out: RSS 2.0 and Atom 1.0 (JSON Feed is in ``jsonfeed``).
Pure: no files, no clock, no locale, no lock.

The documents are written as text by the small writer below rather than through an XML library:
a 50-item feed is mostly five hundred kilobytes of escaped HTML, and building a tree first cost
more than the rest of the render (bench/render.py). Well-formedness rests on two rules, both
tested on every feed the tests read (strict lxml, tests/conformance.py):
- every text and attribute value goes through ``_text`` or ``_attr``;
- every string in an Article or Site is XML-safe (the loader and settings apply
  ``sanitize.xml_safe``), so no character XML forbids can reach the output.
"""

from __future__ import annotations

from email.utils import format_datetime

from .catalog import (
    FeedDocument,
    advertised_hubs,
    feed_url,
    item_content_html,
    item_summary_html,
)
from .jsonfeed import render_json_feed
from .model import Article, FeedFormat, FeedKey, Image, Site

CONTENT_TYPES: dict[FeedFormat, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    # RFC 8259: JSON is UTF-8 and takes no charset parameter.
    "json": "application/feed+json",
}
ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
MEDIA_NS = "http://search.yahoo.com/mrss/"
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
RSS_DOCS = "https://www.rssboard.org/rss-specification"
GENERATOR = "feedsvc"
_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"


def media_type(fmt: FeedFormat) -> str:
    """The content type of a format without parameters, as links announce it."""
    return CONTENT_TYPES[fmt].split(";")[0]


def render_feed(site: Site, document: FeedDocument) -> bytes:
    """The bytes of one feed document in its key's format."""
    if document.key.format == "json":
        return render_json_feed(site, document)
    lines: list[str] = [_DECLARATION]
    if document.key.format == "rss":
        _write_rss(lines, site, document)
    else:
        _write_atom(lines, site, document)
    return "".join(lines).encode("utf-8")


def feed_id(site: Site, key: FeedKey) -> str:
    """The Atom id of a feed; its archive documents share it (RFC 5005: one logical feed).
    "/" never occurs in an article id, so it cannot collide with a GUID."""
    return site.tag_uri(f"{site.feed_id_path}/{key.scope.path}")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: str) -> str:
    # Attribute values also escape quotes, and white space that parsers would normalize away.
    return (
        _text(value)
        .replace('"', "&quot;")
        .replace("\t", "&#9;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
    )


def _attributes(attributes: dict[str, str]) -> str:
    return "".join(f' {name}="{_attr(value)}"' for name, value in attributes.items())


def _element(lines: list[str], indent: str, tag: str, text: str, **attributes: str) -> None:
    lines.append(f"{indent}<{tag}{_attributes(attributes)}>{_text(text)}</{tag}>\n")


def _empty(lines: list[str], indent: str, tag: str, attributes: dict[str, str]) -> None:
    lines.append(f"{indent}<{tag}{_attributes(attributes)}/>\n")


def _namespaces(document: FeedDocument, declared: dict[str, str]) -> str:
    """Namespace declarations for the root: the fixed ones, and Media RSS and RFC 5005's only
    when the document uses them."""
    namespaces = dict(declared)
    if any(a.image is not None for a in document.articles):
        namespaces["media"] = MEDIA_NS
    if document.is_archive:
        namespaces["fh"] = HISTORY_NS
    return "".join(f' xmlns:{prefix}="{uri}"' for prefix, uri in namespaces.items())


def _history_links(site: Site, document: FeedDocument) -> list[dict[str, str]]:
    """RFC 5005 links: prev-archive, next-archive, and current for an archive document."""
    links = {"prev-archive": document.prev_archive, "next-archive": document.next_archive}
    if document.is_archive:
        links["current"] = document.key.subscription
    return [
        {"rel": rel, "type": media_type(key.format), "href": feed_url(site, key)}
        for rel, key in links.items()
        if key is not None
    ]


def _media(lines: list[str], indent: str, image: Image) -> None:
    """Media RSS directly in the item, never in media:group: readers miss it there."""
    attributes = {"url": image.url, "medium": "image"}
    if image.type:
        attributes["type"] = image.type
    if image.length is not None:
        attributes["fileSize"] = str(image.length)
    if image.alt:
        lines.append(f"{indent}<media:content{_attributes(attributes)}>\n")
        _element(lines, indent + "  ", "media:description", image.alt, type="plain")
        lines.append(f"{indent}</media:content>\n")
    else:
        _empty(lines, indent, "media:content", attributes)
    _empty(lines, indent, "media:thumbnail", {"url": image.url})


def _write_rss(lines: list[str], site: Site, document: FeedDocument) -> None:
    key = document.key
    namespaces = _namespaces(document, {"atom": ATOM_NS, "content": CONTENT_NS, "dc": DC_NS})
    lines.append(f'<rss{namespaces} version="2.0">\n  <channel>\n')
    indent = "    "
    _element(lines, indent, "title", document.title)
    _element(lines, indent, "link", document.page_url)
    _element(lines, indent, "description", document.description)
    self_link = {"href": feed_url(site, key), "rel": "self", "type": media_type(key.format)}
    _empty(lines, indent, "atom:link", self_link)
    for hub in advertised_hubs(site, key):
        _empty(lines, indent, "atom:link", {"href": hub, "rel": "hub"})  # WebSub 4
    _element(lines, indent, "docs", RSS_DOCS)
    _element(lines, indent, "generator", GENERATOR)
    _element(lines, indent, "language", document.language)
    _element(lines, indent, "lastBuildDate", format_datetime(document.updated))
    for link in _history_links(site, document):
        _empty(lines, indent, "atom:link", link)  # RFC 5005 appendix B
    if document.is_archive:
        _empty(lines, indent, "fh:archive", {})
    for article in document.articles:
        _write_rss_item(lines, site, document, article)
    lines.append("  </channel>\n</rss>\n")


def _write_rss_item(lines: list[str], site: Site, document: FeedDocument, article: Article) -> None:
    indent = "      "
    lines.append("    <item>\n")
    _element(lines, indent, "title", article.title)
    _element(lines, indent, "link", article.link)
    text = document.text(article)
    summary = item_summary_html(site, article, text)
    if summary:
        _element(lines, indent, "description", summary)
    if site.full_content:
        # HTML as escaped text, never CDATA: "]]>" in an article is fine.
        _element(lines, indent, "content:encoded", item_content_html(article, text))
    _element(lines, indent, "guid", article.guid, isPermaLink="false")
    _element(lines, indent, "category", _category_label(site, article), domain=_scheme(site))
    for tag in article.tags:
        _element(lines, indent, "category", tag)
    image = article.image
    if image is not None and image.type and image.length is not None:
        # RSS 2.0 requires url, length and type; without them the image is Media RSS only.
        enclosure = {"url": image.url, "length": str(image.length), "type": image.type}
        _empty(lines, indent, "enclosure", enclosure)
    _element(lines, indent, "pubDate", format_datetime(article.published))
    for author in article.authors:
        _element(lines, indent, "dc:creator", author)
    if document.mixed_language:
        _element(lines, indent, "dc:language", article.language)
    if article.sources:
        _element(lines, indent, "dc:source", _dc_source(article))
    if image is not None:
        _media(lines, indent, image)
    lines.append("    </item>\n")


def _write_atom(lines: list[str], site: Site, document: FeedDocument) -> None:
    key = document.key
    namespaces = _namespaces(document, {"dc": DC_NS})
    language = _attr(document.language)
    lines.append(f'<feed xmlns="{ATOM_NS}"{namespaces} xml:lang="{language}">\n')
    indent = "  "
    _element(lines, indent, "id", feed_id(site, key))
    _element(lines, indent, "title", document.title)
    _element(lines, indent, "updated", document.updated.isoformat())
    lines.append(f"{indent}<author>\n")
    _element(lines, indent + "  ", "name", site.title)
    lines.append(f"{indent}</author>\n")
    self_link = {"href": feed_url(site, key), "rel": "self", "type": media_type(key.format)}
    _empty(lines, indent, "link", self_link)
    for hub in advertised_hubs(site, key):
        _empty(lines, indent, "link", {"href": hub, "rel": "hub"})  # WebSub 4
    page_link = {"href": document.page_url, "rel": "alternate", "type": "text/html"}
    _empty(lines, indent, "link", page_link)
    _element(lines, indent, "generator", GENERATOR)
    _element(lines, indent, "subtitle", document.description)
    for link in _history_links(site, document):
        _empty(lines, indent, "link", link)
    if document.is_archive:
        _empty(lines, indent, "fh:archive", {})
    for article in document.articles:
        _write_atom_entry(lines, site, document, article)
    lines.append("</feed>\n")


def _write_atom_entry(
    lines: list[str], site: Site, document: FeedDocument, article: Article
) -> None:
    indent = "    "
    language = f' xml:lang="{_attr(article.language)}"' if document.mixed_language else ""
    lines.append(f"  <entry{language}>\n")
    _element(lines, indent, "id", article.guid)
    _element(lines, indent, "title", article.title)
    _element(lines, indent, "updated", article.updated.isoformat())
    _element(lines, indent, "published", article.published.isoformat())
    for author in article.authors:
        lines.append(f"{indent}<author>\n")
        _element(lines, indent + "  ", "name", author)
        lines.append(f"{indent}</author>\n")
    _empty(lines, indent, "link", {"rel": "alternate", "type": "text/html", "href": article.link})
    image = article.image
    if image is not None:
        enclosure = {"rel": "enclosure", "href": image.url}
        if image.type:
            enclosure["type"] = image.type
        if image.length is not None:
            enclosure["length"] = str(image.length)
        _empty(lines, indent, "link", enclosure)
    text = document.text(article)
    summary = item_summary_html(site, article, text)
    if summary:
        _element(lines, indent, "summary", summary, type="html")
    if site.full_content:
        _element(lines, indent, "content", item_content_html(article, text), type="html")
    category = {"term": article.category, "label": _category_label(site, article)}
    category["scheme"] = _scheme(site)
    _empty(lines, indent, "category", category)
    for tag in article.tags:
        _empty(lines, indent, "category", {"term": tag})
    if article.sources:
        _element(lines, indent, "dc:source", _dc_source(article))
    if image is not None:
        _media(lines, indent, image)
    lines.append("  </entry>\n")


def _dc_source(article: Article) -> str:
    """All of an article's sources in one element, in their order: the W3C Feed Validator
    rejects a second dc:source in an item or entry (DuplicateElement)."""
    return "; ".join(article.sources)


def _category_label(site: Site, article: Article) -> str:
    category = site.category(article.category)
    return category.title if category else article.category


def _scheme(site: Site) -> str:
    return f"{site.base_url}/category/"

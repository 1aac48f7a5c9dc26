"""Feed documents in, feed bytes out. Pure: no files, no clock. The only module that imports
feedgen; JSON Feed is written by ``jsonfeed``.

feedgen 1.0.0 quirks handled here, each with a test in tests/test_render.py:
- feed and entry dates default to now(): every date is set from the articles;
- entries are prepended unless ``order="append"``;
- the RSS channel <link> is whichever feed link was added last, so the page link goes last;
- Atom entry links lose rel/type/length: the entry extension writes them itself;
- RSS channels get only the self link: the feed extension writes the archive links (RFC 5005);
- XML-invalid characters raise ValueError: the loader already removed them (sanitize.xml_safe);
- dates are formatted by switching the process-wide locale: renders are serialized by a lock.
"""

from __future__ import annotations

import threading
from urllib.parse import quote

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .catalog import FeedDocument, feed_url, item_content_html, item_summary_html
from .jsonfeed import render_json_feed
from .model import Article, FeedFormat, Image, Site

CONTENT_TYPES: dict[FeedFormat, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    # RFC 8259: JSON is UTF-8 and takes no charset parameter.
    "json": "application/feed+json",
}
ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
MEDIA_NS = "http://search.yahoo.com/mrss/"
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# feedgen.util.formatRFC2822 calls locale.setlocale(LC_ALL), which is process-wide.
_FEEDGEN_LOCK = threading.Lock()


def media_type(fmt: FeedFormat) -> str:
    """The content type of a format without parameters, as links announce it."""
    return CONTENT_TYPES[fmt].split(";")[0]


def render_feed(site: Site, document: FeedDocument) -> bytes:
    """The bytes of one feed document in its key's format."""
    if document.key.format == "json":
        return render_json_feed(site, document)
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.register_extension("feedsvc", _FeedExtension, _EntryExtension, atom=True, rss=True)
    fg.feedsvc.site = site
    fg.feedsvc.document = document
    key = document.key
    # One id for a feed and its archive documents: RFC 5005 makes them one logical feed.
    fg.id(site.tag_uri(f"/feeds/{quote(key.scope.path)}"))  # "/" never occurs in an article id
    fg.title(document.title)
    fg.description(document.description)
    fg.link(href=feed_url(site, key), rel="self", type=media_type(key.format))
    # Added last on purpose: feedgen makes the last link the RSS channel <link>.
    fg.link(href=document.page_url, rel="alternate", type="text/html")
    fg.language(document.language)
    fg.author({"name": site.title})
    fg.generator("feedsvc")
    fg.updated(document.updated)
    fg.lastBuildDate(document.updated)
    for article in document.articles:
        _add_entry(fg, site, document, article)
    with _FEEDGEN_LOCK:
        if key.format == "rss":
            rss: bytes = fg.rss_str(pretty=True, encoding="UTF-8")
            return rss
        atom: bytes = fg.atom_str(pretty=True, encoding="UTF-8")
        return atom


def _add_entry(fg: FeedGenerator, site: Site, document: FeedDocument, article: Article) -> None:
    entry = fg.add_entry(order="append")  # feedgen prepends by default
    entry.feedsvc.article = article
    entry.feedsvc.document = document
    entry.id(article.guid)
    entry.guid(article.guid, permalink=False)
    entry.title(article.title)
    entry.link(href=article.link, rel="alternate")
    entry.published(article.published)
    entry.updated(article.updated)
    summary = item_summary_html(site, article)
    if summary:
        entry.summary(summary, type="html")
    if site.full_content:
        # Escaped, never CDATA: "]]>" in an article is fine.
        entry.content(item_content_html(article), type="html")
    category = site.category(article.category)
    entry.category(
        term=article.category,
        label=category.title if category else article.category,
        scheme=f"{site.base_url}/category/",
    )
    for tag in article.tags:
        entry.category(term=tag)
    if article.authors:
        entry.author([{"name": name} for name in article.authors])
        entry.dc.dc_creator(list(article.authors))
    image = article.image
    if image is not None and image.type and image.length is not None:
        # RSS 2.0 requires url, length and type; without them the image is Media RSS only.
        entry.enclosure(url=image.url, length=str(image.length), type=image.type)


class _FeedExtension(BaseExtension):  # type: ignore[misc]
    """Writes the channel parts feedgen cannot: RFC 5005 archive links, fh:archive."""

    site: Site
    document: FeedDocument

    def extend_ns(self) -> dict[str, str]:
        namespaces = {"dc": DC_NS}
        if any(a.image is not None for a in self.document.articles):
            namespaces["media"] = MEDIA_NS
        if self.document.is_archive:
            namespaces["fh"] = HISTORY_NS
        return namespaces

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        self._add_history(feed[0], f"{{{ATOM_NS}}}link")  # RFC 5005 appendix B
        return feed

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        self._add_history(feed, "link")  # feedgen writes Atom in the default namespace
        return feed

    def _add_history(self, parent: etree._Element, link_tag: str) -> None:
        document = self.document
        links = {"prev-archive": document.prev_archive, "next-archive": document.next_archive}
        if document.is_archive:
            links["current"] = document.key.subscription
        for rel, key in links.items():
            if key is not None:
                href = feed_url(self.site, key)
                etree.SubElement(parent, link_tag, rel=rel, type=media_type(key.format), href=href)
        if document.is_archive:
            etree.SubElement(parent, f"{{{HISTORY_NS}}}archive")


class _EntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Writes what feedgen gets wrong or lacks in entries: Atom links, languages, dc:source,
    Media RSS."""

    article: Article
    document: FeedDocument

    def extend_rss(self, item: etree._Element) -> etree._Element:
        if self.document.mixed_language:
            etree.SubElement(item, f"{{{DC_NS}}}language").text = self.article.language
        self._add_common(item)
        return item

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        # feedgen drops rel/type/length of entry links (and would turn an enclosure into a
        # second alternate link): replace them with complete ones.
        for link in entry.findall("link"):
            entry.remove(link)
        etree.SubElement(entry, "link", rel="alternate", type="text/html", href=self.article.link)
        image = self.article.image
        if image is not None:
            enclosure = etree.SubElement(entry, "link", rel="enclosure", href=image.url)
            if image.type:
                enclosure.set("type", image.type)
            if image.length is not None:
                enclosure.set("length", str(image.length))
        if self.document.mixed_language:
            entry.set(_XML_LANG, self.article.language)
        self._add_common(entry)
        return entry

    def _add_common(self, element: etree._Element) -> None:
        for source in self.article.sources:
            etree.SubElement(element, f"{{{DC_NS}}}source").text = source
        if self.article.image is not None:
            _add_media(element, self.article.image)


def _add_media(parent: etree._Element, image: Image) -> None:
    """Media RSS directly under the item, never in media:group: readers miss it there."""
    content = etree.SubElement(parent, f"{{{MEDIA_NS}}}content", url=image.url, medium="image")
    if image.type:
        content.set("type", image.type)
    if image.length is not None:
        content.set("fileSize", str(image.length))
    if image.alt:
        description = etree.SubElement(content, f"{{{MEDIA_NS}}}description", type="plain")
        description.text = image.alt
    etree.SubElement(parent, f"{{{MEDIA_NS}}}thumbnail", url=image.url)

"""Records in, feed bytes out. Pure: no files, no clock. The only module that imports feedgen.

feedgen 1.0.0 quirks handled here, each with a test in tests/test_render.py:
- feed and entry dates default to now(): every date is set from the articles;
- entries are prepended unless ``order="append"``;
- the RSS channel <link> is whichever feed link was added last, so the page link goes last;
- Atom entry links lose rel/type/length: the entry extension writes them itself;
- XML-invalid characters raise ValueError: the loader already removed them (sanitize.xml_safe);
- dates are formatted by switching the process-wide locale: renders are serialized by a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from jinja2 import Environment, PackageLoader, select_autoescape
from lxml import etree

from .model import ALL_SCOPE, Article, FeedFormat, FeedKey, Site

CONTENT_TYPES: dict[FeedFormat, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# feedgen.util.formatRFC2822 calls locale.setlocale(LC_ALL), which is process-wide.
_FEEDGEN_LOCK = threading.Lock()
_templates = Environment(
    loader=PackageLoader("feedsvc"), autoescape=select_autoescape(), keep_trailing_newline=True
)


def feed_url(site: Site, key: FeedKey) -> str:
    return f"{site.base_url}/feeds/{key.filename}"


def page_url(site: Site, scope: str) -> str:
    """The HTML page a feed stands for: the home page, or the category's page."""
    return f"{site.base_url}/" if scope == ALL_SCOPE else f"{site.base_url}/category/{scope}/"


def feed_title(site: Site, scope: str) -> str:
    category = site.category(scope)
    return site.title if category is None else f"{site.title}: {category.title}"


def feed_updated(site: Site, articles: Iterable[Article]) -> datetime:
    """The newest item's updated time; for an empty feed, the fixed tag date (never now)."""
    return max((a.updated for a in articles), default=site.tag_epoch)


def render_feed(site: Site, key: FeedKey, articles: Sequence[Article]) -> bytes:
    """The feed document for ``articles`` (already selected and ordered newest first)."""
    category = site.category(key.scope)
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.register_extension("feedsvc", BaseExtension, _EntryExtension, atom=True, rss=False)
    fg.id(site.tag_uri(f"/feeds/{key.scope}"))  # "/" never occurs in an article id
    fg.title(feed_title(site, key.scope))
    fg.description(category.description if category else site.description)
    fg.link(href=feed_url(site, key), rel="self", type=CONTENT_TYPES[key.format].split(";")[0])
    # Added last on purpose: feedgen makes the last link the RSS channel <link>.
    fg.link(href=page_url(site, key.scope), rel="alternate", type="text/html")
    fg.language(site.language)
    fg.author({"name": site.title})
    fg.generator("feedsvc")
    updated = feed_updated(site, articles)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    for article in articles:
        _add_entry(fg, site, article)
    with _FEEDGEN_LOCK:
        if key.format == "rss":
            document: bytes = fg.rss_str(pretty=True, encoding="UTF-8")
        else:
            document = fg.atom_str(pretty=True, encoding="UTF-8")
    return document


def _add_entry(fg: FeedGenerator, site: Site, article: Article) -> None:
    entry = fg.add_entry(order="append")  # feedgen prepends by default
    entry.feedsvc.article = article
    entry.feedsvc.feed_language = site.language
    entry.id(article.guid)
    entry.guid(article.guid, permalink=False)
    entry.title(article.title)
    entry.link(href=article.link, rel="alternate")
    entry.published(article.published)
    entry.updated(article.updated)
    if article.summary_html:
        entry.summary(article.summary_html, type="html")
    entry.content(article.content_html, type="html")  # escaped, never CDATA: "]]>" is fine
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
        entry.enclosure(url=image.url, length=str(image.length), type=image.type)


class _EntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Writes what feedgen gets wrong in Atom entries: links and xml:lang."""

    article: Article
    feed_language: str

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
        if self.article.language != self.feed_language:
            entry.set(_XML_LANG, self.article.language)
        return entry


def render_index(site: Site, scopes: Iterable[str]) -> bytes:
    """The HTML home page: every feed, with autodiscovery links in its head."""
    feeds = []
    for scope in sorted(scopes, key=lambda s: (s != ALL_SCOPE, s)):
        category = site.category(scope)
        feeds.append(
            {
                "title": feed_title(site, scope),
                "name": category.title if category else "All articles",
                "description": category.description if category else site.description,
                "rss": feed_url(site, FeedKey(scope, "rss")),
                "atom": feed_url(site, FeedKey(scope, "atom")),
            }
        )
    html = _templates.get_template("index.html").render(site=site, feeds=feeds)
    return html.encode("utf-8")

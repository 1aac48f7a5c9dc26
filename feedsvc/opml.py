"""The OPML 2.0 list of every feed (http://opml.org/spec2.opml). Pure: a catalog in, bytes out.

One outline per feed, grouped by kind, so a reader subscribes to a whole group in one import.
The RSS address is listed: every reader takes it.
"""

from __future__ import annotations

from email.utils import format_datetime

from lxml import etree

from .catalog import KIND_HEADINGS, Catalog, feed_scopes, feed_url, page_url
from .model import FeedKey

CONTENT_TYPE = "text/x-opml; charset=utf-8"


def render_opml(catalog: Catalog) -> bytes:
    site = catalog.site
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = f"{site.title}: feeds"
    # The newest article's update, never now: the same store gives the same bytes.
    etree.SubElement(head, "dateModified").text = format_datetime(catalog.updated)
    etree.SubElement(head, "ownerName").text = site.title
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = etree.SubElement(opml, "body")
    for kind, entries in feed_scopes(catalog):
        group = etree.SubElement(body, "outline", text=KIND_HEADINGS[kind])
        for entry in entries:
            document = catalog.document(FeedKey(entry.scope, "rss"))
            if document is None:  # cannot happen: every entry has a subscription document
                continue
            etree.SubElement(
                group,
                "outline",
                type="rss",
                version="RSS2",
                text=document.title,
                title=document.title,
                description=document.description,
                xmlUrl=feed_url(site, document.key),
                htmlUrl=page_url(site, entry.scope),
                language=document.language,
            )
    document_bytes: bytes = etree.tostring(
        opml, pretty_print=True, xml_declaration=True, encoding="UTF-8"
    )
    return document_bytes

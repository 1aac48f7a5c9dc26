"""Checks of what we serve, read as real clients read it: strict XML, our RSS 2.0 / Atom /
JSON Feed conformance checks, feedparser with bozo 0, and the HTML a browser would run."""

from __future__ import annotations

import json
import re
from typing import Any

import feedparser
import html5lib
from lxml import etree

from feedsvc.model import FEED_FORMATS, Article, ArticleText, Site
from feedsvc.sanitize import xml_safe

from .conformance import atom_violations, duplicate_violations, rss_violations
from .factories import TEXTS, render_site_feed
from .jsonfeed_schema import json_feed_violations


def parse_xml(body: bytes) -> etree._Element:
    """Strict XML parsing: no recover mode, no network, no entities. An RSS, Atom or OPML
    document must also repeat no element allowed once, wherever a test reads it."""
    parser = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
    document = etree.fromstring(body, parser)
    repeated = duplicate_violations(document)
    assert repeated == [], repeated
    return document


def check_feed(body: bytes) -> Any:
    """Everything a feed we serve must pass: strict XML, our RFC 4287 / RSS 2.0 checks, and
    feedparser with bozo 0. Returns what feedparser read."""
    document = parse_xml(body)
    violations = (
        atom_violations(document) if document.tag.startswith("{") else rss_violations(document)
    )
    assert violations == []
    return read_feed(body)


def check_json_feed(body: bytes) -> Any:
    """Everything a JSON Feed we serve must pass: UTF-8 JSON, our JSON Feed 1.1 schema, unique
    item ids. Returns the decoded document."""
    document = json.loads(body.decode("utf-8"))
    assert json_feed_violations(document) == []
    ids = [item["id"] for item in document["items"]]
    assert len(ids) == len(set(ids))
    return document


def check_document(body: bytes, fmt: str) -> list[tuple[str, str]]:
    """Check a feed document of any format; returns its items as (id, title) pairs."""
    if fmt == "json":
        return [(item["id"], item["title"]) for item in check_json_feed(body)["items"]]
    return [(entry.id, entry.title) for entry in check_feed(body).entries]


def read_feed(body: bytes) -> Any:
    """What a real feed client reads; bozo must be 0 (a well-formed, valid-looking feed)."""
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


# --- what a browser would run in the HTML we serve ---------------------------------------

# Elements that run, load, embed or restyle anything, or hide markup from a sanitizer.
EXECUTABLE_ELEMENTS = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg",
        "math", "link", "meta", "base", "form", "input", "button", "textarea", "select",
        "option", "template", "noscript", "audio", "video", "source", "track", "portal",
        "xmp", "plaintext", "noembed", "noframes", "param", "title", "head", "body", "html",
        "isindex", "listing", "image", "animate", "set", "handler", "use", "foreignobject",
    }
)  # fmt: skip
URL_ATTRIBUTES = frozenset(
    {
        "href", "src", "cite", "action", "formaction", "data", "poster", "background",
        "srcset", "longdesc", "lowsrc", "dynsrc", "usemap", "manifest", "codebase", "ping",
        "profile", "classid", "archive", "xlink:href", "url",
    }
)  # fmt: skip
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# Browsers ignore these in a URL's scheme: C0 controls, space, and (anywhere) tab and newline.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f-\x9f]")


def url_scheme(value: str) -> str | None:
    """The scheme a browser sees in an attribute value (already entity-decoded)."""
    cleaned = _URL_IGNORED.sub("", value).lower()
    match = re.match(r"([^:/?#]*):", cleaned)
    return match.group(1) if match else None


def unsafe_html(fragment: str) -> list[str]:
    """What in an HTML fragment could run or load: parsed as a browser would (html5lib),
    every element, attribute and URL checked. Empty when the fragment is safe."""
    tree = html5lib.parseFragment(fragment, treebuilder="etree", namespaceHTMLElements=False)
    problems = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag == "DOCUMENT_FRAGMENT":
            continue
        tag = etree.QName(element.tag).localname.lower() if "}" in element.tag else element.tag
        if tag in EXECUTABLE_ELEMENTS:
            problems.append(f"<{tag}> element")
        for raw_name, value in element.attrib.items():
            name = raw_name.rsplit("}", 1)[-1].lower()
            if raw_name.endswith("}href"):
                name = "xlink:href"
            if name.startswith("on"):
                problems.append(f"{name} attribute on <{tag}>")
            if name == "style":
                problems.append(f"style attribute on <{tag}>")
            if name in URL_ATTRIBUTES:
                for url in value.split(",") if name == "srcset" else [value]:
                    scheme = url_scheme(url.strip().split(" ")[0] if name == "srcset" else url)
                    if scheme is not None and scheme not in SAFE_SCHEMES:
                        problems.append(f"{scheme}: URL in {name} of <{tag}>")
    return problems


def html_text(fragment: str) -> str:
    """All the text a browser would show (and keep in the DOM) for a fragment."""
    tree = html5lib.parseFragment(fragment, treebuilder="etree", namespaceHTMLElements=False)
    return "".join(tree.itertext())


def served_html(fmt: str, body: bytes) -> list[str]:
    """Every HTML fragment a feed carries: RSS description and content:encoded, Atom text
    constructs of type html, JSON Feed content_html."""
    if fmt == "json":
        items = json.loads(body).get("items", [])
        return [item[key] for item in items for key in ("content_html",) if key in item]
    fragments = []
    for element in parse_xml(body).iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element).localname
        parent = element.getparent()
        in_rss_item = parent is not None and parent.tag == "item"
        if (in_rss_item and name in ("description", "encoded")) or element.get("type") == "html":
            fragments.append(element.text or "")
    return fragments


def served_urls(fmt: str, body: bytes) -> list[str]:
    """Every URL a feed document itself holds (links, enclosures, ids that are links)."""
    if fmt == "json":
        document = json.loads(body)
        items = document.get("items", [])
        urls = [document.get(k) for k in ("home_page_url", "feed_url")]
        urls += [item.get(k) for item in items for k in ("url", "external_url", "image")]
        urls += [a.get("url") for item in items for a in item.get("attachments", [])]
        return [url for url in urls if isinstance(url, str)]
    urls = []
    for element in parse_xml(body).iter():
        if not isinstance(element.tag, str):
            continue
        urls += [v for k, v in element.attrib.items() if k in ("href", "url", "src")]
        if etree.QName(element).localname == "link" and element.text:
            urls.append(element.text)
    return urls


def assert_served_safely(article: Article, text: ArticleText, site: Site) -> None:
    """A record renders, in every format, into a well-formed, readable feed whose HTML is
    sanitized and whose URLs are http(s) or mailto (the property tests and the fuzz target)."""
    TEXTS[article.version] = text
    for value in (article.title, text.summary_html, text.content_html, *article.tags):
        assert xml_safe(value) == value
        value.encode("utf-8")  # no lone surrogate
    for fmt in FEED_FORMATS:
        body = render_site_feed(site, [article], fmt)
        assert [guid for guid, _ in check_document(body, fmt)] == [article.guid]
        for fragment in served_html(fmt, body):
            assert unsafe_html(fragment) == [], fragment
        for url in served_urls(fmt, body):
            assert url_scheme(url) in SAFE_SCHEMES, url

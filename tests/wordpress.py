"""Helpers for the WordPress importer's tests: the real WordPress fixtures and a store for them."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from feedsvc.cli import main
from feedsvc.model import Article, ArticleText
from feedsvc.store.parse import article_text

from .factories import Store, store_reader

FIXTURES = Path(__file__).parent / "fixtures" / "wordpress"
EXPORT = FIXTURES / "export.xml"  # WordPress 6.1's own export (make_fixtures.sh)
WORDPRESS_FEED = FIXTURES / "feed.xml"  # its /feed/: the 10 newest posts
WORDPRESS_FEED_ALL = FIXTURES / "feed-all.xml"  # the same with every published post
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
WXR_1_2 = "http://wordpress.org/export/1.2/"

# The fixture blog's site, as its owner would write site.toml for feedsvc (one category
# declared; the importer adds the others).
SITE_TOML = """\
# The blog, moved from WordPress.
title = "Fixture Blog"
base_url = "{base_url}"
timezone = "Europe/Berlin"
tag_authority = "blog.example.com"
tag_date = "2024-01-01"
items_per_feed = {items_per_feed}  # WordPress: Settings -> Reading -> Syndication feeds

[categories.news]
title = "News"
description = "What happened"
"""


def wordpress_store(
    root: Path, *, base_url: str = "https://blog.example.com", items_per_feed: int = 10
) -> Store:
    """An empty store for the fixture blog."""
    store = Store(root)
    store.write_site(SITE_TOML.format(base_url=base_url, items_per_feed=items_per_feed))
    return store


def run_import(store: Store, export: Path = EXPORT, *options: str) -> int:
    """``feedsvc import wordpress`` on the store; its exit status."""
    return main(["import", "wordpress", str(export), "--store", str(store.root), *options])


def scan(store: Store) -> dict[str, Article]:
    """The store's articles as the service reads them, by id; every file must be valid."""
    snapshot = store_reader(store.root).scan()
    assert snapshot.problems == ()
    return {article.id: article for article in snapshot.articles}


def text_of_file(store: Store, article: Article) -> ArticleText:
    """The text of an article version whose file is unchanged, as the service renders it."""
    return article_text((store.root / article.path).read_bytes(), article)


def export_items(export: Path = EXPORT) -> list[etree._Element]:
    """The export's <item> elements (strict parsing)."""
    root = etree.parse(str(export), etree.XMLParser(resolve_entities=False, no_network=True))
    return root.findall("channel/item")


def wp(item: etree._Element, name: str) -> str:
    """The text of a wp: child of an export item."""
    return item.findtext(f"{{{WXR_1_2}}}{name}") or ""


def posts_by_title(export: Path = EXPORT) -> dict[str, etree._Element]:
    """The export's post items by title."""
    return {
        item.findtext("title") or "": item
        for item in export_items(export)
        if wp(item, "post_type") == "post"
    }


def write_variant(
    export: Path,
    target: Path,
    *,
    drop_titles: tuple[str, ...] = (),
    replace: dict[str, str] | None = None,
) -> Path:
    """A copy of WordPress's export with some posts left out or some text replaced (as a
    later export of the same site would differ)."""
    tree = etree.parse(
        str(export), etree.XMLParser(resolve_entities=False, no_network=True, strip_cdata=False)
    )
    channel = tree.getroot().find("channel")
    assert channel is not None
    for item in channel.findall("item"):
        if item.findtext("title") in drop_titles:
            channel.remove(item)
    text = etree.tostring(tree, encoding="unicode")
    for old, new in (replace or {}).items():
        assert old in text
        text = text.replace(old, new)
    target.write_text('<?xml version="1.0" encoding="UTF-8" ?>\n' + text, encoding="utf-8")
    return target


def tree_state(root: Path) -> dict[str, bytes]:
    """Every file under root and its bytes (folders too, as empty)."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes() if path.is_file() else b"")
        for path in sorted(root.rglob("*"))
    }


_EMOJI_IMAGE = re.compile(r'<img src="https://s\.w\.org/images/core/emoji/[^"]*" alt="([^"]*)">')
_SELF_LINK = re.compile(r'<a href="([^"]*)">\1</a>')
_OUTER_DIV = re.compile(r"^<div>(.*)</div>$", re.S)


def comparable(sanitized: str) -> str:
    """A sanitized fragment, white space normalized, with what differs on purpose evened out:
    the importer's one wrapping <div> (see feedsvc/wordpress/content.py), an embed that the
    importer links where WordPress, unable to fetch it, shows the URL as text, WordPress's
    emoji images."""
    text = " ".join(sanitized.split())
    outer = _OUTER_DIV.match(text)
    if outer is not None:
        text = outer[1]
    text = _EMOJI_IMAGE.sub(r"\1", text)
    text = _SELF_LINK.sub(r"\1", text)
    text = re.sub(r">\s+<", "><", text)
    return text.strip()

"""The HTML home page: every feed in every format, the OPML list, and autodiscovery links.
Pure: a catalog in, bytes out."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from .catalog import (
    KIND_HEADINGS,
    Catalog,
    feed_description,
    feed_scopes,
    feed_title,
    feed_url,
    language_name,
    opml_url,
)
from .model import FEED_FORMATS, SITE_SCOPE, FeedKey, Scope, Site
from .render import media_type

FORMAT_NAMES = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}
_templates = Environment(
    loader=PackageLoader("feedsvc"), autoescape=select_autoescape(), keep_trailing_newline=True
)


def render_index(catalog: Catalog) -> bytes:
    site = catalog.site
    groups = []
    for kind, entries in feed_scopes(catalog):
        feeds = []
        for entry in entries:
            name = entry.label if kind != "lang" else language_name(entry.label)
            feeds.append(
                {
                    "name": "All articles" if kind == "site" else name,
                    "title": feed_title(site, entry),
                    "description": feed_description(site, entry),
                    "links": _links(site, entry.scope),
                    "count": len(entry.articles),
                }
            )
        groups.append({"heading": KIND_HEADINGS[kind], "kind": kind, "feeds": feeds})
    html = _templates.get_template("index.html").render(
        site=site,
        groups=groups,
        # Autodiscovery: the full-site feed in every format.
        discovery=_links(site, SITE_SCOPE),
        opml_url=opml_url(site),
    )
    return html.encode("utf-8")


def _links(site: Site, scope: Scope) -> list[dict[str, str]]:
    return [
        {
            "format": FORMAT_NAMES[fmt],
            "type": media_type(fmt),
            "href": feed_url(site, FeedKey(scope, fmt)),
        }
        for fmt in FEED_FORMATS
    ]

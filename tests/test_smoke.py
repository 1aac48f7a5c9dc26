"""The bundled sample store: every feed it lists, and every archive document behind it, is
served valid in every format."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from feedsvc import create_app
from feedsvc.model import FEED_FORMATS

from .checks import NS, check_document, check_feed, parse_xml

BUNDLED = Path(__file__).resolve().parent.parent / "articles"


def check_with_archives(client: FlaskClient, path: str, fmt: str) -> int:
    """Checks a subscription document and the archive documents its prev-archive links (JSON:
    next_url) lead to, RFC 5005 section 4.2; returns how many documents it checked."""
    checked = 0
    following: str | None = path
    while following is not None:
        response = client.get(urlsplit(following).path)
        assert response.status_code == 200, following
        assert check_document(response.data, fmt)
        checked += 1
        if fmt == "json":
            following = json.loads(response.data).get("next_url")
        else:
            link = parse_xml(response.data).find(".//atom:link[@rel='prev-archive']", NS)
            following = None if link is None else link.get("href")
    return checked


def test_the_bundled_store_serves_valid_feeds(tmp_path: Path) -> None:
    app = create_app({"ARTICLES_DIR": str(BUNDLED), "STATE_DIR": str(tmp_path)})
    assert app.extensions["feedsvc"].problems == ()
    client = app.test_client()
    opml = parse_xml(client.get("/feeds.opml").data)
    feeds = [urlsplit(o.get("xmlUrl", "")).path for o in opml.iter("outline") if o.get("xmlUrl")]
    assert len(feeds) >= 15  # the site, categories, languages, authors and tags
    checked = sum(
        check_with_archives(client, path.removesuffix(".rss") + f".{fmt}", fmt)
        for path in feeds
        for fmt in FEED_FORMATS
    )
    assert checked > len(feeds) * len(FEED_FORMATS)  # archive months as well
    entries = check_feed(client.get("/feeds/all.atom").data).entries
    assert len(entries) == 10
    assert any(e.title_detail.language == "de" for e in entries)
    assert client.get("/feeds/lang/de.rss").status_code == 200

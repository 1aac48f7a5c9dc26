"""The bundled sample store: every feed it lists is served valid, in every format."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from feedsvc import create_app
from feedsvc.model import FEED_FORMATS

from .helpers import check_document, check_feed, parse_xml

BUNDLED = Path(__file__).resolve().parent.parent / "articles"


def test_the_bundled_store_serves_valid_feeds(tmp_path: Path) -> None:
    app = create_app({"ARTICLES_DIR": str(BUNDLED), "STATE_DIR": str(tmp_path)})
    assert app.extensions["feedsvc"].problems == ()
    client = app.test_client()
    opml = parse_xml(client.get("/feeds.opml").data)
    feeds = [urlsplit(o.get("xmlUrl", "")).path for o in opml.iter("outline") if o.get("xmlUrl")]
    assert len(feeds) >= 15  # the site, categories, languages, authors and tags
    for path in feeds:
        for fmt in FEED_FORMATS:
            response = client.get(path.removesuffix(".rss") + f".{fmt}")
            assert response.status_code == 200, path
            assert check_document(response.data, fmt)
    entries = check_feed(client.get("/feeds/all.atom").data).entries
    assert len(entries) == 10
    assert any(e.title_detail.language == "de" for e in entries)
    assert client.get("/feeds/lang/de.rss").status_code == 200

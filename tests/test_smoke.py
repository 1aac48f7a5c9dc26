"""The bundled sample store: every feed it has is served valid."""

from __future__ import annotations

from pathlib import Path

from feedsvc import create_app

from .helpers import check_feed, parse_xml

BUNDLED = Path(__file__).resolve().parent.parent / "articles"


def test_the_bundled_store_serves_valid_feeds(tmp_path: Path) -> None:
    app = create_app({"ARTICLES_DIR": str(BUNDLED), "STATE_DIR": str(tmp_path)})
    service = app.extensions["feedsvc"]
    assert service.problems == ()
    client = app.test_client()
    scopes = sorted(service.scopes())
    assert len(scopes) >= 6
    for scope in scopes:
        for fmt in ("rss", "atom"):
            response = client.get(f"/feeds/{scope}.{fmt}")
            assert response.status_code == 200
            parse_xml(response.data)
            assert check_feed(response.data).entries
    entries = check_feed(client.get("/feeds/all.atom").data).entries
    assert len(entries) == 10
    assert any(e.title_detail.language == "de" for e in entries)

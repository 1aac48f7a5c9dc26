"""WebSub discovery: the hubs and the topic URL, in every format and in the Link header, on the
Flask route and the fast path alike; and nothing of it without hubs."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.test import Client

from feedsvc.catalog import link_header
from feedsvc.errors import ConfigError
from feedsvc.model import FEED_FORMATS, SITE_SCOPE, FeedFormat, FeedKey, Partner, Site
from feedsvc.partners import partner_site
from feedsvc.settings import env_config, load_settings

from .checks import NS, check_document, check_json_feed, parse_xml
from .factories import Store, make_app, make_article, make_site, render_path

HUBS = ["https://hub.example.net/", "https://push.example.org/hub?x=1"]


@pytest.fixture
def hub_site() -> Site:
    return make_site(hub_urls=HUBS)


def xml_links(body: bytes) -> list[tuple[str, str]]:
    """(rel, href) of every atom:link (RSS) or link (Atom) at the top of the document."""
    root = parse_xml(body)
    top = root.find("channel") if root.tag == "rss" else root
    assert top is not None
    return [(link.get("rel", ""), link.get("href", "")) for link in top.findall("atom:link", NS)]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_xml_feeds_name_their_hubs_and_themselves(hub_site: Site, fmt: str) -> None:
    body = render_path(hub_site, [make_article(hub_site)], f"tag/chips.{fmt}")
    check_document(body, fmt)  # still strictly valid, feedparser bozo 0, our RFC checks
    links = xml_links(body)
    assert ("self", f"https://news.example.com/feeds/tag/chips.{fmt}") in links
    assert [href for rel, href in links if rel == "hub"] == HUBS


def test_json_feed_lists_its_hubs(hub_site: Site) -> None:
    feed = check_json_feed(render_path(hub_site, [make_article(hub_site)], "all.json"))
    assert feed["hubs"] == [{"type": "WebSub", "url": url} for url in HUBS]
    assert feed["feed_url"] == "https://news.example.com/feeds/all.json"


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_archive_documents_name_no_hub(hub_site: Site, fmt: str) -> None:
    # Hubs are told about subscription documents only: an archive would promise a push that
    # never comes.
    body = render_path(hub_site, [make_article(hub_site)], f"all/archive/2025-03.{fmt}")
    check_document(body, fmt)
    assert b"hub" not in body


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_partner_documents_name_no_hub(hub_site: Site, fmt: FeedFormat) -> None:
    # A partner's reader would give the hub a topic URL holding the partner's token.
    partner = Partner("p", "0" * 64, categories=(), languages=(), full_text=True)
    site = partner_site(hub_site, partner, url_token="secret-token")
    body = render_path(site, [make_article(hub_site)], f"all.{fmt}")
    check_document(body, fmt)
    assert b"secret-token" in body  # its links are under the partner URL
    assert b"hub" not in body
    assert link_header(site, FeedKey(SITE_SCOPE, fmt)) is None


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_without_hubs_nothing_is_added(site: Site, hub_site: Site, fmt: str) -> None:
    plain = render_path(site, [make_article(site)], f"all.{fmt}")
    assert b"hub" not in plain
    assert plain != render_path(hub_site, [make_article(hub_site)], f"all.{fmt}")


def test_link_headers_on_flask_and_fast_path(store: Store, state_dir: Path) -> None:
    store.add(id="a", tags="[chips]")
    app = make_app(store, state_dir, HUB_URLS=" ".join(HUBS), WEBSUB_NOTIFY="false")
    expected = (
        '<https://hub.example.net/>; rel="hub", <https://push.example.org/hub?x=1>; rel="hub", '
        '<https://news.example.com/feeds/tag/chips.json>; rel="self"'
    )
    flask_only = Client(app.wsgi_app.app)  # type: ignore[attr-defined]
    for client in (Client(app), flask_only):
        response = client.get("/feeds/tag/chips.json")
        assert response.headers["Link"] == expected
        etag = response.headers["ETag"]
        not_modified = client.get("/feeds/tag/chips.json", headers={"If-None-Match": etag})
        assert (not_modified.status_code, not_modified.headers["Link"]) == (304, expected)
        assert client.head("/feeds/tag/chips.json").headers["Link"] == expected
        assert "Link" not in client.get("/feeds/all/archive/2025-03.json").headers
        assert "Link" not in client.get("/feeds.opml").headers


def test_no_link_header_without_hubs(store: Store, state_dir: Path) -> None:
    store.add(id="a")
    app = make_app(store, state_dir)
    for client in (Client(app), Client(app.wsgi_app.app)):  # type: ignore[attr-defined]
        assert "Link" not in client.get("/feeds/all.rss").headers


def test_hub_urls_come_from_site_toml_or_the_environment(store: Store) -> None:
    text = (store.root / "site.toml").read_text("utf-8")
    store.write_site(
        text.replace("[categories.technology]", f"hub_urls = {HUBS!r}\n\n[categories.technology]")
    )
    settings = load_settings({"ARTICLES_DIR": str(store.root)})
    assert settings.site.hub_urls == tuple(HUBS)
    config = env_config(
        {"FEEDSVC_HUB_URLS": "http://127.0.0.1:9/a, http://127.0.0.1:9/b http://127.0.0.1:9/a"}
    )
    config["ARTICLES_DIR"] = str(store.root)
    assert load_settings(config).site.hub_urls == ("http://127.0.0.1:9/a", "http://127.0.0.1:9/b")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("HUB_URLS", "ftp://hub.example.net/", "not an absolute http"),
        ("HUB_URLS", "https://hub.example.net/#x", "not an absolute http"),
        ("HUB_URLS", "https://hüb.example.net/", "not an absolute http"),
        ("WEBSUB_NOTIFY", "maybe", "WEBSUB_NOTIFY"),
        ("WEBSUB_RETRY_DELAY", "0", "WEBSUB_RETRY_DELAY"),
        ("WEBSUB_RETRY_WINDOW", "-1", "WEBSUB_RETRY_WINDOW"),
    ],
)
def test_bad_websub_values_are_refused(store: Store, key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"ARTICLES_DIR": str(store.root), key: value})

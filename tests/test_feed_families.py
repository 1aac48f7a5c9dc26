"""Tag, author and language feeds, JSON Feed, OPML and the home page over HTTP: the same
caching, validators and 404 rules as the core feeds."""

from __future__ import annotations

import gzip
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from lxml import etree

from .checks import check_document, parse_xml
from .factories import Clock, Store, make_app


@pytest.fixture
def client(store: Store, state_dir: Path, clock: Clock) -> FlaskClient:
    store.add(id="en-1", tags='["Machine Learning", chips]', author='"Ann Lee"')
    store.add(id="de-1", language="de", tags="[chips]", author='"Jürgen Müller"', category="energy")
    return make_app(store, state_dir, clock).test_client()


@pytest.mark.parametrize(
    ("path", "content_type", "ids"),
    [
        ("/feeds/tag/chips.rss", "application/rss+xml; charset=utf-8", ["de-1", "en-1"]),
        ("/feeds/tag/machine-learning.atom", "application/atom+xml; charset=utf-8", ["en-1"]),
        ("/feeds/author/jurgen-muller.json", "application/feed+json", ["de-1"]),
        ("/feeds/lang/de.rss", "application/rss+xml; charset=utf-8", ["de-1"]),
        ("/feeds/lang/en.json", "application/feed+json", ["en-1"]),
        ("/feeds/all.json", "application/feed+json", ["de-1", "en-1"]),
        ("/feeds/energy.json", "application/feed+json", ["de-1"]),
    ],
)
def test_every_feed_family_is_served(
    client: FlaskClient, path: str, content_type: str, ids: list[str]
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.content_type == content_type
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    items = check_document(response.data, path.rsplit(".", 1)[1])
    assert sorted(guid.rsplit(":", 1)[1] for guid, _ in items) == ids


@pytest.mark.parametrize(
    "path", ["/feeds/tag/chips.json", "/feeds/lang/de.atom", "/feeds.opml", "/"]
)
def test_new_documents_answer_conditional_requests_and_gzip(client: FlaskClient, path: str) -> None:
    first = client.get(path)
    etag = first.headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    since = first.headers["Last-Modified"]
    assert client.get(path, headers={"If-Modified-Since": since}).status_code == 304
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == first.data
    assert zipped.headers["ETag"] != etag


def test_a_label_with_another_spelling_is_the_same_feed(store: Store, state_dir: Path) -> None:
    store.add(id="a", tags="[Chips]")
    store.add(id="b", tags="[chips]")
    client = make_app(store, state_dir).test_client()
    items = check_document(client.get("/feeds/tag/chips.rss").data, "rss")
    assert len(items) == 2
    assert client.get("/feeds/tag/Chips.rss").status_code == 404  # one address per feed


def test_unicode_tags_have_percent_encoded_addresses(store: Store, state_dir: Path) -> None:
    store.add(id="a", tags="[芯片]")
    client = make_app(store, state_dir).test_client()
    response = client.get("/feeds/tag/%E8%8A%AF%E7%89%87.atom")
    assert response.status_code == 200
    feed = parse_xml(response.data)
    self_link = feed.find("{http://www.w3.org/2005/Atom}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == "https://news.example.com/feeds/tag/%E8%8A%AF%E7%89%87.atom"


def test_feeds_of_drafts_and_scheduled_articles_do_not_exist(
    store: Store, state_dir: Path, clock: Clock
) -> None:
    store.add(id="draft", tags="[secret]", draft="true")
    store.add(id="later", tags="[soon]", author="Future Writer", published="2025-07-01 10:00")
    client = make_app(store, state_dir, clock).test_client()
    for path in ("/feeds/tag/secret.rss", "/feeds/tag/soon.rss", "/feeds/author/future-writer.rss"):
        assert client.get(path).status_code == 404
    clock.advance(days=40)
    assert client.get("/feeds/tag/soon.rss").status_code == 200
    assert client.get("/feeds/tag/secret.rss").status_code == 404


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/tag/chips/feed/", "/feeds/tag/chips.rss"),
        ("/tag/machine-learning/feed/atom/", "/feeds/tag/machine-learning.atom"),
        ("/author/jurgen-muller/feed/", "/feeds/author/jurgen-muller.rss"),
        ("/author/ann-lee/feed/atom/", "/feeds/author/ann-lee.atom"),
    ],
)
def test_wordpress_tag_and_author_feeds_redirect(
    client: FlaskClient, path: str, location: str
) -> None:
    response = client.get(path)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://news.example.com{location}"
    assert client.get("/tag/nothing/feed/").status_code == 404


def test_opml_lists_every_feed_grouped_by_kind(client: FlaskClient) -> None:
    response = client.get("/feeds.opml")
    assert response.status_code == 200
    assert response.content_type == "text/x-opml; charset=utf-8"
    opml = parse_xml(response.data)  # strict: no recover
    assert opml.tag == "opml"
    assert opml.get("version") == "2.0"
    assert opml.findtext("head/title") == "Test Wire: feeds"
    assert opml.findtext("head/dateModified") == "Mon, 03 Mar 2025 09:30:00 +0100"
    groups = opml.findall("body/outline")
    assert [g.get("text") for g in groups] == [
        "All articles", "Categories", "Languages", "Authors", "Tags",
    ]  # fmt: skip
    feeds = {g.get("text"): [o.get("xmlUrl") for o in g] for g in groups}
    base = "https://news.example.com/feeds"
    assert feeds == {
        "All articles": [f"{base}/all.rss"],
        "Categories": [f"{base}/energy.rss", f"{base}/technology.rss"],
        "Languages": [f"{base}/lang/de.rss", f"{base}/lang/en.rss"],
        "Authors": [f"{base}/author/ann-lee.rss", f"{base}/author/jurgen-muller.rss"],
        "Tags": [f"{base}/tag/chips.rss", f"{base}/tag/machine-learning.rss"],
    }
    for outline in opml.iter("outline"):
        if outline.get("xmlUrl") is None:
            continue
        assert outline.get("type") == "rss"
        assert outline.get("text") == outline.get("title")
        assert (outline.get("htmlUrl") or "").startswith("https://news.example.com/")
        assert outline.get("language") in ("en", "de")
        path = urlsplit(outline.get("xmlUrl")).path
        assert client.get(path).status_code == 200
    german = opml.find("body/outline/outline[@xmlUrl='https://news.example.com/feeds/energy.rss']")
    assert german is not None
    assert german.get("language") == "de"


def test_home_page_lists_every_feed_and_the_opml(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.content_type == "text/html; charset=utf-8"
    page = etree.fromstring(response.data, etree.HTMLParser())
    head = page.find("head")
    assert head is not None
    discovery = [
        (link.get("rel"), link.get("type"), link.get("href")) for link in head.iter("link")
    ]
    base = "https://news.example.com"
    assert discovery == [
        ("alternate", "application/rss+xml", f"{base}/feeds/all.rss"),
        ("alternate", "application/atom+xml", f"{base}/feeds/all.atom"),
        ("alternate", "application/feed+json", f"{base}/feeds/all.json"),
        ("outline", "text/x-opml", f"{base}/feeds.opml"),
    ]
    hrefs = [a.get("href") or "" for a in page.iter("a")]
    assert f"{base}/feeds.opml" in hrefs
    for family in ("all", "energy", "lang/de", "author/ann-lee", "tag/machine-learning"):
        for fmt in ("rss", "atom", "json"):
            assert f"{base}/feeds/{family}.{fmt}" in hrefs
    for href in hrefs:
        assert client.get(urlsplit(href).path).status_code == 200


def test_the_list_of_feeds_follows_the_store(store: Store, state_dir: Path) -> None:
    store.add(id="a", tags="[chips]")
    client = make_app(store, state_dir).test_client()
    opml_etag = client.get("/feeds.opml").headers["ETag"]
    page_etag = client.get("/").headers["ETag"]
    store.add(id="b", tags="[gas]")
    assert b"/feeds/tag/gas.rss" in client.get("/feeds.opml").data
    assert client.get("/feeds.opml").headers["ETag"] != opml_etag
    assert client.get("/").headers["ETag"] != page_etag

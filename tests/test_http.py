"""The service over HTTP, through Flask's test client, on stores built in tmp_path."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from .checks import check_feed, parse_xml
from .factories import Clock, Store, make_app

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


@pytest.fixture
def app(store: Store, state_dir: Path, clock: Clock) -> Flask:
    store.add(
        "tech.md", id="t1", category="technology", published="2025-03-02 10:00", tags="[Jürgen]"
    )
    store.add(
        "energy.md", id="e1", category="energy", published="2025-03-01 10:00", author="Jane Doe"
    )
    return make_app(store, state_dir, clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def ids(client: FlaskClient, path: str = "/feeds/all.atom") -> list[str]:
    response = client.get(path)
    assert response.status_code == 200
    return [e.id for e in check_feed(response.data).entries]


def tag(article_id: str) -> str:
    return f"tag:news.example.com,2025-01-01:{article_id}"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/feeds/all.rss", RSS),
        ("/feeds/all.atom", ATOM),
        ("/feeds/technology.rss", RSS),
        ("/feeds/technology.atom", ATOM),
        ("/feeds/energy.rss", RSS),
        ("/feeds/energy.atom", ATOM),
    ],
)
def test_every_feed_is_served_valid_with_its_content_type(
    client: FlaskClient, path: str, content_type: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    parse_xml(response.data)
    assert check_feed(response.data).entries


def test_rss_guid_and_atom_id_are_the_same_string(client: FlaskClient) -> None:
    assert ids(client, "/feeds/all.rss") == ids(client, "/feeds/all.atom") == [tag("t1"), tag("e1")]


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/culture.rss",  # declared, but no article yet
        "/feeds/sports.rss",
        "/feeds/all.xml",
        "/feeds/all/archive/2025-13.rss",
        "/feeds/all/archive/1999-01.rss",  # before the first article
        "/feeds/all/archive/2030-01.rss",  # after now
        "/feeds/tag/unknown.rss",
        "/feeds/tag/.rss",
        "/feeds/video/x.rss",
        "/feeds/technology/x.rss",
        "/feeds/technology",
        "/feeds/.rss",
        "/feeds/Technology.rss",
        "/feeds/../site.toml",
        "/feeds/..%2Fsite.toml",
        "/feeds/tech%00.rss",
        "/feeds/%2e%2e%2fall.rss",
        "/articles/site.toml",
        "/nothing/here",
        "/category/sports/feed/",
        "/category/all/feed/",
    ],
)
def test_unknown_feeds_and_path_tricks_answer_a_plain_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert response.content_type == "text/plain; charset=utf-8"
    assert b"Traceback" not in response.data
    assert b"There is no feed at this address" in response.data or response.status_code == 400


def test_other_methods_answer_405_with_allow(client: FlaskClient) -> None:
    response = client.post("/feeds/all.rss")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.content_type == "text/plain; charset=utf-8"


def test_if_none_match_answers_304_with_an_empty_body(client: FlaskClient) -> None:
    first = client.get("/feeds/all.rss")
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        response = client.get("/feeds/all.rss", headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.data == b""
        assert response.headers["ETag"] == etag
        assert response.headers["Cache-Control"] == "public, max-age=300"
    stale = client.get("/feeds/all.rss", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200


def test_if_modified_since_answers_304_and_if_none_match_wins(client: FlaskClient) -> None:
    first = client.get("/feeds/all.rss")
    last_modified = first.headers["Last-Modified"]
    assert (
        client.get("/feeds/all.rss", headers={"If-Modified-Since": last_modified}).status_code
        == 304
    )
    earlier = format_datetime(
        parsedate_to_datetime(last_modified) - timedelta(seconds=1), usegmt=True
    )
    assert client.get("/feeds/all.rss", headers={"If-Modified-Since": earlier}).status_code == 200
    # A client holding another version must get it, whatever its date says.
    both = {"If-Modified-Since": last_modified, "If-None-Match": '"not-this-one"'}
    assert client.get("/feeds/all.rss", headers=both).status_code == 200


def test_head_has_the_headers_and_no_body(client: FlaskClient) -> None:
    get = client.get("/feeds/all.atom")
    head = client.head("/feeds/all.atom")
    assert head.status_code == 200
    assert head.data == b""
    for name in ("Content-Type", "ETag", "Last-Modified", "Content-Length", "Cache-Control"):
        assert head.headers[name] == get.headers[name]
    assert int(head.headers["Content-Length"]) == len(get.data)


def test_gzip_when_asked_with_its_own_etag(client: FlaskClient) -> None:
    plain = client.get("/feeds/all.rss")
    zipped = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert zipped.headers["Vary"] == "Accept-Encoding"
    # A 304 answers the ETag that client was given.
    again = client.get(
        "/feeds/all.rss",
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]},
    )
    assert again.status_code == 304
    assert again.headers["ETag"] == zipped.headers["ETag"]
    refused = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers
    # The same bytes every time: compressed once, deterministically.
    assert client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip"}).data == zipped.data


def test_max_age_is_configurable(store: Store, state_dir: Path) -> None:
    store.add()
    client = make_app(store, state_dir, MAX_AGE="60").test_client()
    assert client.get("/feeds/all.rss").headers["Cache-Control"] == "public, max-age=60"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/feed/", "/feeds/all.rss"),
        ("/feed/rss2/", "/feeds/all.rss"),
        ("/feed/atom/", "/feeds/all.atom"),
        ("/category/technology/feed/", "/feeds/technology.rss"),
        ("/category/technology/feed/atom/", "/feeds/technology.atom"),
        ("/?feed=rss2", "/feeds/all.rss"),
        ("/?feed=atom", "/feeds/all.atom"),
        ("/tag/J%C3%BCrgen/feed/", "/feeds/tag/jurgen.rss"),
        ("/author/jane-doe/feed/rss2", "/feeds/author/jane-doe.rss"),
    ],
)
def test_wordpress_paths_redirect_permanently(client: FlaskClient, path: str, target: str) -> None:
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://news.example.com{target}"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/?feed=nonsense", 200),  # the home page, as without the query
        ("/category/all/feed/", 404),  # "all" is the site, not a category
        ("/category/nowhere/feed/", 404),
        ("/a/b/c/feed/", 404),
        ("/feed/json/", 404),
    ],
)
def test_other_wordpress_like_paths_are_not_redirected(
    client: FlaskClient, path: str, status: int
) -> None:
    assert client.get(path).status_code == status


def test_urls_come_from_base_url_never_from_the_request(client: FlaskClient) -> None:
    body = client.get("/feeds/all.rss", headers={"Host": "evil.example"}).data
    assert b"evil.example" not in body
    assert b"https://news.example.com/feeds/all.rss" in body


def test_index_page_lists_every_feed(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    page = response.data.decode()
    for name in ("all", "technology", "energy"):
        for fmt in ("rss", "atom"):
            assert f'href="https://news.example.com/feeds/{name}.{fmt}"' in page
    assert "culture" not in page  # no article yet


def test_a_bad_article_never_takes_a_feed_down(store: Store, state_dir: Path) -> None:
    store.add("good.md", id="good")
    store.write(store.root / "bad.md", "---\nid: [\n---\n")
    store.write(store.root / "worse.md", b"\xff\xfe\x00garbage")
    assert ids(make_app(store, state_dir).test_client()) == [tag("good")]


def test_edits_additions_and_deletions_are_served_without_a_restart(
    store: Store, client: FlaskClient
) -> None:
    before = client.get("/feeds/all.atom")
    store.add("new.md", id="n1", published="2025-03-03 10:00")
    assert ids(client) == [tag("n1"), tag("t1"), tag("e1")]
    store.write(
        store.root / "tech.md", (store.root / "tech.md").read_text().replace("Article 1", "Edited")
    )
    assert check_feed(client.get("/feeds/all.atom").data).entries[1].title == "Edited"
    (store.root / "energy.md").unlink()
    assert ids(client) == [tag("n1"), tag("t1")]
    assert client.get("/feeds/energy.atom").status_code == 404
    assert client.get("/feeds/all.atom").headers["ETag"] != before.headers["ETag"]


def test_rescans_are_throttled(store: Store, state_dir: Path) -> None:
    store.add("a.md", id="a")
    client = make_app(store, state_dir, RESCAN_INTERVAL=3600).test_client()
    assert ids(client) == [tag("a")]
    store.add("b.md", id="b")
    assert ids(client) == [tag("a")]  # not looked at again within the interval


def test_drafts_never_appear_and_scheduled_articles_appear_when_due(
    store: Store, state_dir: Path, clock: Clock
) -> None:
    clock.now = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
    store.add("now.md", id="now", published="2025-03-10 08:00")  # 07:00 UTC: published
    store.add("draft.md", id="draft", published="2025-03-01", draft="true")
    store.add("later.md", id="later", published="2025-03-10 10:00")  # 09:00 UTC
    client = make_app(store, state_dir, clock, RESCAN_INTERVAL=3600).test_client()
    before = client.get("/feeds/all.rss")
    assert ids(client) == [tag("now")]
    clock.now = datetime(2025, 3, 10, 8, 59, 59, tzinfo=UTC)
    assert ids(client) == [tag("now")]
    clock.now = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    # Due now: served at once, without a rescan (the interval is an hour) or a restart.
    assert ids(client) == [tag("later"), tag("now")]
    after = client.get("/feeds/all.rss", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    clock.advance(days=3650)
    assert tag("draft") not in ids(client)


def test_caches_are_not_told_to_keep_a_feed_past_a_scheduled_article(
    store: Store, state_dir: Path, clock: Clock
) -> None:
    clock.now = datetime(2025, 3, 10, 7, 58, 30, tzinfo=UTC)
    store.add("now.md", id="now", published="2025-03-01 08:00")
    store.add("later.md", id="later", published="2025-03-10 09:00")  # 08:00 UTC
    client = make_app(store, state_dir, clock).test_client()
    assert client.get("/feeds/all.rss").headers["Cache-Control"] == "public, max-age=90"
    assert client.get("/").headers["Cache-Control"] == "public, max-age=90"
    clock.now = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
    assert client.get("/feeds/all.rss").headers["Cache-Control"] == "public, max-age=300"


def test_items_are_newest_first_ties_by_id_and_capped(tmp_path: Path, state_dir: Path) -> None:
    store = Store(tmp_path / "capped", items_per_feed=3)
    store.add(id="b", published="2025-03-05 10:00")
    store.add(id="a", published="2025-03-05 10:00")
    store.add(id="c", published="2025-03-06 10:00")
    store.add(id="old", published="2025-01-01 10:00")
    assert ids(make_app(store, state_dir).test_client()) == [tag("c"), tag("a"), tag("b")]


def test_two_instances_over_copies_of_one_store_serve_identical_bytes(
    store: Store, tmp_path: Path, clock: Clock
) -> None:
    for n in range(12):
        store.add(category=["technology", "energy", "culture"][n % 3], tags="[x, y]", body="*Hi*")
    copy = tmp_path / "copy"
    shutil.copytree(store.root, copy)
    first = make_app(store, tmp_path / "state1", clock).test_client()
    second = make_app(
        Store(copy), tmp_path / "state2", Clock(clock.now + timedelta(hours=5))
    ).test_client()
    for path in [
        "/feeds/all.rss",
        "/feeds/all.atom",
        "/feeds/energy.rss",
        "/feeds/culture.atom",
        "/feeds/all.json",
        "/feeds/tag/x.rss",
        "/feeds/lang/en.json",
        "/feeds/all/archive/2025-03.atom",
        "/feeds/energy/archive/2025-04.json",
        "/feeds.opml",
        "/",
    ]:
        for encoding in ("identity", "gzip"):
            one = first.get(path, headers={"Accept-Encoding": encoding})
            two = second.get(path, headers={"Accept-Encoding": encoding})
            assert one.data == two.data
            assert one.headers.get("ETag") == two.headers.get("ETag")
            assert one.headers.get("Last-Modified") == two.headers.get("Last-Modified")


def test_guid_survives_every_edit_but_the_etag_does_not(
    store: Store, state_dir: Path, tmp_path: Path
) -> None:
    path = store.add("old/name.md", id="keep", title="Before", category="technology")
    client = make_app(store, state_dir).test_client()
    guid = ids(client)[0]
    etag = client.get("/feeds/all.rss").headers["ETag"]
    path.unlink()
    store.add(
        "new/place/renamed.md", id="keep", title="After", category="energy", slug="moved",
        published="2025-02-01 08:00", body="A different body.",
    )  # fmt: skip
    assert ids(client) == [guid] == [tag("keep")]
    assert client.get("/feeds/all.rss").headers["ETag"] != etag
    moved = make_app(store, tmp_path / "other-state", BASE_URL="https://moved.example.org")
    assert ids(moved.test_client()) == [guid]


def test_a_migrated_guid_is_served_in_both_formats(store: Store, state_dir: Path) -> None:
    store.add(id="wp", guid='"https://old.example.com/?p=4211"')
    client = make_app(store, state_dir).test_client()
    assert ids(client, "/feeds/all.rss") == ids(client) == ["https://old.example.com/?p=4211"]


# --- Last-Modified -----------------------------------------------------------------------


def last_modified(client: FlaskClient, path: str = "/feeds/all.rss") -> datetime:
    return parsedate_to_datetime(client.get(path).headers["Last-Modified"])


def test_last_modified_starts_at_the_newest_update(store: Store, state_dir: Path) -> None:
    store.add(id="a", published="2025-03-01 10:00", updated="2025-03-04 12:30:15.5")
    store.add(id="b", published="2025-03-02 10:00")
    client = make_app(store, state_dir).test_client()
    # Never earlier than the newest item's updated time (rounded up to whole seconds).
    assert last_modified(client) == datetime(2025, 3, 4, 11, 30, 16, tzinfo=UTC)


def test_last_modified_moves_forward_on_every_change_and_only_then(
    store: Store, state_dir: Path, clock: Clock
) -> None:
    path = store.add("a.md", id="a", published="2025-03-01 10:00")
    store.add("b.md", id="b", published="2025-03-02 10:00")
    client = make_app(store, state_dir, clock).test_client()
    first = last_modified(client)
    clock.advance(hours=1)
    assert last_modified(client) == first  # same bytes, same date

    # An edit that leaves `updated:` alone.
    store.write(path, path.read_text().replace("Body text", "Corrected text"))
    second = last_modified(client)
    assert second > first
    assert second == clock.now.replace(microsecond=0)

    # A deletion, even of the newest article, and even within the same second.
    (store.root / "b.md").unlink()
    third = last_modified(client)
    assert third > second

    # Restart: the same bytes keep their date.
    clock.advance(days=1)
    restarted = make_app(store, state_dir, clock).test_client()
    assert last_modified(restarted) == third
    etag = client.get("/feeds/all.rss").headers["ETag"]
    assert restarted.get("/feeds/all.rss").headers["ETag"] == etag


@pytest.mark.parametrize(
    ("path", "target"),
    [("/feed", "/feeds/all.rss"), ("/category/energy/feed", "/feeds/energy.rss")],
)
def test_paths_without_the_trailing_slash_redirect_to_base_url_too(
    client: FlaskClient, path: str, target: str
) -> None:
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://news.example.com{target}"
    assert client.get("//feeds/all.rss", headers={"Host": "evil.example"}).status_code == 404


def test_an_unexpected_error_is_a_plain_500_without_a_traceback(
    store: Store, state_dir: Path
) -> None:
    store.add()
    app = make_app(store, state_dir, TESTING=False)

    def broken() -> str:
        raise RuntimeError("secret internals")

    app.add_url_rule("/broken", view_func=broken)
    response = app.test_client().get("/broken")
    assert response.status_code == 500
    assert response.content_type == "text/plain; charset=utf-8"
    assert b"secret internals" not in response.data
    assert b"Traceback" not in response.data
    assert response.data.startswith(b"500 Internal Server Error\n")


def test_concurrent_requests_during_edits_get_whole_consistent_feeds(
    store: Store, state_dir: Path
) -> None:
    for n in range(5):
        store.add(f"{n}.md", id=f"a{n}", category=["technology", "energy"][n % 2])
    app = make_app(store, state_dir)
    failures: list[str] = []

    def poll() -> None:
        client = app.test_client()
        for n in range(40):
            path = ["/feeds/all.rss", "/feeds/all.atom", "/feeds/energy.rss"][n % 3]
            response = client.get(path)
            if response.status_code != 200:
                failures.append(f"{path}: {response.status_code}")
                continue
            try:
                check_feed(response.data)
            except AssertionError as error:
                failures.append(f"{path}: {error}")
            if response.headers["ETag"] != f'"{hashlib.sha256(response.data).hexdigest()[:32]}"':
                failures.append(f"{path}: ETag does not match the body")

    threads = [threading.Thread(target=poll) for _ in range(6)]
    for thread in threads:
        thread.start()
    for n in range(20):
        store.add(f"extra-{n}.md", id=f"x{n}", title=f'"Extra {n}"')
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(ids(app.test_client())) == 25


HOSTILE_BODY = """\
Intro with <b>bold</b> and a [link](/relative/path).

<script>alert('body')</script>
<p onclick="alert(1)" style="color:red">styled</p>
<a href="jav&#x61;script:alert(2)">obfuscated</a> <a href="javascript:alert(3)">plain</a>
<iframe src="https://evil.example/">frame text</iframe>
<style>p { display: none }</style>
Control \x01\x0b\x1f characters ]]> and <![CDATA[ cdata ]]> end.
"""


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_hostile_articles_are_served_well_formed_and_clean(
    store: Store, state_dir: Path, fmt: str
) -> None:
    store.add(
        "evil.md",
        id="evil",
        title='"Title \\x0b with ]]> and <script>"',
        summary="\"<img src=x onerror=alert(4)> *short* <a href='javascript:alert(5)'>x</a>\"",
        body=HOSTILE_BODY,
    )
    body = make_app(store, state_dir).test_client().get(f"/feeds/all.{fmt}").data
    document = parse_xml(body)
    entry = check_feed(body).entries[0]
    assert entry.title == "Title with ]]> and <script>"  # plain text, escaped in the XML
    html_elements = {"description", "encoded", "summary", "content"}
    html = " ".join(
        element.text or ""
        for element in document.iter()
        if etree.QName(element).localname in html_elements
    )
    for forbidden in (
        "<script",
        "alert",
        "onclick",
        "onerror",
        "style=",
        "<style",
        "iframe",
        "javascript",
    ):
        assert forbidden not in html.lower()
    for kept in ("<b>bold</b>", "<em>short</em>", 'href="https://news.example.com/relative/path"'):
        assert kept in html
    assert "\x01" not in html


def test_an_unusable_state_folder_degrades_to_memory_not_to_errors(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store.add()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    client = make_app(store, blocker).test_client()
    response = client.get("/feeds/all.rss")
    assert response.status_code == 200
    assert "Last-Modified" in response.headers
    assert "cannot write the state folder" in caplog.text

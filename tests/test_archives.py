"""Complete archives (RFC 5005) over HTTP: a client that follows the links from a subscription
document collects every servable article exactly once, in every format and scope."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from feedsvc.model import label_slug
from feedsvc.service import Policy

from .checks import check_document, parse_xml
from .factories import Clock, Store, make_app

ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"
BERLIN = ZoneInfo("Europe/Berlin")
BASE = "https://news.example.com"
FIRST = datetime(2021, 1, 3, 8, 0, tzinfo=BERLIN)
CATEGORIES = ("technology", "energy", "culture")
TAGS = ("chips", "gas", "film", "Trade Policy", "Jürgen's Picks")
AUTHORS = ("Ann Lee", "Jürgen Müller", "Bo Chen")


@dataclass
class Document:
    path: str
    ids: list[str]
    links: dict[str, str]  # rel -> path, for the RFC 5005 relations (next_url in JSON)
    is_archive: bool
    cache_control: str


def fetch(client: FlaskClient, path: str, fmt: str) -> Document:
    response = client.get(path)
    assert response.status_code == 200, path
    body = response.data
    check_document(body, fmt)
    links: dict[str, str] = {}
    if fmt == "json":
        feed = json.loads(body)
        ids = [item["id"] for item in feed["items"]]
        if "next_url" in feed:
            links["prev-archive"] = feed["next_url"]
        is_archive = "/archive/" in path
    else:
        root = parse_xml(body)
        parent = root if fmt == "atom" else root.find("channel")
        assert parent is not None
        if fmt == "atom":
            ids = [e.findtext(f"{ATOM}id") or "" for e in parent.findall(f"{ATOM}entry")]
        else:
            ids = [i.findtext("guid") or "" for i in parent.findall("item")]
        for link in parent.findall(f"{ATOM}link"):
            rel = link.get("rel") or ""
            if rel in ("prev-archive", "next-archive", "current"):
                links[rel] = link.get("href") or ""
        is_archive = parent.find(f"{FH}archive") is not None
    links = {rel: href.removeprefix(BASE) for rel, href in links.items()}
    return Document(path, ids, links, is_archive, response.headers["Cache-Control"])


def walk_back(client: FlaskClient, path: str, fmt: str) -> list[Document]:
    """RFC 5005 section 4.2: the subscription document, then prev-archive until there is none."""
    documents = [fetch(client, path, fmt)]
    while "prev-archive" in documents[-1].links:
        following = documents[-1].links["prev-archive"]
        assert following not in {d.path for d in documents}, "a loop in prev-archive"
        documents.append(fetch(client, following, fmt))
    return documents


def build_archive_store(store: Store, count: int = 320) -> dict[str, set[str]]:
    """A few hundred articles over four and a half years, plus drafts and scheduled ones.
    Returns the GUIDs each feed path (without extension) must serve in the end."""
    rng = random.Random(5005)
    expected: dict[str, set[str]] = {}
    for n in range(count):
        published = FIRST + timedelta(hours=round(n * 24 * 4.9 + rng.random() * 20))
        category = rng.choice(CATEGORIES)
        tags = rng.sample(TAGS, rng.randint(0, 2))
        author = rng.choice(AUTHORS)
        language = "de" if n % 7 == 0 else "en"
        hidden = n % 53 == 0
        store.add(
            f"{published:%Y}/{n:04d}.md",
            id=f"a{n}",
            title=f'"Article {n}"',
            published=f"{published:%Y-%m-%d %H:%M}",
            category=category,
            tags="[" + ", ".join(f'"{t}"' for t in tags) + "]",
            author=f'"{author}"',
            language=language,
            draft="true" if hidden else None,
        )
        if hidden:
            continue
        guid = f"tag:news.example.com,2025-01-01:a{n}"
        scopes = ["all", category, f"lang/{language}", f"author/{label_slug(author)}"]
        scopes += [f"tag/{label_slug(t)}" for t in tags]
        for scope in scopes:
            expected.setdefault(scope, set()).add(guid)
    # Scheduled for after "now": never in any document.
    store.add("later.md", id="later", published="2025-06-20 10:00", category="energy")
    return expected


@pytest.fixture
def archive_client(store: Store, state_dir: Path) -> tuple[FlaskClient, dict[str, set[str]]]:
    expected = build_archive_store(store)
    return make_app(store, state_dir, Clock()).test_client(), expected


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_following_prev_archive_collects_every_article_exactly_once(
    archive_client: tuple[FlaskClient, dict[str, set[str]]], fmt: str
) -> None:
    client, expected = archive_client
    documents = walk_back(client, f"/feeds/all.{fmt}", fmt)
    subscription, archives = documents[0], documents[1:]
    assert len(subscription.ids) == 50
    assert not subscription.is_archive
    assert all(d.is_archive or fmt == "json" for d in archives)
    assert len(archives) > 40  # months from January 2021 on, empty ones skipped
    # The archives partition the site: no article is in two of them...
    archived = Counter(guid for d in archives for guid in d.ids)
    assert max(archived.values()) == 1
    # ...and with the subscription document they hold every servable article, nothing else.
    collected = set(archived) | set(subscription.ids)
    assert collected == expected["all"]
    # The only overlap is the subscription's oldest month, whose archive it links.
    overlap = set(subscription.ids) & set(archived)
    assert overlap <= set(archives[0].ids)


@pytest.mark.parametrize(
    ("scope", "fmt"),
    [("energy", "atom"), ("tag/trade-policy", "rss"), ("tag/jurgen-s-picks", "json"),
     ("author/jurgen-muller", "rss"), ("lang/de", "atom")],
)  # fmt: skip
def test_every_kind_of_feed_has_a_complete_archive(
    archive_client: tuple[FlaskClient, dict[str, set[str]]], scope: str, fmt: str
) -> None:
    client, expected = archive_client
    documents = walk_back(client, f"/feeds/{scope}.{fmt}", fmt)
    archived = Counter(guid for d in documents[1:] for guid in d.ids)
    assert max(archived.values()) == 1
    assert set(archived) | set(documents[0].ids) == expected[scope]


def test_next_archive_leads_forward_through_every_month_to_the_current_one(
    archive_client: tuple[FlaskClient, dict[str, set[str]]],
) -> None:
    client, expected = archive_client
    oldest = walk_back(client, "/feeds/all.atom", "atom")[-1]
    assert oldest.path == "/feeds/all/archive/2021-01.atom"
    assert "prev-archive" not in oldest.links
    months = [oldest]
    while "next-archive" in months[-1].links:
        months.append(fetch(client, months[-1].links["next-archive"], "atom"))
    assert len(months) == 54  # January 2021 to June 2025, each month once
    assert months[-1].path == "/feeds/all/archive/2025-06.atom"
    assert {guid for d in months for guid in d.ids} == expected["all"]
    assert all(d.links["current"] == "/feeds/all.atom" for d in months)


def test_past_months_are_cached_long_and_the_open_month_briefly(
    archive_client: tuple[FlaskClient, dict[str, set[str]]],
) -> None:
    client, _ = archive_client
    closed = fetch(client, "/feeds/all/archive/2023-04.rss", "rss")
    assert closed.cache_control == "public, max-age=86400"
    current = fetch(client, "/feeds/all/archive/2025-06.rss", "rss")
    # The open month takes new articles; the scheduled one is due in 18 days.
    assert current.cache_control == "public, max-age=300"
    assert fetch(client, "/feeds/all.rss", "rss").cache_control == "public, max-age=300"


def test_a_closed_archive_changes_only_when_one_of_its_articles_does(
    store: Store, state_dir: Path, clock: Clock
) -> None:
    first = store.add("one.md", id="one", published="2025-02-10 10:00")
    store.add("two.md", id="two", published="2025-04-10 10:00")
    client = make_app(store, state_dir, clock).test_client()
    months = ["2025-02", "2025-03", "2025-04", "2025-05"]

    def etags() -> dict[str, str]:
        return {m: client.get(f"/feeds/all/archive/{m}.rss").headers["ETag"] for m in months}

    before = etags()
    store.add("three.md", id="three", published="2025-05-31 10:00")  # a new article this May
    clock.advance(days=40)  # and July comes: May closes
    after = etags()
    assert {m for m in months if before[m] != after[m]} == {"2025-05"}
    store.write(first, first.read_text().replace("Body text", "Edited body"))
    edited = etags()
    assert {m for m in months if after[m] != edited[m]} == {"2025-02"}


def test_the_open_month_closes_when_time_passes_without_a_store_change(
    store: Store, state_dir: Path, clock: Clock
) -> None:
    store.add(id="june", published="2025-06-01 10:00")
    client = make_app(store, state_dir, clock).test_client()
    june = fetch(client, "/feeds/all/archive/2025-06.rss", "rss")
    assert "next-archive" not in june.links
    assert client.get("/feeds/all/archive/2025-07.rss").status_code == 404
    clock.now = datetime(2025, 6, 30, 21, 59, 59, tzinfo=UTC)  # still June in Berlin
    assert "next-archive" not in fetch(client, "/feeds/all/archive/2025-06.rss", "rss").links
    clock.now = datetime(2025, 6, 30, 22, 0, tzinfo=UTC)  # 1 July, midnight in Berlin
    june = fetch(client, "/feeds/all/archive/2025-06.rss", "rss")
    assert june.links["next-archive"] == "/feeds/all/archive/2025-07.rss"
    assert june.cache_control == "public, max-age=86400"
    july = fetch(client, "/feeds/all/archive/2025-07.rss", "rss")
    assert july.ids == []
    assert july.links["prev-archive"] == "/feeds/all/archive/2025-06.rss"


def test_archive_documents_are_kept_within_a_memory_budget(
    store: Store, state_dir: Path, tmp_path: Path
) -> None:
    for n in range(12):
        store.add(id=f"m{n}", published=f"2024-{n + 1:02d}-10 10:00")
    measuring = make_app(store, tmp_path / "measure").test_client()
    first = {m: measuring.get(f"/feeds/all/archive/2024-{m:02d}.rss") for m in range(1, 13)}
    one_document = len(first[1].data) * 2  # plain and gzip, roughly
    app = make_app(store, state_dir, policy=Policy(archive_memo_bytes=one_document * 3))
    service = app.extensions["feedsvc"]
    client = app.test_client()
    for m in range(1, 13):
        assert client.get(f"/feeds/all/archive/2024-{m:02d}.rss").data == first[m].data
    for m in range(1, 13):
        client.get(f"/feeds/all/archive/2024-{m:02d}.json")
    view = service._view
    assert view.archives.currsize <= one_document * 3
    assert 1 <= len(view.archives) < 24  # some of the 24 rendered were let go
    assert all(key.format == "json" for key in view.archives)  # the least recently used first
    # An evicted month comes back with the same bytes and validators.
    again = client.get("/feeds/all/archive/2024-01.rss")
    assert again.data == first[1].data
    assert again.headers["ETag"] == first[1].headers["ETag"]
    assert again.headers["Last-Modified"] == first[1].headers["Last-Modified"]

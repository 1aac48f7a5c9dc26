"""lemon24/reader, a real feed reader library, subscribed over HTTP to every format: it reads
the same articles from RSS, Atom and JSON Feed (its own JSON Feed parser, not feedparser),
revalidates with our validators, and an edit makes no duplicate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from reader import Reader, make_reader

from .factories import Store, make_app
from .servers import StatusLog, serving

IMAGE = '{url: "/m/a.jpg", alt: "A chip", type: image/jpeg, length: 1234}'
FORMATS = ("rss", "atom", "json")


@pytest.fixture
def served(store: Store, state_dir: Path) -> Iterator[tuple[str, StatusLog]]:
    store.add(
        "a.md", id="a", title="First", published="2025-03-01 10:00", image=IMAGE,
        sources="[Guancha]", author='"Ann Lee"',
    )  # fmt: skip
    store.add("b.md", id="b", title="Zweite", published="2025-03-02 10:00", language="de")
    app = StatusLog(make_app(store, state_dir))
    with serving(app) as base:
        yield base, app


@pytest.fixture
def reader() -> Iterator[Reader]:
    with make_reader(":memory:") as r:
        yield r


def entries(reader: Reader, url: str) -> dict[str, tuple[str | None, str | None, str]]:
    """id -> (title, link, first content value) of what the reader stored for one feed."""
    return {
        e.id: (e.title, e.link, e.content[0].value if e.content else "")
        for e in reader.get_entries(feed=url)
    }


def test_every_format_gives_a_reader_the_same_articles(
    served: tuple[str, StatusLog], reader: Reader
) -> None:
    base, _ = served
    urls = {fmt: f"{base}/feeds/all.{fmt}" for fmt in FORMATS}
    for url in urls.values():
        reader.add_feed(url)
    reader.update_feeds(scheduled=False)
    for url in urls.values():
        assert reader.get_feed(url).last_exception is None
    read = {fmt: entries(reader, url) for fmt, url in urls.items()}
    assert read["rss"] == read["atom"] == read["json"]
    first = read["json"]["tag:news.example.com,2025-01-01:a"]
    assert first[:2] == ("First", "https://news.example.com/2025/03/a/")
    assert first[2].endswith("<p>Source: Guancha</p>")

    (json_entry,) = [e for e in reader.get_entries(feed=urls["json"]) if e.id.endswith(":a")]
    assert json_entry.published is not None
    assert json_entry.published.isoformat() == "2025-03-01T09:00:00+00:00"
    assert [a.name for a in json_entry.authors] == ["Ann Lee"]
    assert [(x.href, x.type, x.length) for x in json_entry.enclosures] == [
        ("https://news.example.com/m/a.jpg", "image/jpeg", 1234)
    ]
    assert reader.get_feed(urls["json"]).version == "json11"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_reader_revalidates_and_an_edit_makes_no_duplicate(
    served: tuple[str, StatusLog], reader: Reader, store: Store, fmt: str
) -> None:
    base, log = served
    url = f"{base}/feeds/all.{fmt}"
    reader.add_feed(url)
    reader.update_feeds(scheduled=False)
    assert len(entries(reader, url)) == 2
    reader.update_feeds(scheduled=False)
    assert log.codes[-1] == 304  # the reader sent our validators back
    (store.root / "a.md").unlink()
    store.add("moved/a.md", id="a", title="First, corrected", published="2025-03-01 10:00")
    reader.update_feeds(scheduled=False)
    assert log.codes[-1] == 200
    read = entries(reader, url)
    assert len(read) == 2
    assert read["tag:news.example.com,2025-01-01:a"][0] == "First, corrected"

"""The optional `link` front-matter key (spec: article-store.md): an imported article's old
permalink, used verbatim, checked, and never shared with another article."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.store.reader import StoreReader

from .checks import read_feed
from .factories import Store, make_app, store_reader, text_of

OLD = "https://news.example.com/2025/03/%d0%bc%d0%b8%d1%80/"


def reader(store: Store) -> StoreReader:
    return store_reader(store.root)


def test_a_given_link_is_used_verbatim_in_every_format(store: Store, state_dir: Path) -> None:
    store.add("a.md", id="a", link=f'"{OLD}"', body="See ![x](pic.jpg).")
    scanner = reader(store)
    (article,) = scanner.scan().articles
    assert article.link == OLD
    client = make_app(store, state_dir).test_client()
    assert read_feed(client.get("/feeds/all.rss").data).entries[0].link == OLD
    assert read_feed(client.get("/feeds/all.atom").data).entries[0].link == OLD
    # Relative URLs of the body resolve against the article's own page, as before.
    assert f'src="{OLD}pic.jpg"' in text_of(scanner, article).content_html


@pytest.mark.parametrize(
    "link",
    ["/2025/03/a/", "ftp://news.example.com/a", "https://news.example.com/a b", "https://bücher.example/",
     "https://", "http://[::1/x", "javascript:alert(1)"],
)  # fmt: skip
def test_a_link_that_is_no_absolute_http_url_is_rejected(store: Store, link: str) -> None:
    store.add("a.md", id="a", link=f'"{link}"')
    snapshot = reader(store).scan()
    assert snapshot.articles == ()
    (problem,) = snapshot.problems
    assert problem.reason.startswith("link: ")
    assert "is not an absolute http(s) URL" in problem.reason


def test_a_given_link_that_another_article_derives_rejects_both(store: Store) -> None:
    store.add("2025/one.md", id="one", published="2025-03-02", slug="same")
    store.add(
        "two.md", id="two", published="2024-01-01", link='"https://news.example.com/2025/03/same/"'
    )
    store.add("three.md", id="three", published="2024-01-01")
    snapshot = reader(store).scan()
    assert [a.id for a in snapshot.articles] == ["three"]
    assert {p.path for p in snapshot.problems} == {"2025/one.md", "two.md"}

"""Texts are rendered when a document first shows them: a store is listed from front matter.

What that must not change: an invalid body is reported with its file and reason and never
shown; the version listed is the version shown, whatever happened to its file since; the last
good version of an edited article stays served.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from feedsvc.model import Article, ArticleText
from feedsvc.sanitize import MAX_HTML_DEPTH
from feedsvc.settings import load_settings
from feedsvc.state import State
from feedsvc.store import parse as parse_module
from feedsvc.store.reader import StoreReader
from feedsvc.texts import Texts

from .checks import check_document
from .factories import Store, make_app, scan_policy

TOO_DEEP = "<div>" * (MAX_HTML_DEPTH + 1) + "deep" + "</div>" * (MAX_HTML_DEPTH + 1)


def titles(client: FlaskClient, feed: str = "all", fmt: str = "atom") -> list[str]:
    response = client.get(f"/feeds/{feed}.{fmt}")
    assert response.status_code == 200
    return sorted(title for _, title in check_document(response.data, fmt))


def problems(client: FlaskClient) -> dict[str, str]:
    service = client.application.extensions["feedsvc"]
    return {p.path: p.reason for p in service.problems}


def test_an_invalid_body_found_when_first_shown_is_left_out_and_reported(
    store: Store, state_dir: Path
) -> None:
    store.add("good.md", id="good", title='"Good"')
    store.add("deep.md", id="deep", title='"Deep"', body=TOO_DEEP)
    client = make_app(store, state_dir).test_client()
    # The first scan validated front matter only: the body is not known bad yet.
    assert problems(client) == {}
    for fmt in ("rss", "atom", "json"):
        assert titles(client, fmt=fmt) == ["Good"]
    assert "nested more than" in problems(client)["deep.md"]
    assert client.get("/healthz").get_json()["files_rejected"] == 1


def test_the_version_listed_is_the_version_shown_after_its_file_changes(
    store: Store, state_dir: Path
) -> None:
    path = store.add("a.md", id="a", title='"A"', body="First body.")
    replaced = store.add("b.md", id="b", title='"B"', body="Listed body.")
    client = make_app(store, state_dir, RESCAN_INTERVAL=3600).test_client()
    # Between the scan and the first feed the files are edited, broken and deleted: the feed
    # shows the versions the scan listed, never a mix of a new body and an old front matter.
    store.write(path, path.read_text().replace("First body.", "Edited body."))
    replaced.unlink()
    body = client.get("/feeds/all.atom").data
    assert b"First body." in body
    assert b"Edited body." not in body
    assert b"Listed body." in body


def test_a_broken_body_in_a_bulk_change_keeps_the_last_good_version(
    store: Store, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store.add("a.md", id="a", title='"A"', body="Good body.")
    store.add("b.md", id="b", title='"B"')
    # A change of many files at once is listed lazily, like the first scan.
    client = make_app(store, state_dir, policy=scan_policy(max_eager_files=0)).test_client()
    assert titles(client) == ["A", "B"]
    store.write(path, path.read_text().replace("Good body.", TOO_DEEP))
    body = client.get("/feeds/all.atom").data
    assert b"Good body." in body
    reason = problems(client)["a.md"]
    assert "nested more than" in reason
    assert "last good version is still served" in reason


def test_an_edit_is_rendered_at_once_and_a_broken_one_keeps_the_last_good_version(
    store: Store, state_dir: Path
) -> None:
    path = store.add("a.md", id="a", title='"A"', body="Good body.")
    client = make_app(store, state_dir).test_client()
    # The first version's text was never shown: it comes from what the first scan read.
    store.write(path, path.read_text().replace("Good body.", TOO_DEEP))
    client.get("/healthz")  # a rescan, no feed asked for
    reason = problems(client)["a.md"]
    assert "nested more than" in reason
    assert "last good version is still served" in reason
    assert b"Good body." in client.get("/feeds/all.rss").data


def test_an_unexpected_error_rendering_one_text_leaves_out_that_article_only(
    store: Store, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add("good.md", id="good", title='"Good"', body="Fine.")
    store.add("bug.md", id="bug", title='"Bug"', body="Trigger.")
    real = parse_module.render_text

    def buggy(body: str, summary: str, link: str, path: str) -> object:
        if "Trigger" in body:
            raise RuntimeError("a bug we have not found yet")
        return real(body, summary, link, path)

    monkeypatch.setattr(parse_module, "render_text", buggy)
    client = make_app(store, state_dir).test_client()
    assert titles(client) == ["Good"]
    assert "unexpected error" in problems(client)["bug.md"]


def test_feedsvc_check_renders_every_text(store: Store) -> None:
    from feedsvc.cli import main

    store.add("good.md", id="good")
    store.add("deep.md", id="deep", body=TOO_DEEP)
    assert main(["check", str(store.root)]) == 1


class _NothingKept(State):
    """A state database that never has a text: every text not in memory is rendered."""

    def text(self, digest: str, link: str) -> ArticleText | None:
        return None


def test_texts_kept_in_memory_stay_within_their_budget(store: Store, state_dir: Path) -> None:
    for n in range(6):
        store.add(f"{n}.md", id=f"t{n}", body=f"Body {n} " + "word " * 200)
    state = _NothingKept(state_dir)
    reader = StoreReader(store.root, load_settings({"ARTICLES_DIR": str(store.root)}).site, state)
    articles = reader.scan().articles
    rendered: list[str] = []

    def read_version(article: Article) -> bytes:
        rendered.append(article.id)
        return reader.saved.version_bytes(article)

    one = len(Texts(state, read_version).text(articles[0]).content_html) * 2  # about one text
    texts = Texts(state, read_version, budget=one * 2)  # room for about two
    rendered.clear()
    first = [texts.text(a) for a in articles]
    assert len(rendered) == 6
    # Backwards: the last ones are still in memory, the first ones were let go.
    assert [texts.text(a) for a in reversed(articles)] == first[::-1]
    assert 6 < len(rendered) < 12, rendered

"""No request waits behind a re-render: while one thread renders a changed document, the
others get its previous bytes with their own validators, and the new bytes replace them whole."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from werkzeug.test import TestResponse

from feedsvc import render, service
from feedsvc.catalog import FeedDocument
from feedsvc.model import Site

from .factories import Clock, Store, make_app


def etag_matches_bytes(response: TestResponse) -> bool:
    """Whether the ETag is the one of the bytes sent (the service's rule: a digest of them)."""
    return response.headers["ETag"] == f'"{hashlib.sha256(response.data).hexdigest()[:32]}"'


def test_requests_during_a_re_render_get_the_previous_bytes_with_their_own_etag(
    store: Store, state_dir: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store.add("a.md", id="a", title='"Before"')
    app = make_app(store, state_dir, clock)
    client = app.test_client()
    before = client.get("/feeds/all.rss")
    assert etag_matches_bytes(before)

    rendering, release = threading.Event(), threading.Event()
    real_render: Callable[[Site, FeedDocument], bytes] = render.render_feed

    def slow_render(site: Site, document: FeedDocument) -> bytes:
        rendering.set()
        assert release.wait(30)
        return real_render(site, document)

    monkeypatch.setattr(service, "render_feed", slow_render)
    store.write(path, path.read_text().replace('"Before"', '"After"'))
    results: list[TestResponse] = []
    renderer = threading.Thread(target=lambda: results.append(client.get("/feeds/all.rss")))
    renderer.start()
    try:
        assert rendering.wait(30)
        # Meanwhile: the previous bytes, at once, with their own ETag and Last-Modified.
        during: list[TestResponse] = []
        others = threading.Thread(target=lambda: during.extend(client.get("/feeds/all.rss")
                                                                for _ in range(3)))  # fmt: skip
        others.start()
        others.join(10)
        assert len(during) == 3, "requests waited behind the re-render"
        for response in during:
            assert response.status_code == 200
            assert response.data == before.data
            assert response.headers["ETag"] == before.headers["ETag"]
            assert response.headers["Last-Modified"] == before.headers["Last-Modified"]
        # A client holding them is told they are current, by the same rule.
        revalidated = client.get(
            "/feeds/all.rss", headers={"If-None-Match": before.headers["ETag"]}
        )
        assert revalidated.status_code == 304
    finally:
        release.set()
    renderer.join(30)
    (rendered,) = results
    after = client.get("/feeds/all.rss")
    for response in (rendered, after):
        assert b"After" in response.data
        assert etag_matches_bytes(response)
        assert response.headers["ETag"] != before.headers["ETag"]


def test_a_document_never_rendered_before_is_waited_for(
    store: Store, state_dir: Path, clock: Clock
) -> None:
    # With no previous bytes to give, a second request for a document being rendered waits
    # for it rather than answering 404 (the document exists).
    store.add("a.md", id="a")
    client = make_app(store, state_dir, clock).test_client()
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(client.get("/feeds/all.atom").status_code))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == [200] * 4

"""GET /healthz: 200 with the store's state while serving the current store, 503 while stale."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .factories import Clock, Store, make_app


def test_health_reports_the_store_it_serves(store: Store, state_dir: Path, clock: Clock) -> None:
    store.add("a.md", id="a")
    store.add("draft.md", id="d", draft="true")
    store.write(store.root / "bad.md", "---\nid: [\n---\n")
    client = make_app(store, state_dir, clock).test_client()
    clock.advance(minutes=5)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert json.loads(response.data) == {
        "status": "ok",
        "problem": None,
        "articles_served": 1,  # the draft is valid but not served
        "files_rejected": 1,
        "last_good_served": 0,
        "last_scan": "2025-06-01T12:05:00+00:00",  # scanned again for this request
    }


def test_health_is_503_while_serving_a_stale_state(
    store: Store, state_dir: Path, clock: Clock, tmp_path: Path
) -> None:
    store.add("a.md", id="a")
    client = make_app(store, state_dir, clock).test_client()
    os.rename(store.root, tmp_path / "gone")
    clock.advance(minutes=1)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.data) == {
        "status": "stale",
        "problem": "No such file or directory",
        "articles_served": 1,
        "files_rejected": 0,
        "last_good_served": 0,
        "last_scan": "2025-06-01T12:00:00+00:00",  # the last complete scan, not this one
    }
    os.rename(tmp_path / "gone", store.root)
    clock.advance(minutes=1)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.data)["last_scan"] == "2025-06-01T12:02:00+00:00"


def test_health_answers_head_and_refuses_other_methods(store: Store, state_dir: Path) -> None:
    store.add()
    client = make_app(store, state_dir).test_client()
    assert client.head("/healthz").status_code == 200
    response = client.post("/healthz")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]

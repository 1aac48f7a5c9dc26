"""The store index: a restart serves from the front matter kept in the state folder, sweeps the
store in the background, and ignores any index not made for this store, site and code."""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from feedsvc import store as store_module
from feedsvc.settings import load_settings
from feedsvc.store import StoreReader
from feedsvc.storeindex import ARTICLE_FIELDS, INDEX_FILE

from .helpers import SITE_TOML, Store, check_document, make_app


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def save_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("feedsvc.service.INDEX_FIRST_SAVE_DELAY", 0.0)
    monkeypatch.setattr("feedsvc.storeindex._CHUNK", 2)  # three files: two chunks


def first_run(store: Store, state_dir: Path) -> bytes:
    """Serve once, and wait until the store index is written in the background."""
    app = make_app(store, state_dir)
    body: bytes = app.test_client().get("/feeds/all.atom").data
    wait_for((state_dir / INDEX_FILE).exists, "the store index is written")
    return body


def swept(app: Flask) -> None:
    service = app.extensions["feedsvc"]
    app.test_client().get("/healthz")  # background work starts with the first request
    wait_for(lambda: not service._restoring, "the first sweep after the restore")


def titles(app: Flask) -> list[str]:
    body = app.test_client().get("/feeds/all.atom").data
    return sorted(title for _, title in check_document(body, "atom"))


@pytest.fixture
def three(store: Store) -> Store:
    store.add("2025/a.md", id="a", title='"Alpha"', body="Alpha *body*.")
    store.add("2025/b.md", id="b", title='"Beta"', summary='"A <em>summary</em>"')
    store.add("2025/c.md", id="c", title='"Gamma"', image="{url: /media/c.jpg, type: image/jpeg}")
    return store


def test_a_restart_serves_the_same_bytes_without_parsing_any_file(
    three: Store, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = first_run(three, state_dir)

    def no_parsing(*args: object, **kwargs: object) -> object:
        raise AssertionError("a file was parsed")

    monkeypatch.setattr(store_module, "parse_front_matter", no_parsing)
    app = make_app(three, state_dir)
    assert app.extensions["feedsvc"]._reader.restored
    assert app.test_client().get("/feeds/all.atom").data == before
    swept(app)  # nothing changed: the sweep reads no file either
    assert app.test_client().get("/feeds/all.atom").data == before


def test_changes_made_while_stopped_are_picked_up_by_the_first_sweep(
    three: Store, state_dir: Path
) -> None:
    first_run(three, state_dir)
    path = three.root / "2025/a.md"
    three.write(path, path.read_text().replace('"Alpha"', '"Alpha, edited"'))
    (three.root / "2025/b.md").unlink()
    three.add("2025/d.md", id="d", title='"Delta"')
    app = make_app(three, state_dir)
    swept(app)
    assert titles(app) == ["Alpha, edited", "Delta", "Gamma"]


def test_a_restored_version_stays_at_hand_when_its_file_breaks(
    three: Store, state_dir: Path
) -> None:
    first_run(three, state_dir)
    settings = load_settings({"ARTICLES_DIR": str(three.root)})
    reader = StoreReader(settings.articles_dir, settings.site, state_folder=state_dir)
    assert reader.restored
    reader.pack_restored()  # what the service does in the background after a restore
    path = three.root / "2025/a.md"
    three.write(path, "---\ntitle: [broken\n")
    snapshot = reader.scan()
    alpha = next(a for a in snapshot.articles if a.id == "a")
    assert "Alpha <em>body</em>." in alpha.content_html
    assert "last good version is still served" in snapshot.problems[0].reason


@pytest.mark.parametrize("change", ["site", "root", "code", "damaged", "hostile"])
def test_an_index_not_made_for_this_store_site_and_code_is_ignored(
    three: Store, state_dir: Path, tmp_path: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_run(three, state_dir)
    index = state_dir / INDEX_FILE
    marker = tmp_path / "executed"
    if change == "site":
        site_toml = three.root / "site.toml"
        site_toml.write_text(site_toml.read_text().replace("title =", 'title = "Other"\n#', 1))
    elif change == "root":
        moved = tmp_path / "moved"
        os.rename(three.root, moved)
        three.root = moved
    elif change == "code":
        monkeypatch.setattr("feedsvc.storeindex.code_fingerprint", lambda: "another version")
    elif change == "damaged":
        index.write_bytes(index.read_bytes()[:100])
    else:  # a pickle that would run a command: the unpickler builds dates and zones only
        index.write_bytes(pickle.dumps(_Hostile(str(marker))))
    app = make_app(three, state_dir)
    assert not app.extensions["feedsvc"]._reader.restored
    assert len(titles(app)) == 3
    assert not marker.exists()


class _Hostile:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize(
    ("zone", "dates"),
    [
        # A wall time the zone skips, and the second of two 02:30s.
        ("Europe/Berlin", ["2025-03-30 02:30", "2025-10-26 02:30:00+01:00"]),
        # Local mean time, -00:44:30 until 1972: such dates are kept in UTC (store.py).
        ("Africa/Monrovia", ["1960-05-01 12:00", "1960-05-01 12:00:00+01:00"]),
    ],
)
def test_restored_records_are_the_records_read_from_the_files(
    store: Store, state_dir: Path, zone: str, dates: list[str]
) -> None:
    store.write_site(SITE_TOML.format(items_per_feed=50).replace("Europe/Berlin", zone))
    store.add("plain.md", id="plain", published="2025-03-10 09:30")
    store.add("edited.md", id="edited", published="2025-03-10 09:30", updated="2025-03-11 08:00")
    store.add("moved.md", id="moved", guid='"https://old.example.com/?p=4211"')
    for n, date in enumerate(dates):
        store.add(f"date{n}.md", id=f"date{n}", published=f'"{date}"')
    store.add(
        "full.md", id="full", tags="[a, B]", authors="[Ann, Bo]", sources="[Wire]",
        image="{url: /m/x.jpg, alt: X, type: image/jpeg, length: 12}", draft="true",
        summary='"A *summary*"',
    )  # fmt: skip
    settings = load_settings({"ARTICLES_DIR": str(store.root)})
    state_dir.mkdir()
    read = StoreReader(settings.articles_dir, settings.site, state_folder=state_dir)
    assert read.scan().problems == ()
    assert read.save_index()
    restored = StoreReader(settings.articles_dir, settings.site, state_folder=state_dir)
    assert restored.restored

    def fields(reader: StoreReader) -> list[tuple[object, ...]]:
        return [
            (
                [getattr(a, name) for name in ARTICLE_FIELDS],
                [(d.isoformat(), d.fold, d.tzinfo) for d in (a.published, a.updated)],
                a.source.text(),
            )
            for a in reader.snapshot.articles
        ]

    assert fields(restored) == fields(read)
    assert len(fields(read)) == 6


def test_a_cold_start_writes_the_index_only_after_its_first_requests(
    three: Store, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Writing the index of a large store takes seconds of the interpreter the first requests
    # need: it waits INDEX_FIRST_SAVE_DELAY, whatever the rescans find meanwhile.
    monkeypatch.setattr("feedsvc.service.INDEX_FIRST_SAVE_DELAY", 30.0)
    app = make_app(three, state_dir)
    client = app.test_client()
    for _ in range(5):  # each one rescans the store
        assert client.get("/feeds/all.atom").status_code == 200
    assert not (state_dir / INDEX_FILE).exists()

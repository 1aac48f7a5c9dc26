"""Restarts: a restart serves from the records kept in the state database, sweeps the store
in the background, keeps last good versions, and ignores records not made for this store, site
and parser."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from feedsvc.cli import main
from feedsvc.keeper import KeeperPolicy
from feedsvc.service import Policy
from feedsvc.settings import load_settings
from feedsvc.state import State
from feedsvc.store import parse as parse_module
from feedsvc.store import records
from feedsvc.store.parse import article_text
from feedsvc.store.reader import StoreReader

from .checks import check_document
from .factories import SITE_TOML, Store, make_app


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.02)


def first_run(store: Store, state_dir: Path) -> bytes:
    """Serve once, and save what the store holds (as the keeper does in the background)."""
    app = make_app(store, state_dir)
    body: bytes = app.test_client().get("/feeds/all.atom").data
    app.extensions["feedsvc"].keeper.reader.save()
    return body


def swept(app: Flask) -> None:
    service = app.extensions["feedsvc"]
    app.test_client().get("/healthz")  # background work starts with the first request
    wait_for(lambda: not service.keeper.restoring, "the first sweep after the restore")


def titles(app: Flask) -> list[str]:
    body = app.test_client().get("/feeds/all.atom").data
    return sorted(title for _, title in check_document(body, "atom"))


def reader_of(store: Store, state_dir: Path) -> StoreReader:
    settings = load_settings({"ARTICLES_DIR": str(store.root)})
    return StoreReader(settings.articles_dir, settings.site, State(state_dir))


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
        raise AssertionError("a file was parsed or rendered")

    monkeypatch.setattr(parse_module, "parse_front_matter", no_parsing)
    monkeypatch.setattr(parse_module, "render_text", no_parsing)
    app = make_app(three, state_dir)
    assert app.extensions["feedsvc"].keeper.reader.restored
    # Texts too come from the database: rendered once per machine.
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


def test_a_file_broken_while_stopped_is_served_from_its_last_good_version(
    three: Store, state_dir: Path
) -> None:
    first_run(three, state_dir)  # the texts of a, b and c were never rendered in memory alone
    three.write(three.root / "2025/a.md", "---\ntitle: [broken\n")
    three.write(three.root / "2025/b.md", "---\nid: b\n---\n")  # no title
    app = make_app(three, state_dir)
    swept(app)
    assert titles(app) == ["Alpha", "Beta", "Gamma"]
    body = app.test_client().get("/feeds/all.atom").get_data(as_text=True)
    assert "Alpha &lt;em&gt;body&lt;/em&gt;." in body  # its text, from the version kept
    health = app.test_client().get("/healthz").get_json()
    assert health["files_rejected"] == 2
    assert health["last_good_served"] == 2
    # And once more across a second restart, before anything is fixed.
    app.extensions["feedsvc"].keeper.reader.save()
    again = make_app(three, state_dir)
    swept(again)
    assert titles(again) == ["Alpha", "Beta", "Gamma"]


def test_feedsvc_check_reports_the_last_good_versions_it_keeps(
    three: Store,
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first_run(three, state_dir)
    three.write(three.root / "2025/a.md", "---\ntitle: [broken\n")
    monkeypatch.setenv("FEEDSVC_STATE_DIR", str(state_dir))
    assert main(["check", str(three.root)]) == 1
    out = capsys.readouterr().out
    assert "2025/a.md: the front matter has no closing '---' line" in out
    assert "(its last good version is still served)" in out


def test_a_restored_version_stays_at_hand_when_its_file_breaks(
    three: Store, state_dir: Path
) -> None:
    first_run(three, state_dir)
    reader = reader_of(three, state_dir)
    assert reader.restored
    path = three.root / "2025/a.md"
    three.write(path, "---\ntitle: [broken\n")
    snapshot = reader.scan()
    alpha = next(a for a in snapshot.articles if a.id == "a")
    assert (
        "Alpha <em>body</em>."
        in article_text(reader.saved.version_bytes(alpha), alpha).content_html
    )
    assert "last good version is still served" in snapshot.problems[0].reason


@pytest.mark.parametrize("change", ["site", "root", "parser"])
def test_records_not_made_for_this_store_site_and_parser_are_not_used(
    three: Store, state_dir: Path, tmp_path: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_run(three, state_dir)
    if change == "site":
        site_toml = three.root / "site.toml"
        site_toml.write_text(site_toml.read_text().replace("title =", 'title = "Other"\n#', 1))
    elif change == "root":
        moved = tmp_path / "moved"
        os.rename(three.root, moved)
        three.root = moved
    else:
        monkeypatch.setattr(records, "PARSER_VERSION", parse_module.PARSER_VERSION + 1)
    app = make_app(three, state_dir)
    assert not app.extensions["feedsvc"].keeper.reader.restored
    assert len(titles(app)) == 3


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
    read = reader_of(store, state_dir)
    assert read.scan().problems == ()
    read.save()
    restored = reader_of(store, state_dir)
    assert restored.restored

    def fields(reader: StoreReader) -> list[tuple[object, ...]]:
        return [
            (
                [getattr(a, name) for name in records.ARTICLE_FIELDS],
                [(d.isoformat(), d.fold, d.tzinfo) for d in (a.published, a.updated)],
                article_text(reader.saved.version_bytes(a), a),
            )
            for a in reader.snapshot.articles
        ]

    assert fields(restored) == fields(read)
    assert len(fields(read)) == 6


def test_a_cold_start_saves_its_records_only_after_its_first_requests(
    three: Store, state_dir: Path
) -> None:
    # Saving the records of a large store takes seconds of the interpreter the first requests
    # need: it waits first_save_delay, whatever the rescans find meanwhile.
    app = make_app(three, state_dir)
    client = app.test_client()
    for _ in range(5):  # each one rescans the store
        assert client.get("/feeds/all.atom").status_code == 200
    assert State(state_dir).files(app.extensions["feedsvc"].keeper.reader.saved.identity) == []


def test_a_service_that_answers_one_request_saves_its_state(three: Store, state_dir: Path) -> None:
    # The background work starts at the first look, not at the first look that rescans: a
    # quiet service saves what it read for the next start all the same.
    app = make_app(
        three,
        state_dir,
        RESCAN_INTERVAL=3600,
        policy=Policy(keeper=KeeperPolicy(first_save_delay=0)),
    )
    assert app.test_client().get("/feeds/all.atom").status_code == 200
    reader = app.extensions["feedsvc"].keeper.reader
    wait_for(lambda: State(state_dir).files(reader.saved.identity) != [], "a save", timeout=10)
    assert len(State(state_dir).files(reader.saved.identity) or []) == 3

"""The state database: shared by a machine's processes, safe against kill -9, and never a
reason to stop serving: a damaged or foreign database is moved aside and rebuilt."""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedsvc.model import ArticleText
from feedsvc.state import APPLICATION_ID, DATABASE_NAME, SCHEMA_VERSION, State

from .checks import check_document
from .factories import Store, make_app

MOMENT = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


def served_titles(store: Store, state_dir: Path) -> list[str]:
    body = make_app(store, state_dir).test_client().get("/feeds/all.atom").data
    return [title for _, title in check_document(body, "atom")]


def test_a_new_database_is_migrated_to_the_current_schema(state_dir: Path) -> None:
    State(state_dir)
    db = sqlite3.connect(state_dir / DATABASE_NAME)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign", "newer"])
def test_a_damaged_or_foreign_database_is_moved_aside_and_the_service_serves(
    store: Store, state_dir: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    store.add("a.md", id="a", title='"Alpha"')
    app = make_app(store, state_dir)
    app.test_client().get("/feeds/all.atom")
    app.extensions["feedsvc"].keeper.reader.save()
    del app
    path = state_dir / DATABASE_NAME
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "garbage":
        path.write_bytes(b"\x00garbage" * 1000)
    elif damage == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif damage == "foreign":  # another program's database: never changed, only moved
        path.unlink()
        other = sqlite3.connect(path)
        other.execute("CREATE TABLE accounts (name TEXT)")
        other.execute("INSERT INTO accounts VALUES ('kept')")
        other.commit()
        other.close()
    else:  # written by a newer feedsvc: left for it, not downgraded
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
        db.close()
    with caplog.at_level(logging.ERROR, logger="feedsvc.state"):
        assert served_titles(store, state_dir) == ["Alpha"]
    assert "moved aside" in caplog.text
    (aside,) = [p for p in state_dir.glob("*.broken-*") if not p.name.endswith(("-wal", "-shm"))]
    if damage == "foreign":
        assert sqlite3.connect(aside).execute("SELECT name FROM accounts").fetchall() == [("kept",)]
    # The new database works: Last-Modified is kept again.
    state = State(state_dir)
    assert state.last_modified("x", "e1", MOMENT, MOMENT) == MOMENT


def test_a_database_damaged_while_serving_is_replaced_and_serving_goes_on(
    state_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = State(state_dir)
    state.put_text("v1", "https://x/", ArticleText("<p>a</p>", "<p>a</p>", "a"))
    path = state_dir / DATABASE_NAME
    checkpoint = sqlite3.connect(path)
    checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint.close()
    with path.open("r+b") as f:  # the pages after the header, overwritten
        f.seek(100)
        f.write(b"\xff" * 8000)
    found: list[ArticleText | None] = []

    def another_thread() -> None:  # a connection of its own, opened after the damage
        found.append(state.text("v1", "https://x/"))
        state.put_text("v2", "https://x/", ArticleText("<p>b</p>", "<p>b</p>", "b"))

    with caplog.at_level(logging.ERROR, logger="feedsvc.state"):
        worker = threading.Thread(target=another_thread)
        worker.start()
        worker.join()
    text = found[0]
    assert "moved aside" in caplog.text
    assert text is None  # the new database starts empty: the text is rendered again
    assert state.text("v2", "https://x/") is not None


WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from feedsvc.state import State
state = State(Path(sys.argv[1]))
prefix = sys.argv[2]
moment = datetime(2025, 3, 10, tzinfo=UTC)
for n in range(int(sys.argv[3])):
    state.last_modified(f"{prefix}{n}", f"etag{n}", moment, moment + timedelta(seconds=n))
    state.save_outbox({f"https://x/{prefix}{n}": "e"}, [("hub", f"https://x/{prefix}{n}", n)])
    print(n, flush=True)
"""


def test_kill_9_while_writing_loses_nothing_committed(state_dir: Path) -> None:
    State(state_dir)
    for round_ in range(3):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(state_dir), f"r{round_}-", "100000"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        committed = -1
        deadline = time.monotonic() + 30
        while committed < 50 * (round_ + 1) and time.monotonic() < deadline:
            committed = int(writer.stdout.readline())
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        # Every write it reported (and perhaps one more) is there, and the database is whole.
        db = sqlite3.connect(state_dir / DATABASE_NAME)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = {n for (n,) in db.execute("SELECT name FROM last_modified")}
        assert {f"r{round_}-{n}" for n in range(committed + 1)} <= names
        db.close()
    state = State(state_dir)
    assert state.last_modified("r0-0", "etag0", MOMENT, MOMENT) == datetime(2025, 3, 10, tzinfo=UTC)


def test_two_processes_share_one_database(state_dir: Path) -> None:
    State(state_dir)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(state_dir), prefix, "200"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for prefix in ("a", "b")
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors
    state = State(state_dir)
    db = sqlite3.connect(state_dir / DATABASE_NAME)
    names = {n for (n,) in db.execute("SELECT name FROM last_modified")}
    assert names == {f"{p}{n}" for p in "ab" for n in range(200)}
    # The outbox is replaced whole by each save: one writer's last save.
    assert len(state.pending()) == 1


def test_a_text_rendered_by_one_process_is_read_by_another(store: Store, state_dir: Path) -> None:
    store.add("a.md", id="a", body="Alpha *body*.")
    first = make_app(store, state_dir)
    first.test_client().get("/feeds/all.atom")
    article = first.extensions["feedsvc"].catalog().timeline.articles[0]
    # Another process of the machine: a new State on the same folder sees the text at once.
    text = State(state_dir).text(article.version, article.link)
    assert text is not None
    assert "Alpha <em>body</em>." in text.content_html


def test_last_modified_moves_forward_only_when_the_bytes_change(state_dir: Path) -> None:
    state = State(state_dir)
    later = datetime(2025, 4, 1, 12, 0, 0, 500000, tzinfo=UTC)
    assert state.last_modified("all.rss", "e1", MOMENT, later) == MOMENT
    assert state.last_modified("all.rss", "e1", MOMENT, later) == MOMENT
    assert state.last_modified("all.rss", "e2", MOMENT, later) == datetime(
        2025, 4, 1, 12, tzinfo=UTC
    )
    # A restart (a new State) keeps it.
    assert State(state_dir).last_modified("all.rss", "e2", MOMENT, later) == datetime(
        2025, 4, 1, 12, tzinfo=UTC
    )

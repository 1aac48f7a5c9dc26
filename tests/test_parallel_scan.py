"""A large store's first scan is shared among forked processes: the snapshot is the one a
single process makes, texts included, and every rejection is reported once, by the parent."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest

from feedsvc.errors import ArticleError
from feedsvc.model import Article
from feedsvc.settings import load_settings
from feedsvc.state import State
from feedsvc.store import MAX_FILE_BYTES, ScanPolicy, StoreReader, StoreSnapshot, article_text

from .helpers import Store

# Every first scan shared, in batches of two (many batches, shared among the processes).
SHARED = ScanPolicy(parallel_scan_files=1, min_scan_batch=2, scan_processes=3)


def fill(store: Store) -> None:
    for n in range(12):
        store.add(f"{n % 3}/a{n}.md", id=f"a{n}", title=f'"Title {n}"', body=f"Body *{n}*.",
                  tags="[one, Zwei]", image=f"/media/{n}.jpg")  # fmt: skip
    store.add("dup1.md", id="same")
    store.add("dup2.md", id="same")
    store.add("bad-yaml.md", id="[oops")
    (store.root / "latin1.md").write_bytes("---\nid: x\n---\ncaf\xe9".encode("latin-1"))
    (store.root / "huge.md").write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    store.add("deep.md", id="deep", body="<div>" * 300 + "x" + "</div>" * 300)


def reader_of(store: Store, tmp_path: Path, name: str, policy: ScanPolicy | None) -> StoreReader:
    settings = load_settings({"ARTICLES_DIR": str(store.root)})
    return StoreReader(settings.articles_dir, settings.site, State(tmp_path / name), policy)


def read(
    store: Store, tmp_path: Path, name: str, policy: ScanPolicy | None = None
) -> StoreSnapshot:
    return reader_of(store, tmp_path, name, policy).scan()


def rendered(store: Store, articles: tuple[Article, ...]) -> list[object]:
    """The records with their texts (rendered from the files), or why a text fails."""
    out: list[object] = []
    for article in articles:
        try:
            out.append((article, article_text((store.root / article.path).read_bytes(), article)))
        except ArticleError as e:
            out.append((article.path, e.detail))
    return out


def counting_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the children this process forks from now on (for the test's end)."""
    forked: list[int] = []
    real_fork = os.fork

    def counted_fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counted_fork)
    return forked


def test_a_parallel_first_scan_gives_the_snapshot_one_process_gives(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fill(store)
    alone = read(store, tmp_path, "alone")
    forked = counting_forks(monkeypatch)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="feedsvc.store"):
        shared = read(store, tmp_path, "shared", SHARED)
    assert len(forked) == 2
    assert rendered(store, shared.articles) == rendered(store, alone.articles)
    assert len(shared.articles) == 13  # 12, and the "deep" one until its text is shown
    assert shared.problems == alone.problems
    logged = sorted(r.getMessage() for r in caplog.records if r.getMessage().startswith("rejected"))
    assert logged == sorted(f"rejected {p}" for p in alone.problems if "also used" not in p.reason)


def parent_waits_until_the_child_exits(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Make the parent, before its first batch, wait until its one child has exited (without
    reaping it: the scan waits for it afterwards); the list says whether it had."""
    parent = os.getpid()
    children = counting_forks(monkeypatch)
    real_read = StoreReader._read_batch
    exited: list[bool] = []

    def child_exited() -> bool:
        return os.waitid(os.P_PID, children[0], os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None

    def read_once_the_child_is_done(self: StoreReader, batch: Any) -> Any:
        if os.getpid() == parent and not exited:
            deadline = time.monotonic() + 30
            while not child_exited() and time.monotonic() < deadline:
                time.sleep(0.01)
            exited.append(child_exited())
        return real_read(self, batch)

    monkeypatch.setattr(StoreReader, "_read_batch", read_once_the_child_is_done)
    return exited


def test_a_child_never_waits_for_the_parent(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Records far larger than a pipe's buffer: a child writing them into a pipe nobody reads
    # yet would stall until the parent finished its own files, and the scan would be serial.
    for n in range(300):
        store.add(f"a{n}.md", id=f"a{n}", summary='"' + "Long summary. " * 100 + '"')
    exited = parent_waits_until_the_child_exits(monkeypatch)
    shared = read(store, tmp_path, "shared", ScanPolicy(parallel_scan_files=1, scan_processes=2))
    assert exited == [True]
    assert len(shared.articles) == 300
    assert not shared.problems


def test_the_batches_a_failed_child_took_are_read_by_the_parent(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fill(store)
    alone = read(store, tmp_path, "alone")
    exited = parent_waits_until_the_child_exits(monkeypatch)
    real_plain = StoreReader._plain
    plained: list[object] = []

    def dies_on_its_third_batch(self: StoreReader, found: Any) -> Any:
        # (Only the child makes plain records.) Two batches of one file are finished, the
        # third is taken, when the child dies.
        plained.append(found)
        if len(plained) == 3:
            os._exit(3)
        return real_plain(self, found)

    monkeypatch.setattr(StoreReader, "_plain", dies_on_its_third_batch)
    policy = ScanPolicy(parallel_scan_files=1, min_scan_batch=1, scan_processes=2)
    with caplog.at_level(logging.WARNING, logger="feedsvc.store"):
        shared = read(store, tmp_path, "shared", policy)
    assert exited == [True]
    assert rendered(store, shared.articles) == rendered(store, alone.articles)
    assert shared.problems == alone.problems
    assert "a scanning process failed (status 768)" in caplog.text
    assert "a scanning process left 1 batches unread; reading them here" in caplog.text


def test_only_the_first_scan_is_shared_later_ones_read_in_process_and_render_at_once(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = reader_of(store, tmp_path, "state", SHARED)
    assert reader.scan().articles == ()  # the first scan: an empty store
    forked = counting_forks(monkeypatch)
    store.add("good.md", id="good")
    store.add("deep.md", id="deep", body="<div>" * 300 + "x" + "</div>" * 300)
    snapshot = reader.scan()
    assert forked == []  # a serving process's threads must not meet a fork
    assert [a.id for a in snapshot.articles] == ["good"]  # the bad body reported at once
    assert [p.path for p in snapshot.problems] == ["deep.md"]

"""A large store's first scan is shared among forked processes: the snapshot is the one a
single process makes, texts included, and every rejection is reported once, by the parent."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest

from feedsvc import store as store_module
from feedsvc.model import Article, ReadyText
from feedsvc.settings import load_settings
from feedsvc.store import MAX_FILE_BYTES, StoreReader, StoreSnapshot

from .helpers import Store


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


def read(store: Store, tmp_path: Path, name: str) -> StoreSnapshot:
    settings = load_settings({"ARTICLES_DIR": str(store.root)})
    state = tmp_path / name
    state.mkdir()
    return StoreReader(settings.articles_dir, settings.site, state_folder=state).scan()


def rendered(articles: tuple[Article, ...]) -> list[object]:
    out: list[object] = []
    for article in articles:
        try:
            out.append(dataclasses.replace(article, source=ReadyText(article.source.text())))
        except store_module.TextError as e:
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
    monkeypatch.setattr(store_module, "PARALLEL_SCAN_FILES", 1)
    monkeypatch.setattr(store_module, "MIN_SCAN_BATCH", 2)  # batches of two: many, shared
    monkeypatch.setattr(store_module, "_scan_processes", lambda: 3)
    monkeypatch.setattr(store_module, "_cached", lambda full: True)  # no reading ahead
    forked = counting_forks(monkeypatch)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="feedsvc.store"):
        shared = read(store, tmp_path, "shared")
    assert len(forked) == 2
    assert rendered(shared.articles) == rendered(alone.articles)
    assert len(shared.articles) == 13  # 12, and the "deep" one until its text is shown
    assert shared.problems == alone.problems
    logged = sorted(r.getMessage() for r in caplog.records if r.getMessage().startswith("rejected"))
    assert logged == sorted(f"rejected {p}" for p in alone.problems if "also used" not in p.reason)


def parent_waits_until_the_child_exits(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Make the parent, before its first file, wait until its one child has exited (without
    reaping it: the scan waits for it afterwards); the list says whether it had."""
    parent = os.getpid()
    children = counting_forks(monkeypatch)
    real_read = StoreReader._read_fresh
    exited: list[bool] = []

    def child_exited() -> bool:
        return os.waitid(os.P_PID, children[0], os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None

    def read_once_the_child_is_done(self: StoreReader, relpath: str, full: str) -> Any:
        if os.getpid() == parent and not exited:
            deadline = time.monotonic() + 30
            while not child_exited() and time.monotonic() < deadline:
                time.sleep(0.01)
            exited.append(child_exited())
        return real_read(self, relpath, full)

    monkeypatch.setattr(StoreReader, "_read_fresh", read_once_the_child_is_done)
    monkeypatch.setattr(store_module, "_cached", lambda full: True)  # no reading ahead
    monkeypatch.setattr(store_module, "PARALLEL_SCAN_FILES", 1)
    monkeypatch.setattr(store_module, "_scan_processes", lambda: 2)
    return exited


def test_a_child_never_waits_for_the_parent(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Records far larger than a pipe's buffer: a child writing them into a pipe nobody reads
    # yet would stall until the parent finished its own files, and the scan would be serial.
    for n in range(300):
        store.add(f"a{n}.md", id=f"a{n}", summary='"' + "Long summary. " * 100 + '"')
    exited = parent_waits_until_the_child_exits(monkeypatch)
    shared = read(store, tmp_path, "shared")
    assert exited == [True]
    assert len(shared.articles) == 300
    assert not shared.problems


def test_the_batches_a_failed_child_took_are_read_by_the_parent(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fill(store)
    alone = read(store, tmp_path, "alone")
    exited = parent_waits_until_the_child_exits(monkeypatch)
    monkeypatch.setattr(store_module, "MIN_SCAN_BATCH", 1)
    real_plain = StoreReader._plain
    plained: list[str] = []

    def dies_on_its_third_file(self: StoreReader, relpath: str, entry: Any) -> Any:
        # (Only the child makes plain records.) Two batches of one file are finished, the
        # third is taken, when the child dies.
        plained.append(relpath)
        if len(plained) == 3:
            os._exit(3)
        return real_plain(self, relpath, entry)

    monkeypatch.setattr(StoreReader, "_plain", dies_on_its_third_file)
    with caplog.at_level(logging.WARNING, logger="feedsvc.store"):
        shared = read(store, tmp_path, "shared")
    assert exited == [True]
    assert rendered(shared.articles) == rendered(alone.articles)
    assert shared.problems == alone.problems
    assert "a scanning process failed (status 768)" in caplog.text
    assert "a scanning process left 1 batches unread; reading them here" in caplog.text


def test_files_not_in_the_page_cache_are_read_ahead_by_a_child_that_is_then_reaped(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(store)
    alone = read(store, tmp_path, "alone")
    monkeypatch.setattr(store_module, "PARALLEL_SCAN_FILES", 1)
    monkeypatch.setattr(store_module, "_scan_processes", lambda: 2)
    monkeypatch.setattr(store_module, "_cached", lambda full: False)  # as after a reboot
    forked = counting_forks(monkeypatch)
    shared = read(store, tmp_path, "shared")
    assert rendered(shared.articles) == rendered(alone.articles)
    assert shared.problems == alone.problems
    assert len(forked) == 2  # the reader ahead, and one scanning child
    for pid in forked:  # both reaped: no zombie left
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_the_reader_ahead_asks_for_every_file_in_order_and_only_when_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [(f"{n}.md", str(tmp_path / f"{n}.md")) for n in range(50)]
    for _, full in files:
        Path(full).write_text("x")
    monkeypatch.setattr(store_module, "_cached", lambda full: True)
    assert store_module._fork_prefetcher(files) == 0  # all in the page cache: no child
    monkeypatch.setattr(store_module, "_cached", lambda full: False)
    monkeypatch.setattr(store_module, "PREFETCH_THREADS", 1)  # one thread: in order
    noted = tmp_path / "read-ahead"
    real_read_ahead = store_module._read_ahead

    def noted_read_ahead(full: str) -> None:  # (in the child: noted in a file)
        with noted.open("a") as out:
            out.write(full + "\n")
        real_read_ahead(full)

    monkeypatch.setattr(store_module, "_read_ahead", noted_read_ahead)
    pid = store_module._fork_prefetcher(files)
    assert pid
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert noted.read_text().splitlines() == [full for _, full in files]


def test_the_page_cache_is_asked_without_reading_the_disk(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(b"x" * 8192)
    assert store_module._cached(str(path))  # just written: in the page cache
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # clean pages: dropped, mostly
    finally:
        os.close(fd)
    # Asked once only: a read that misses may start reading the file in (RWF_NOWAIT only
    # refuses to wait for it).
    if store_module._cached(str(path)):
        pytest.skip("this file system kept the pages, or cannot tell (RWF_NOWAIT)")


def test_only_the_first_scan_is_shared_later_ones_read_in_process_and_render_at_once(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings({"ARTICLES_DIR": str(store.root)})
    state = tmp_path / "state"
    state.mkdir()
    reader = StoreReader(settings.articles_dir, settings.site, state_folder=state)
    assert reader.scan().articles == ()  # the first scan: an empty store
    monkeypatch.setattr(store_module, "PARALLEL_SCAN_FILES", 1)
    monkeypatch.setattr(store_module, "_scan_processes", lambda: 2)
    forked = counting_forks(monkeypatch)
    store.add("good.md", id="good")
    store.add("deep.md", id="deep", body="<div>" * 300 + "x" + "</div>" * 300)
    snapshot = reader.scan()
    assert forked == []  # a serving process's threads must not meet a fork
    assert [a.id for a in snapshot.articles] == ["good"]  # the bad body reported at once
    assert [p.path for p in snapshot.problems] == ["deep.md"]

"""Between full sweeps, the store reader looks only at the files inotify names."""

from __future__ import annotations

import errno
import gc
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from feedsvc.store import files as files_module
from feedsvc.store import reader as reader_module
from feedsvc.store import sweeps as sweeps_module
from feedsvc.store.reader import StoreReader
from feedsvc.store.sweeps import ScanPolicy
from feedsvc.store.watch import Changes, TreeWatch

from .factories import Store, store_reader


def reader_of(store: Store, policy: ScanPolicy | None = None) -> StoreReader:
    return store_reader(store.root, policy)


class Listings:
    """Counts full listings of the store (the sweep), the cost the watch saves."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = files_module.list_store

        def counted(root: Path) -> tuple[list[tuple[str, str]], dict[str, str]]:
            self.count += 1
            return real(root)

        monkeypatch.setattr(reader_module, "list_store", counted)


def ids(reader: StoreReader) -> list[str]:
    return [a.id for a in reader.scan().articles]


def test_an_idle_check_lists_nothing_and_changes_are_seen_without_a_sweep(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add("2025/a.md", id="a", title='"A"')
    reader = reader_of(store)
    listings = Listings(monkeypatch)
    first = reader.scan()
    assert listings.count == 1
    assert reader.scan() is first  # idle: same snapshot, no listing
    assert listings.count == 1

    store.add("2025/b.md", id="b")  # a new file
    assert ids(reader) == ["a", "b"]
    path = store.root / "2025/a.md"
    store.write(path, path.read_text().replace('"A"', '"A, edited"'))  # an edit
    assert [a.title for a in reader.scan().articles if a.id == "a"] == ["A, edited"]
    (store.root / "2025/b.md").unlink()  # a deletion
    assert ids(reader) == ["a"]
    os.rename(store.root / "2025/a.md", store.root / "2025/c.md")  # a rename
    assert [a.path for a in reader.scan().articles] == ["2025/c.md"]
    assert listings.count == 1


def test_a_new_folder_or_a_moved_one_makes_a_sweep(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add("a.md", id="a")
    reader = reader_of(store)
    listings = Listings(monkeypatch)
    reader.scan()
    store.add("2026/01/b.md", id="b")  # a folder, and a file in it created at once
    assert ids(reader) == ["a", "b"]
    assert listings.count == 2
    # The new folder is watched from then on.
    store.add("2026/01/c.md", id="c")
    assert ids(reader) == ["a", "b", "c"]
    assert listings.count == 2
    os.rename(store.root / "2026", store.root / "archive")
    assert [a.path for a in reader.scan().articles] == [
        "a.md",
        "archive/01/b.md",
        "archive/01/c.md",
    ]


def test_a_full_sweep_still_comes_now_and_then(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add("a.md", id="a")
    reader = reader_of(store)
    listings = Listings(monkeypatch)
    reader.scan()
    reader.sweeps.policy = replace(reader.sweeps.policy, full_sweep_interval=0.0)
    reader.scan()
    assert listings.count == 2


def test_without_inotify_every_check_sweeps(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(root: Path) -> TreeWatch:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(sweeps_module, "TreeWatch", refuse)
    store.add("a.md", id="a")
    reader = reader_of(store, ScanPolicy(sweep_spacing=0.0))
    listings = Listings(monkeypatch)
    reader.scan()
    store.add("b.md", id="b")
    assert ids(reader) == ["a", "b"]
    assert listings.count == 2


def test_without_inotify_sweeps_are_spaced_by_their_cost(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(root: Path) -> TreeWatch:
        raise OSError(28, "No space left on device")  # inotify's answer at max_user_watches

    monkeypatch.setattr(sweeps_module, "TreeWatch", refuse)
    store.add("a.md", id="a")
    reader = reader_of(store)
    listings = Listings(monkeypatch)
    reader.scan()
    reader.scan()  # measures what a sweep that reads nothing costs
    assert listings.count == 2
    # Some multiple of that cost must pass between two sweeps (here: an hour).
    reader.sweeps.policy = replace(
        reader.sweeps.policy,
        sweep_spacing=3600 / max(reader.sweeps.sweep_seconds, 1e-9),
        max_sweep_spacing=3600.0,
        cheap_sweep=0.0,  # as if this store were large
    )
    store.add("b.md", id="b")
    assert ids(reader) == ["a"]
    assert listings.count == 2
    reader.sweeps.policy = replace(reader.sweeps.policy, max_sweep_spacing=0.0)
    assert ids(reader) == ["a", "b"]
    assert listings.count == 3


def test_hidden_files_and_other_names_are_not_changes(store: Store) -> None:
    store.add("a.md", id="a")
    watch = TreeWatch(store.root)
    try:
        (store.root / ".a.md.swp").write_text("editor state")
        (store.root / "notes.txt").write_text("not an article")
        assert watch.changes().paths == set()
        (store.root / "a.md").touch()
        assert watch.changes().paths == {"a.md"}
    finally:
        watch.close()


def test_a_name_that_is_not_utf8_is_named_as_the_file_system_decodes_it(store: Store) -> None:
    watch = TreeWatch(store.root)
    try:
        with open(os.path.join(os.fsencode(store.root), b"caf\xe9.md"), "wb") as file:  # Latin-1
            file.write(b"raw")
        (path,) = watch.changes().paths
        assert path == os.fsdecode(b"caf\xe9.md")
        assert (store.root / path).read_bytes() == b"raw"  # the name opens the file
    finally:
        watch.close()


def test_a_folder_that_comes_or_goes_means_everything(store: Store) -> None:
    watch = TreeWatch(store.root)
    try:
        (store.root / "2026").mkdir()
        assert watch.changes().everything
        watch.watch_tree()
        store.add("2026/a.md", id="a")
        assert watch.changes() == Changes({"2026/a.md"})
        (store.root / "2026/a.md").unlink()
        (store.root / "2026").rmdir()
        assert watch.changes().everything
        assert watch.changes() == Changes()
    finally:
        watch.close()


def test_hidden_folders_and_linked_folders_are_not_watched(store: Store, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, store.root / "linked")
    (store.root / ".git").mkdir()
    watch = TreeWatch(store.root)
    try:
        (store.root / "linked/a.md").write_text("through the link")
        (store.root / ".git/b.md").write_text("hidden")
        assert watch.changes() == Changes()
    finally:
        watch.close()


def test_a_folder_inotify_refuses_is_named(store: Store) -> None:
    # Folders nested past PATH_MAX (4096 bytes): inotify refuses the deepest (ENAMETOOLONG).
    folder = os.open(store.root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(24):
        os.mkdir("d" * 200, dir_fd=folder)
        inner = os.open("d" * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=folder)
        os.close(folder)
        folder = inner
    os.close(folder)
    with pytest.raises(OSError, match="d/d") as refused:
        TreeWatch(store.root)
    assert refused.value.errno == errno.ENAMETOOLONG
    named = store.root / refused.value.filename  # relative to the root
    assert len(os.fsencode(named)) >= 4096 > len(os.fsencode(named.parent))


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_watch_closed_or_dropped_closes_its_descriptor(store: Store) -> None:
    gc.collect()  # what earlier tests left to the collector
    before = open_descriptors()
    watch = TreeWatch(store.root)
    assert open_descriptors() == before + 1
    watch.close()
    watch.close()  # twice is harmless
    assert open_descriptors() == before
    dropped = TreeWatch(store.root)
    del dropped
    gc.collect()  # no ResourceWarning either (an error here: filterwarnings)
    assert open_descriptors() == before


def test_a_forked_worker_watches_for_itself(store: Store) -> None:
    store.add("a.md", id="a")
    reader = reader_of(store)
    reader.scan()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child, as a gunicorn worker after preload_app
        try:
            reader.scan()  # its own watch
            store.add("b.md", id="b")
            found = ids(reader)
            os.write(write, ",".join(found).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child_saw = pipe.read()
    os.waitpid(pid, 0)
    assert child_saw == "a,b"
    # The parent's watch saw the same change on its own descriptor.
    assert ids(reader) == ["a", "b"]


EXIT_WHILE_WATCHING = """
import sys, threading
from pathlib import Path
from feedsvc.store.watch import TreeWatch
watch = TreeWatch(Path(sys.argv[1]))
started = threading.Event()
def keep_watching():
    while True:
        started.set()
        watch.watch_tree()
        watch.changes()
threading.Thread(target=keep_watching, daemon=True).start()
started.wait()
"""


def test_a_watch_still_in_use_at_exit_is_not_closed_under_its_thread(tmp_path: Path) -> None:
    # The keeper's daemon thread may be watching when the interpreter exits; closing the
    # descriptor under it made every such exit log a traceback.
    (tmp_path / "a" / "b").mkdir(parents=True)
    run = subprocess.run(
        [sys.executable, "-c", EXIT_WHILE_WATCHING, str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (run.returncode, run.stderr) == (0, "")

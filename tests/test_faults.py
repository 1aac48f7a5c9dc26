"""Faults in the store: half-written saves, a vanished or unmounted folder, odd files, links,
files changing while read, huge folders, names that are not UTF-8. Each is reported clearly and
nothing else is affected; nothing an article had is lost while its file is broken."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from feedsvc.model import FEED_FORMATS
from feedsvc.store import files as files_module
from feedsvc.store import reader as reader_module
from feedsvc.store.reader import StoreReader

from .checks import check_document
from .factories import Store, make_app, store_reader, text_of

REPO = Path(__file__).resolve().parent.parent


def reader(store: Store) -> StoreReader:
    return store_reader(store.root)


def titles(client: FlaskClient, fmt: str = "atom") -> list[str]:
    response = client.get(f"/feeds/all.{fmt}")
    assert response.status_code == 200
    return [title for _, title in check_document(response.data, fmt)]


def health(client: FlaskClient) -> tuple[int, dict[str, object]]:
    response = client.get("/healthz")
    data: dict[str, object] = json.loads(response.data)
    return response.status_code, data


def check_command(store_root: Path) -> tuple[int, str]:
    """``feedsvc check`` as a user runs it, in a process of its own (real stdout encoding)."""
    done = subprocess.run(
        [sys.executable, "-m", "feedsvc.cli", "check", str(store_root)],
        capture_output=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout.decode("utf-8") + done.stderr.decode("utf-8")


# --- a file truncated or half-written mid-save --------------------------------------------


def test_a_half_written_save_keeps_the_last_good_version_in_every_feed(
    store: Store, state_dir: Path
) -> None:
    path = store.add("a.md", id="a", title='"Good version"', body="Whole body, café. " * 50)
    store.add("b.md", id="b", title='"Other"')
    client = make_app(store, state_dir).test_client()
    whole = path.read_bytes()
    # A save cut short inside the front matter, inside a UTF-8 sequence, or before anything.
    # (One cut between two words of the body is a shorter article: nothing can tell them apart.)
    for cut in (10, whole.index("é".encode()) + 1, 0):
        store.write(path, whole[:cut])
        for fmt in FEED_FORMATS:
            assert sorted(titles(client, fmt)) == ["Good version", "Other"], (cut, fmt)
        code, output = check_command(store.root)
        assert code == 1
        assert output.splitlines()[0].startswith("a.md: ")
        status, state = health(client)
        assert (status, state["files_rejected"], state["articles_served"]) == (200, 1, 2)
    store.write(path, whole.replace(b"Good version", b"Fixed version"))
    for fmt in FEED_FORMATS:
        assert sorted(titles(client, fmt)) == ["Fixed version", "Other"]
    assert health(client)[1]["files_rejected"] == 0


# --- the store folder vanishing, unmounted or unreadable ----------------------------------


def _vanish(root: Path, aside: Path) -> None:
    os.rename(root, aside)


def _unmount(root: Path, aside: Path) -> None:
    # What an unmounted volume leaves: the mount point, an empty folder.
    shutil.copytree(root, aside)
    shutil.rmtree(root)
    root.mkdir()


def _remount(root: Path, aside: Path) -> None:
    if root.exists():
        root.rmdir()
    os.rename(aside, root)


@pytest.mark.parametrize("fault", [_vanish, _unmount], ids=["vanished", "unmounted"])
def test_a_lost_store_never_empties_the_feeds_and_service_recovers(
    store: Store,
    state_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    fault: object,
) -> None:
    caplog.set_level(logging.INFO, logger="feedsvc.store")
    store.add("a.md", id="a", title='"Kept"')
    client = make_app(store, state_dir).test_client()
    before = {fmt: client.get(f"/feeds/all.{fmt}").data for fmt in FEED_FORMATS}
    assert health(client)[0] == 200
    aside = tmp_path / "aside"
    assert callable(fault)
    fault(store.root, aside)
    for fmt in FEED_FORMATS:
        assert client.get(f"/feeds/all.{fmt}").data == before[fmt]
    status, state = health(client)
    assert status == 503
    assert state["status"] == "stale"
    assert state["articles_served"] == 1
    assert "ARTICLE STORE UNAVAILABLE" in caplog.text
    assert any(r.levelno == logging.ERROR for r in caplog.records)

    _remount(store.root, aside)
    store.add("b.md", id="b", title='"Added after the return"')
    assert sorted(titles(client)) == ["Added after the return", "Kept"]
    assert health(client)[0] == 200
    assert "readable again" in caplog.text


def test_deleting_articles_one_by_one_still_removes_them(store: Store, state_dir: Path) -> None:
    paths = [store.add(f"{n}.md", id=f"a{n}", title=f'"T{n}"') for n in range(3)]
    client = make_app(store, state_dir).test_client()
    for n, path in enumerate(paths):
        path.unlink()
        for fmt in FEED_FORMATS:
            assert sorted(titles(client, fmt)) == [f"T{m}" for m in range(n + 1, 3)]
        assert health(client)[0] == 200


# Run in a process without the capabilities that let root read anything (CAP_DAC_OVERRIDE,
# CAP_DAC_READ_SEARCH), so that file permissions apply as they do to the service's own user.
_UNPRIVILEGED_SCENARIO = """
import json, os, sys
from pathlib import Path
from feedsvc.settings import load_settings
from feedsvc.state import State
from feedsvc.store.reader import StoreReader

root = Path(sys.argv[1])
settings = load_settings({"ARTICLES_DIR": str(root)})
reader = StoreReader(settings.articles_dir, settings.site, State(root.parent / "reader-state"))
def state():
    snapshot = reader.scan()
    return {"ids": [a.id for a in snapshot.articles],
            "problems": {p.path: p.reason for p in snapshot.problems},
            "unavailable": reader.unavailable}
out = {"start": state()}
os.chmod(root / "secret.md", 0)
os.chmod(root / "sub", 0)
out["denied"] = state()
os.chmod(root, 0)
out["root denied"] = state()
os.chmod(root, 0o755)
os.chmod(root / "sub", 0o755)
os.chmod(root / "secret.md", 0o644)
out["restored"] = state()
print(json.dumps(out))
"""


def _unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]


def test_permission_denied_files_folders_and_store(store: Store) -> None:
    store.add("secret.md", id="secret", title='"Readable at first"')
    store.add("sub/inner.md", id="inner")
    store.add("open.md", id="open")
    done = subprocess.run(
        [*_unprivileged(), sys.executable, "-c", _UNPRIVILEGED_SCENARIO, str(store.root)],
        capture_output=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    out = json.loads(done.stdout)
    assert out["start"]["ids"] == ["inner", "open", "secret"]
    # The unreadable file keeps its last good version; the unlistable folder keeps its articles.
    assert out["denied"]["ids"] == ["inner", "open", "secret"]
    assert out["denied"]["problems"] == {
        "secret.md": "cannot be read: Permission denied (its last good version is still served)",
        "sub": "folder cannot be listed (Permission denied); its articles are kept",
    }
    assert out["denied"]["unavailable"] is None
    assert out["root denied"]["ids"] == ["inner", "open", "secret"]
    assert out["root denied"]["unavailable"] == "Permission denied"
    assert out["restored"] == out["start"]


# --- odd files ----------------------------------------------------------------------------


def test_links_are_followed_only_inside_the_store(store: Store, tmp_path: Path) -> None:
    store.add("good.md", id="good")
    outside = Store(tmp_path / "elsewhere")
    secret = outside.add("secret.md", id="secret", title='"Never to be published"')
    os.symlink(secret, store.root / "out.md")
    os.symlink(store.root / "loop-a.md", store.root / "loop-b.md")
    os.symlink(store.root / "loop-b.md", store.root / "loop-a.md")
    os.symlink("self.md", store.root / "self.md")
    os.symlink(outside.root, store.root / "linked-folder")
    target = store.add("real/inside.md", id="inside")
    os.symlink(target, store.root / "alias-folder-name.md")
    snapshot = reader(store).scan()
    reasons = {p.path: p.reason for p in snapshot.problems}
    assert reasons.pop("out.md") == "a symbolic link to a file outside the store (not followed)"
    for name in ("loop-a.md", "loop-b.md", "self.md"):
        assert reasons.pop(name) == "a symbolic link in a loop"
    assert reasons.pop("linked-folder") == "a symbolic link to a folder (not followed)"
    # A link inside the store is read, and then two files claim one id: both are named.
    assert "is also used by real/inside.md" in reasons.pop("alias-folder-name.md")
    assert "is also used by alias-folder-name.md" in reasons.pop("real/inside.md")
    assert reasons == {}
    assert [a.id for a in snapshot.articles] == ["good"]


def test_fifos_devices_and_sockets_are_reported_without_blocking(store: Store) -> None:
    path = store.add("was-a-file.md", id="kept", title='"Kept"')
    store.add("good.md", id="good")
    scanner = reader(store)
    assert [a.id for a in scanner.scan().articles] == ["good", "kept"]
    path.unlink()
    os.mkfifo(path)  # replaced by a FIFO: opening it would wait for a writer forever
    os.mkfifo(store.root / "pipe.md")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(store.root / "socket.md"))
        expected = {
            "was-a-file.md": "not a regular file (a FIFO) (its last good version is still served)",
            "pipe.md": "not a regular file (a FIFO)",
            "socket.md": "not a regular file (a socket)",
        }
        try:
            os.mknod(store.root / "device.md", 0o600 | 0o020000, os.makedev(1, 3))  # /dev/null
            expected["device.md"] = "not a regular file (a device)"
        except PermissionError:
            pass  # not allowed to make devices here: the other kinds still are checked
        snapshot = scanner.scan()
    assert {p.path: p.reason for p in snapshot.problems} == expected
    assert [a.id for a in snapshot.articles] == ["good", "kept"]


def test_a_file_changing_while_read_is_never_served_half_old_half_new(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store.add("a.md", id="a", title='"Version 1"', body="Body one.")
    scanner = reader(store)
    assert [a.title for a in scanner.scan().articles] == ["Version 1"]
    store.write(path, path.read_text().replace("Version 1", "Version 2"))
    real_read = files_module.read_regular_file

    def concurrent_editor(full: str) -> tuple[bytes, str]:
        # Between the scanner's stat and its read, an editor saves again, in two steps: what
        # is read is a mix (the new title over the old body) that would parse as an article.
        text = path.read_text()
        os.truncate(path, 0)
        path.write_text(text.replace("Version 2", "Version 3"))
        try:
            return real_read(full)
        finally:
            path.write_text(text.replace("Version 2", "Version 3").replace("one", "three"))

    monkeypatch.setattr(reader_module, "read_regular_file", concurrent_editor)
    snapshot = scanner.scan()
    assert [a.title for a in snapshot.articles] == ["Version 1"]
    assert snapshot.problems[0].reason.startswith("changed while it was read")
    monkeypatch.undo()
    snapshot = scanner.scan()  # read again although the stamp seen last time was not stored
    assert [(a.title, text_of(scanner, a).content_html) for a in snapshot.articles] == [
        ("Version 3", "<p>Body three.</p>")
    ]
    assert snapshot.problems == ()


def test_a_hundred_thousand_files_in_one_folder(
    store: Store, state_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = store.root / "dump"
    folder.mkdir()
    for n in range(100_000):  # what a runaway export leaves: empty files
        os.close(os.open(folder / f"{n:06d}.md", os.O_CREAT | os.O_WRONLY, 0o644))
    store.add("good.md", id="good", title='"Still served"')
    caplog.set_level(logging.WARNING, logger="feedsvc.store")
    client = make_app(store, state_dir).test_client()
    assert titles(client) == ["Still served"]
    status, state = health(client)
    assert (status, state["files_rejected"], state["articles_served"]) == (200, 100_000, 1)
    # One line each for the first few, then one summary line: the log is not flooded.
    rejected_lines = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(rejected_lines) == reader_module.MAX_LOGGED_REJECTIONS + 1
    assert rejected_lines[-1] == (
        f"rejected {100_000 - reader_module.MAX_LOGGED_REJECTIONS} more files; "
        "`feedsvc check` lists them all"
    )
    shutil.rmtree(folder)
    assert health(client)[1]["files_rejected"] == 0


def test_names_that_are_not_utf8_are_reported_readably(store: Store, state_dir: Path) -> None:
    store.add("good.md", id="good")
    root = os.fsencode(store.root)
    text = (store.root / "good.md").read_bytes().replace(b"id: good", b"id: latin")
    with open(os.path.join(root, b"caf\xe9.md"), "wb") as f:
        f.write(text)
    os.mkdir(os.path.join(root, b"d\xfcr"))
    with open(os.path.join(root, b"d\xfcr", b"x.md"), "wb") as f:
        f.write(text.replace(b"id: latin", b"id: inner"))
    (store.root / "line\nbreak.md").write_bytes(text.replace(b"id: latin", b"id: newline"))
    client = make_app(store, state_dir).test_client()
    assert len(titles(client)) == 2  # good and the newline one: a strange but UTF-8 name
    code, output = check_command(store.root)
    assert code == 1
    assert output.splitlines() == [
        "caf\\xe9.md: its path is not valid UTF-8: rename it",
        "d\\xfcr/x.md: its path is not valid UTF-8: rename it",
        "2 articles valid, 2 files rejected",
    ]

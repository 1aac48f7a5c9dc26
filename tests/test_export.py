"""``feedsvc build``: the static export, served by nginx from Debian, against the service."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from werkzeug.test import Client

from feedsvc.cli import main
from feedsvc.export import SNIPPET_NAME, build
from feedsvc.settings import load_settings

from .checks import check_document, parse_xml
from .factories import Clock, Store, make_app
from .servers import NGINX, fetch, free_port, requires_nginx, stop_process, wait_until_listening

needs_nginx = requires_nginx()

BASE = "https://news.example.com"
GZIP = {"Accept-Encoding": "gzip"}
# A feed address in an XML attribute or a JSON Feed's next_url.


@pytest.fixture
def filled(store: Store) -> Store:
    store.add(id="a", title="Chips", tags="[芯片, Research]", author='"Jürgen Müller"',
              published="2025-03-01 10:00")  # fmt: skip
    store.add(id="b", title="Strom", language="de", category="energy",
              published="2025-04-02 10:00")  # fmt: skip
    store.add(id="c", title="Film", category="culture", published="2025-05-20 10:00")
    # Never exported: a draft, and an article due after the build's moment.
    store.add(id="draft-x", title="Draft Secret", tags="[drafttag]", draft="true")
    store.add(id="future-x", title="Future Secret", tags="[futuretag]",
              published="2025-07-01 10:00")  # fmt: skip
    return store


def export(store: Store, out: Path, clock: Clock, state_dir: Path | None = None) -> int:
    settings = load_settings({"ARTICLES_DIR": str(store.root)})
    return build(settings, out, now=clock.now, state_dir=state_dir)


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below ``root``: its bytes and mtime."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def documents(root: Path) -> list[str]:
    """The exported documents (not their .gz copies, not the snippet), as URL paths."""
    paths = []
    for name in tree(root):
        if name.endswith(".gz") or name == SNIPPET_NAME:
            continue
        paths.append("/" if name == "index.html" else "/" + quote(name))
    return paths


def local(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE) :]


@contextmanager
def static_nginx(folder: Path, root: Path) -> Iterator[str]:
    """Debian's nginx serving ``root`` with the export's snippet, on 127.0.0.1; always stopped."""
    assert NGINX is not None
    folder.mkdir()
    port = free_port()
    temp_paths = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"""daemon off;
{user}worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} notice;
events {{
    worker_connections 64;
}}
http {{
{temp_paths}
    access_log off;
    gzip on;  # as in Debian's nginx.conf: the snippet must turn it off for its documents
    server {{
        listen 127.0.0.1:{port};
        root {root};
        include {root / SNIPPET_NAME};
    }}
}}
""",
        "utf-8",
    )
    command = [NGINX, "-p", f"{folder}/", "-c", str(folder / "nginx.conf"), "-e", "stderr"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_listening(port, process, "nginx")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


@needs_nginx
def test_nginx_serves_the_export_byte_for_byte_as_the_service(
    filled: Store, tmp_path: Path, clock: Clock
) -> None:
    out = tmp_path / "out"
    count = export(filled, out, clock)
    paths = documents(out)
    assert len(paths) == count
    app = make_app(filled, tmp_path / "state", clock)
    service = Client(app)
    with static_nginx(tmp_path / "nginx", out) as static:
        for path in paths:
            for headers in ({}, GZIP):
                expected = service.get(path, headers=headers)
                status, got, body = fetch(f"{static}{path}", headers)
                assert (status, expected.status_code) == (200, 200), path
                assert body == expected.get_data(), (path, headers)
                assert got["Content-Type"] == expected.headers["Content-Type"], path
                assert got["Last-Modified"] == expected.headers["Last-Modified"], path
                assert got.get("Content-Encoding") == expected.headers.get("Content-Encoding")
                assert "Accept-Encoding" in got["Vary"]
                if path.startswith("/feeds"):
                    assert got["Access-Control-Allow-Origin"] == "*"
        # Percent-encoded non-ASCII slugs reach the file written under the decoded name.
        assert "/feeds/tag/%E8%8A%AF%E7%89%87.atom" in paths
        # The WordPress addresses redirect as the service does.
        for alias in ("/feed/", "/feed/atom/", "/feed", "/category/energy/feed/",
                      "/tag/%E8%8A%AF%E7%89%87/feed/atom/", "/author/jurgen-muller/feed/",
                      "/?feed=rss2", "/?feed=atom"):  # fmt: skip
            status, got, _ = fetch(f"{static}{alias}")
            expected = service.get(alias)
            assert (status, expected.status_code) == (301, 301), alias
            assert got["Location"] == expected.headers["Location"], alias
        # Not exported, not redirected: what the service does not have either.
        for missing in ("/feeds/tag/futuretag.rss", "/feeds/tag/drafttag.rss",
                        "/category/sports/feed/", f"/{SNIPPET_NAME}"):  # fmt: skip
            assert fetch(f"{static}{missing}")[0] == 404, missing
            assert service.get(missing).status_code == 404, missing


def test_the_export_is_complete_and_holds_only_published_articles(
    filled: Store, tmp_path: Path, clock: Clock
) -> None:
    out = tmp_path / "out"
    export(filled, out, clock)
    files = tree(out)
    paths = set(documents(out))
    # Every feed the home page and the OPML list name, and every archive link in every
    # document (RFC 5005 prev/next/current, JSON next_url), is in the export.
    index = files["index.html"][0].decode()
    named = {local(url) for url in re.findall(r'href="([^"]+)"', index) if url.startswith(BASE)}
    opml = parse_xml(files["feeds.opml"][0])
    named |= {local(url) for o in opml.iter("outline") if (url := o.get("xmlUrl")) is not None}
    assert named - {"/"} <= paths
    for path in [p for p in paths if p.startswith("/feeds/")]:
        fmt = path.rsplit(".", 1)[1]
        body = files[unquote(path[1:])][0]
        ids = [guid for guid, _ in check_document(body, fmt)]
        assert not any("secret" in guid or guid.endswith(("draft-x", "future-x")) for guid in ids)
        linked = re.findall(
            rb'(?:href="|"next_url":")(https://news\.example\.com/feeds/[^"]+)', body
        )
        assert {local(url.decode()) for url in linked} <= paths, path
    # Neither the draft nor the future article appears anywhere, in any form.
    for name, (body, _) in files.items():
        for secret in (b"Draft Secret", b"Future Secret", b"draft-x", b"future-x"):
            assert secret not in body, name
        if name.endswith(".gz"):
            assert gzip.decompress(body) == files[name[:-3]][0]
    assert "feeds/tag/futuretag.rss" not in files
    assert "feeds/tag/drafttag.rss" not in files


def test_two_builds_give_identical_trees(filled: Store, tmp_path: Path, clock: Clock) -> None:
    export(filled, tmp_path / "one", clock)
    export(filled, tmp_path / "two", clock)
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
    # Rebuilding into the same folder replaces it: the feeds of a deleted article go away.
    (filled.root / "article-3.md").unlink()  # the only "culture" article
    export(filled, tmp_path / "one", clock)
    assert not (tmp_path / "one" / "feeds" / "culture.rss").exists()
    assert (tmp_path / "one" / "feeds" / "energy.rss").exists()


def test_a_state_folder_moves_last_modified_forward_when_bytes_change(
    filled: Store, tmp_path: Path, clock: Clock
) -> None:
    state = tmp_path / "state"
    export(filled, tmp_path / "out", clock, state)
    before = (tmp_path / "out" / "feeds" / "all.rss").stat().st_mtime_ns
    # Deleting an article that is not the newest changes the bytes, not the newest date.
    (filled.root / "article-1.md").unlink()
    clock.advance(hours=1)
    export(filled, tmp_path / "out", clock, state)
    after = (tmp_path / "out" / "feeds" / "all.rss").stat().st_mtime_ns
    assert after > before


def test_build_command_refuses_a_folder_that_is_not_an_export(
    filled: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    assert main(["build", str(taken), "--store", str(filled.root)]) == 2
    assert "holds no earlier export" in capsys.readouterr().err
    assert (taken / "keep.txt").read_text() == "mine"
    out = tmp_path / "site"
    assert main(["build", str(out), "--store", str(filled.root), "--no-gzip"]) == 0
    assert "documents written to" in capsys.readouterr().out
    assert (out / "feeds" / "all.rss").is_file()
    assert not (out / "feeds" / "all.rss.gz").exists()
    assert oct((out).stat().st_mode & 0o777) == oct(0o755)

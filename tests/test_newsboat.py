"""A real feed reader: newsboat (Debian package, installed by .ci/run) reading us over HTTP."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .factories import Store, make_app
from .servers import StatusLog, serving

NEWSBOAT = shutil.which("newsboat")
if NEWSBOAT is None and os.environ.get("CI"):
    pytest.fail("newsboat is not installed: .ci/run installs it", pytrace=False)
pytestmark = pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed")


class Reader:
    """One newsboat profile subscribed to one URL."""

    def __init__(self, home: Path, url: str) -> None:
        self.home = home
        home.mkdir()
        (home / "urls").write_text(url + "\n")
        (home / "config").write_text("")
        self.cache = home / "cache.db"

    def reload(self) -> None:
        assert NEWSBOAT is not None
        subprocess.run(
            [NEWSBOAT, "-u", "urls", "-C", "config", "-c", "cache.db", "-x", "reload"],
            cwd=self.home,
            env={**os.environ, "HOME": str(self.home)},
            check=True,
            timeout=60,
            capture_output=True,
        )

    def items(self) -> dict[str, str]:
        """guid -> title of everything newsboat has stored."""
        with sqlite3.connect(self.cache) as db:
            return dict(db.execute("select guid, title from rss_item"))


@pytest.fixture
def served(store: Store, state_dir: Path) -> Iterator[tuple[str, StatusLog]]:
    store.add("a.md", id="a", title="First", published="2025-03-01 10:00")
    store.add("b.md", id="b", title="Second", published="2025-03-02 10:00")
    app = StatusLog(make_app(store, state_dir))
    with serving(app) as base:
        yield base, app


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_newsboat_reads_every_item_and_an_edit_makes_no_duplicate(
    served: tuple[str, StatusLog], store: Store, tmp_path: Path, fmt: str
) -> None:
    base, log = served
    reader = Reader(tmp_path / "newsboat", f"{base}/feeds/all.{fmt}")
    reader.reload()
    guid_a = "tag:news.example.com,2025-01-01:a"
    assert reader.items() == {guid_a: "First", "tag:news.example.com,2025-01-01:b": "Second"}

    # newsboat 2.21 stores the validators on its second fetch and sends them from the third.
    reader.reload()
    reader.reload()
    assert log.codes[-1] == 304  # our validators came back: nothing was sent again

    # Title, slug, body and path change: the reader updates the item, no duplicate appears.
    (store.root / "a.md").unlink()
    store.add("moved/elsewhere.md", id="a", title="First, corrected", slug="new", body="New.")
    reader.reload()
    assert log.codes[-1] == 200
    items = reader.items()
    assert len(items) == 2
    assert items[guid_a] == "First, corrected"

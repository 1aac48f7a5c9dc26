"""The home page in a real browser: Debian's Chromium, headless, renders it with its feed list,
OPML link and autodiscovery links, and takes a screenshot."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from .factories import Store, make_app
from .servers import serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI"):
    pytest.fail("chromium is not installed: .ci/run installs it", pytrace=False)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

# No sandbox (CI runs as root); no background connections (this machine has no network).
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
)  # fmt: skip


def chromium(profile: Path, *arguments: str) -> str:
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    return result.stdout


@pytest.fixture
def home_page(store: Store, state_dir: Path) -> Iterator[str]:
    store.add(id="a", tags="[chips]", author='"Ann Lee"')
    store.add(id="b", language="de", category="energy", tags="[Gas]")
    with serving(make_app(store, state_dir)) as base:
        yield f"{base}/"


def test_chromium_renders_the_home_page_with_every_feed(home_page: str, tmp_path: Path) -> None:
    dom = chromium(tmp_path / "profile", "--dump-dom", home_page)
    page = etree.fromstring(dom.encode(), etree.HTMLParser())
    head = page.find("head")
    assert head is not None
    discovery = {
        (link.get("type"), link.get("href"))
        for link in head.iter("link")
        if link.get("rel") == "alternate"
    }
    assert discovery == {
        ("application/rss+xml", "https://news.example.com/feeds/all.rss"),
        ("application/atom+xml", "https://news.example.com/feeds/all.atom"),
        ("application/feed+json", "https://news.example.com/feeds/all.json"),
    }
    assert page.findtext(".//title") == "Test Wire: feeds"
    opml = page.find(".//a[@id='opml']")
    assert opml is not None
    assert opml.get("href") == "https://news.example.com/feeds.opml"
    sections = [s.get("id") for s in page.iter("section")]
    assert sections == ["site", "category", "lang", "author", "tag"]
    links = {a.get("href") for a in page.iter("a")}
    assert "https://news.example.com/feeds/tag/gas.json" in links
    assert "https://news.example.com/feeds/author/ann-lee.atom" in links

    screenshot = tmp_path / "home.png"
    chromium(
        tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1024,900", home_page
    )
    with Image.open(screenshot) as image:
        assert image.size == (1024, 900)
        # Rendered text, not a blank or error page: many shades, dark ink on a light ground.
        histogram = image.convert("L").histogram()
        shades = [shade for shade, count in enumerate(histogram) if count]
        assert len(shades) > 20
        assert min(shades) < 80
        assert histogram.index(max(histogram)) > 200  # mostly light

"""Inputs for tests: article stores in a folder, apps over them, a clock moved by hand, and
sites, articles and feed documents built in memory for the pure layers."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from feedsvc import create_app
from feedsvc.catalog import Catalog, FeedDocument
from feedsvc.keeper import KeeperPolicy
from feedsvc.model import Article, ArticleText, Month, Site, parse_feed_path
from feedsvc.render import render_feed
from feedsvc.service import Policy
from feedsvc.settings import build_site, load_settings
from feedsvc.state import State
from feedsvc.store.parse import article_text, parse_article
from feedsvc.store.reader import StoreReader
from feedsvc.store.sweeps import ScanPolicy
from feedsvc.timeline import Timeline, visible

SITE_TOML = """\
title = "Test Wire"
description = "Test news"
base_url = "https://news.example.com"
language = "en"
timezone = "Europe/Berlin"
tag_authority = "news.example.com"
tag_date = "2025-01-01"
items_per_feed = {items_per_feed}

[categories.technology]
title = "Technology"
description = "Chips and code"

[categories.energy]
title = "Energy"
description = "Power and fuel"

[categories.culture]
title = "Culture"
description = "Music and film"
"""

# Later than every test article, so all of them are published unless a test says otherwise.
DEFAULT_NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def front_matter(fields: Mapping[str, object]) -> str:
    """A YAML front matter block of ``fields``, values written as given (None leaves one out)."""
    lines = ["---"]
    for key, value in fields.items():
        if value is None:
            continue
        lines.append(f"{key}: {value}")
    lines.append("---")
    return "\n".join(lines) + "\n"


@dataclass
class Store:
    """An article store in a temporary folder."""

    root: Path
    items_per_feed: int = 50
    counter: int = 0

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.write_site()

    def write_site(self, text: str | None = None) -> None:
        site = text if text is not None else SITE_TOML.format(items_per_feed=self.items_per_feed)
        (self.root / "site.toml").write_text(site, encoding="utf-8")

    def add(
        self,
        name: str | None = None,
        *,
        body: str = "Body text of the article.",
        **fields: object,
    ) -> Path:
        """Write an article; fields override sensible defaults (None leaves a field out)."""
        self.counter += 1
        defaults: dict[str, object] = {
            "id": f"article-{self.counter}",
            "title": f'"Article {self.counter}"',
            "published": f"2025-03-{self.counter % 28 + 1:02d} 09:30",
            "category": "technology",
        }
        defaults.update(fields)
        path = self.root / (name or f"article-{self.counter}.md")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.write(path, front_matter(defaults) + body)
        return path

    def write(self, path: Path, text: str | bytes) -> None:
        """Write and make sure the stamp changes even within the file system's time resolution."""
        old = path.stat().st_mtime_ns if path.exists() else None
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        if old is not None:
            bumped = max(path.stat().st_mtime_ns, old + 1_000_000_000)
            os.utime(path, ns=(bumped, bumped))


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default=DEFAULT_NOW)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_app(
    store: Store,
    state_dir: Path,
    clock: Clock | None = None,
    *,
    policy: Policy | None = None,
    **config: Any,
) -> Flask:
    """The app over ``store`` with its state in ``state_dir``, on ``clock``, rescanning on every
    request; ``config`` adds or overrides settings."""
    settings: dict[str, object] = {
        "ARTICLES_DIR": str(store.root),
        "STATE_DIR": str(state_dir),
        "RESCAN_INTERVAL": 0,
        "TESTING": True,
    }
    settings.update(config)
    return create_app(settings, clock=clock or Clock(), policy=policy)


def make_site(**overrides: object) -> Site:
    """A site built in memory, for tests of the pure layers."""
    table: dict[str, object] = {
        "title": "Test Wire",
        "description": "Test news",
        "base_url": "https://news.example.com",
        "tag_authority": "news.example.com",
        "tag_date": "2025-01-01",
        "categories": {"technology": {"title": "Technology", "description": "Chips"}},
    }
    table.update(overrides)
    return build_site(table)


def make_article(site: Site, n: int = 1, body: str = "Body *text*.", **fields: object) -> Article:
    """Article ``n`` (published 2025-03-n), parsed as the store would; fields override."""
    values: dict[str, object] = {
        "id": f"id-{n}",
        "title": f'"Title {n}"',
        "published": f"2025-03-{n:02d} 09:30",
        "category": "technology",
        "author": "Jane Doe",
        "tags": "[chips, research]",
    }
    values.update(fields)
    article, text = parse_article(front_matter(values) + body, path=f"{n}.md", site=site)
    TEXTS[article.version] = text
    return article


def scan_policy(**fields: Any) -> Policy:
    """The service's policy with these ScanPolicy fields."""
    return Policy(keeper=KeeperPolicy(scan=ScanPolicy(**fields)))


def store_reader(root: Path, policy: ScanPolicy | None = None) -> StoreReader:
    """A reader of the store at ``root``, with a state database of its own beside it."""
    settings = load_settings({"ARTICLES_DIR": str(root)})
    state = State(Path(tempfile.mkdtemp(prefix="state-", dir=root.parent)))
    return StoreReader(settings.articles_dir, settings.site, state, policy)


def text_of(reader: StoreReader, article: Article) -> ArticleText:
    """The text of an article version a reader listed, rendered from the bytes it keeps (and
    remembered for documents rendered in memory)."""
    text = TEXTS[article.version] = article_text(reader.saved.version_bytes(article), article)
    return text


# The text of every article version make_article parsed, by version: documents rendered in
# memory are resolved from here, as the service resolves them from the state database.
TEXTS: dict[str, ArticleText] = {}


def resolved(document: FeedDocument) -> FeedDocument:
    """``document`` with the texts of its articles (all made by make_article)."""
    return replace(document, texts={a.id: TEXTS[a.version] for a in document.articles})


# --- feed documents rendered in memory ----------------------------------------------------


def render_site_feed(site: Site, articles: Sequence[Article], fmt: str) -> bytes:
    """The site feed (``all.<fmt>``) of ``articles`` as it is served once all are published
    (drafts too): through the timeline and the catalog, as the service renders it."""
    key = parse_feed_path(f"all.{fmt}")
    assert key is not None
    published = [replace(a, draft=False) for a in articles]
    now = max((a.published for a in published), default=site.tag_epoch) + timedelta(minutes=1)
    document = Catalog(site, visible(published, now, site.timezone)).document(key)
    assert document is not None
    return render_feed(site, resolved(document))


# "Now" for documents rendered in memory: after every test article.
RENDER_MONTH = Month(2025, 6)


def catalog_of(site: Site, articles: Sequence[Article], month: Month = RENDER_MONTH) -> Catalog:
    """A catalog of exactly these articles, in this order (as a timeline would order them)."""
    expires = month.next().start(site.timezone)
    return Catalog(site, Timeline(tuple(articles), next_due=None, month=month, expires=expires))


def render_path(
    site: Site, articles: Sequence[Article], path: str, month: Month = RENDER_MONTH
) -> bytes:
    """The bytes of the document at /feeds/``path`` over these articles, rendered in memory."""
    key = parse_feed_path(path)
    assert key is not None
    document = catalog_of(site, articles, month).document(key)
    assert document is not None
    return render_feed(site, resolved(document))

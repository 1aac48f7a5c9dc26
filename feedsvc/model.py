"""The records that cross layers: frozen, typed, timezone-aware. No framework imports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

FeedFormat = Literal["rss", "atom"]
FEED_FORMATS: tuple[FeedFormat, ...] = ("rss", "atom")

# The scope of the full-site feed; a category may not take this slug.
ALL_SCOPE = "all"

# Patterns fixed by the store spec (shared/specs/article-store.md).
ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]+")
SLUG_PATTERN = re.compile(r"[a-z0-9-]+")
# A BCP 47 language tag, loosely: "en", "de", "pt-BR", "zh-Hant-TW".
LANGUAGE_PATTERN = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class Site:
    title: str
    description: str
    base_url: str  # absolute http(s) URL without a trailing slash
    language: str
    timezone: ZoneInfo
    tag_authority: str
    tag_date: str
    items_per_feed: int
    categories: tuple[Category, ...]  # sorted by slug

    def category(self, slug: str) -> Category | None:
        for category in self.categories:
            if category.slug == slug:
                return category
        return None

    @property
    def tag_epoch(self) -> datetime:
        """Midnight UTC of tag_date: the fixed date of a feed with no items (never now)."""
        return datetime.combine(tag_date_start(self.tag_date), datetime.min.time(), UTC)

    def tag_uri(self, specific: str) -> str:
        """An RFC 4151 tag URI in this site's fixed namespace."""
        return f"tag:{self.tag_authority},{self.tag_date}:{specific}"


def tag_date_start(value: str) -> date:
    """The first day of an RFC 4151 date (YYYY, YYYY-MM or YYYY-MM-DD); ValueError if none."""
    year, month, day = (*map(int, value.split("-")), 1, 1)[:3]
    return date(year, month, day)


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    alt: str
    type: str | None
    length: int | None


@dataclass(frozen=True, slots=True)
class Article:
    """One servable article version: validated, rendered and sanitized once, when loaded."""

    id: str
    guid: str
    path: str  # relative to the store, with forward slashes; for messages only
    title: str
    published: datetime  # aware, in the site zone
    updated: datetime  # aware, in the site zone, never before published
    category: str
    tags: tuple[str, ...]
    authors: tuple[str, ...]
    language: str
    slug: str
    link: str
    summary_html: str  # sanitized; the front-matter summary or an excerpt of the body
    content_html: str  # sanitized body
    image: Image | None
    sources: tuple[str, ...]
    draft: bool


@dataclass(frozen=True, slots=True)
class Problem:
    """A file that was rejected, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, slots=True)
class FeedKey:
    """Which feed: a scope (``all`` or a category slug) in one format."""

    scope: str
    format: FeedFormat

    @property
    def filename(self) -> str:
        return f"{self.scope}.{self.format}"

"""Glue between the store and HTTP: rendered feeds, memoized per store version and timeline.

A request for an unchanged feed only looks up bytes here. The store is looked at again at most
once per ``rescan_interval`` (by whichever request comes first, never blocking the others), and
the timeline is recomputed when the store changes or a scheduled article falls due.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .lastmod import LastModifiedLedger
from .model import FeedKey, Problem
from .render import CONTENT_TYPES, feed_updated, render_feed, render_index
from .settings import Settings
from .store import StoreReader, StoreSnapshot
from .timeline import Timeline, select, visible

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """One feed version, rendered and compressed once, with its validators."""

    body: bytes
    gzip_body: bytes
    etag: str  # strong, over body; without quotes
    last_modified: datetime
    content_type: str

    @property
    def gzip_etag(self) -> str:
        """A different representation needs a different strong ETag."""
        return f"{self.etag}-gzip"


@dataclass(frozen=True, slots=True)
class RenderedPage:
    body: bytes
    etag: str


@dataclass(slots=True)
class _View:
    """What is served now: a timeline of one store version, and what was rendered from it."""

    version: int
    timeline: Timeline
    feeds: dict[FeedKey, RenderedFeed] = field(default_factory=dict)
    index: RenderedPage | None = None


class FeedService:
    def __init__(self, settings: Settings, *, clock: Clock, ledger: LastModifiedLedger) -> None:
        self.settings = settings
        self._clock = clock
        self._ledger = ledger
        self._reader = StoreReader(settings.articles_dir, settings.site)
        self._scan_lock = threading.Lock()
        self._render_lock = threading.Lock()
        self._view_lock = threading.Lock()
        self._snapshot = self._reader.scan()
        self._last_scan = time.monotonic()
        self._view = self._make_view(self._snapshot, clock())
        log.info(
            "%s: %d articles, %d published, %d files rejected",
            settings.articles_dir,
            len(self._snapshot.articles),
            len(self._view.timeline.articles),
            len({p.path for p in self._snapshot.problems}),
        )

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self._snapshot.problems

    def feed(self, key: FeedKey) -> RenderedFeed | None:
        """The current version of a feed; None when no such feed exists now."""
        view = self._current_view()
        if key.scope not in view.timeline.scopes:
            return None
        rendered = view.feeds.get(key)
        if rendered is None:
            with self._render_lock:
                rendered = view.feeds.get(key)
                if rendered is None:
                    rendered = self._render(key, view.timeline)
                    view.feeds[key] = rendered
        return rendered

    def max_age(self) -> int:
        """Seconds a cache may keep what is served now: the configured max-age, cut short so
        that no cache holds a feed past the moment a scheduled article falls due."""
        configured = self.settings.max_age
        due = self._view.timeline.next_due
        if due is None:
            return configured
        remaining = math.ceil((due - self._clock()).total_seconds())
        return max(0, min(configured, remaining))

    def scopes(self) -> frozenset[str]:
        return self._current_view().timeline.scopes

    def index(self) -> RenderedPage:
        view = self._current_view()
        if view.index is None:
            body = render_index(self.settings.site, view.timeline.scopes)
            view.index = RenderedPage(body=body, etag=_digest(body))
        return view.index

    def _render(self, key: FeedKey, timeline: Timeline) -> RenderedFeed:
        site = self.settings.site
        articles = select(timeline.articles, key.scope, site.items_per_feed)
        body = render_feed(site, key, articles)
        etag = _digest(body)
        last_modified = self._ledger.last_modified(
            key.filename, etag, floor=feed_updated(site, articles), now=self._clock()
        )
        return RenderedFeed(
            body=body,
            # mtime=0 keeps the compressed bytes, and so their ETag, the same everywhere.
            gzip_body=gzip.compress(body, compresslevel=9, mtime=0),
            etag=etag,
            last_modified=last_modified,
            content_type=CONTENT_TYPES[key.format],
        )

    def _current_view(self) -> _View:
        self._rescan_if_due()
        view = self._view
        if self._is_current(view):
            return view
        with self._view_lock:  # one thread builds the new view; the others take it
            if not self._is_current(self._view):
                self._view = self._make_view(self._snapshot, self._clock())
            return self._view

    def _is_current(self, view: _View) -> bool:
        due = view.timeline.next_due
        return view.version == self._snapshot.version and (due is None or self._clock() < due)

    def _rescan_if_due(self) -> None:
        if time.monotonic() - self._last_scan < self.settings.rescan_interval:
            return
        # One request scans; the others go on serving what is there.
        if not self._scan_lock.acquire(blocking=False):
            return
        try:
            self._snapshot = self._reader.scan()
            self._last_scan = time.monotonic()
        finally:
            self._scan_lock.release()

    @staticmethod
    def _make_view(snapshot: StoreSnapshot, now: datetime) -> _View:
        return _View(version=snapshot.version, timeline=visible(snapshot.articles, now))


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]

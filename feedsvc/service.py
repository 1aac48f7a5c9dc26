"""Glue between the store and HTTP: rendered feeds, memoized per store version and timeline.

A request for an unchanged feed only looks up bytes here. The store is looked at again at most
once per ``rescan_interval`` (by whichever request comes first, never blocking the others), and
the timeline is recomputed when the store changes or a scheduled article falls due.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import logging
import math
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from .catalog import Catalog
from .lastmod import LastModifiedLedger
from .model import FeedKey, Partner, Problem, Scope
from .opml import CONTENT_TYPE as OPML_CONTENT_TYPE
from .opml import render_opml
from .pages import render_index
from .partners import partner_site, partner_timeline
from .render import CONTENT_TYPES, render_feed
from .settings import Settings
from .store import StoreReader, StoreSnapshot, TextError, paused_gc
from .timeline import Timeline, visible

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)

OPML_NAME = "feeds.opml"
# Rendered archive documents kept per worker, plain and gzip together; a miss re-renders one
# month (milliseconds), and Last-Modified stays put for the same bytes (the ledger).
ARCHIVE_MEMO_BYTES = 64 * 1024 * 1024
# Partner documents kept per worker, likewise: partners are few, but each sees its own bytes.
PARTNER_MEMO_BYTES = 64 * 1024 * 1024
INDEX_NAME = "index.html"
INDEX_CONTENT_TYPE = "text/html; charset=utf-8"
# Seconds between two writes of the store index (in the background) while the store changes,
# and before the first after a cold start.
INDEX_SAVE_INTERVAL = 60.0
INDEX_FIRST_SAVE_DELAY = 5.0
# Stores at least this large are moved out of the garbage collector's sight once loaded.
FREEZE_ARTICLES = 5000


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    """One version of a document (a feed, the OPML list, the home page), rendered and
    compressed once, with its validators."""

    body: bytes
    gzip_body: bytes
    etag: str  # strong, over body; without quotes
    last_modified: datetime
    content_type: str

    @property
    def gzip_etag(self) -> str:
        """A different representation needs a different strong ETag."""
        return f"{self.etag}-gzip"


# Documents other than feeds are named by their file name.
DocumentKey = FeedKey | str


@dataclass(frozen=True, slots=True)
class Health:
    """What a load balancer needs to know: is this the store as it is now, and how it went."""

    current: bool  # False: the store cannot be read and the last good state is served
    problem: str | None  # why the store cannot be read
    articles_served: int  # published now
    files_rejected: int
    last_scan: datetime  # when the store was last read completely


_K = TypeVar("_K")


class _Recent(Generic[_K]):
    """Rendered documents, the most recently used first out of mind when they take more than
    ``budget`` bytes (plain and gzip together)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._documents: OrderedDict[_K, RenderedDocument] = OrderedDict()
        self.size = 0

    def get(self, key: _K) -> RenderedDocument | None:
        rendered = self._documents.get(key)
        if rendered is not None:
            self._documents.move_to_end(key)
        return rendered

    def keep(self, key: _K, rendered: RenderedDocument) -> None:
        self._documents[key] = rendered
        self.size += len(rendered.body) + len(rendered.gzip_body)
        while self.size > self.budget and len(self._documents) > 1:
            _, evicted = self._documents.popitem(last=False)
            self.size -= len(evicted.body) + len(evicted.gzip_body)

    def __len__(self) -> int:
        return len(self._documents)

    def __iter__(self) -> Iterator[_K]:
        return iter(self._documents)


@dataclass(slots=True)
class _View:
    """What is served now: a timeline of one store version, and what was rendered from it."""

    version: int
    timeline: Timeline
    catalog: Catalog
    documents: dict[DocumentKey, RenderedDocument] = field(default_factory=dict)
    # Archive documents: many (every feed, month and format) and rarely asked for twice (nginx
    # or the client caches them for a day), so only the most recently used are kept.
    archives: _Recent[FeedKey] = field(default_factory=lambda: _Recent(ARCHIVE_MEMO_BYTES))
    # Partner documents (partners.py), by partner record, link form (URL or Bearer) and key;
    # kept like archives, and each partner's catalog of what it may read.
    partner_documents: _Recent[tuple[Partner, bool, FeedKey]] = field(
        default_factory=lambda: _Recent(PARTNER_MEMO_BYTES)
    )
    partner_catalogs: dict[Partner, Catalog] = field(default_factory=dict)


class FeedService:
    def __init__(self, settings: Settings, *, clock: Clock, ledger: LastModifiedLedger) -> None:
        self.settings = settings
        self._clock = clock
        self._ledger = ledger
        self._scan_lock = threading.Lock()
        self._render_lock = threading.Lock()
        self._view_lock = threading.Lock()
        self._view_listeners: list[Callable[[Catalog], None]] = []
        self._keeper_pid = 0  # the process whose background work has started
        # No cyclic collection while the first records and view are made: the collector would
        # walk them all as soon as it ran again, unless they are frozen first (below).
        with paused_gc():
            reader = StoreReader(settings.articles_dir, settings.site, state_folder=ledger.folder)
            # Restored from the store index: serve that at once; the first sweep of the store
            # runs in the background (see _start_keeping).
            self._reader, self._restoring = reader, reader.restored
            self._snapshot = reader.snapshot if self._restoring else reader.scan()
            self._view = self._make_view(self._snapshot, clock())
            if len(self._snapshot.articles) >= FREEZE_ARTICLES:
                # A large store's records live as long as the process: out of the cyclic
                # collector's sight, a collection does not walk them all (a second for
                # 100,000 articles, on some request), and forked workers keep sharing pages.
                gc.freeze()
        # The snapshot version last written to the store index (or read from it).
        self._saved_version = self._snapshot.version if self._restoring else 0
        # Not at the first rescan: the keeper writes the first index, after the first requests
        # (writing it takes seconds of the same interpreter).
        self._saved_at = time.monotonic()
        self._last_scan = time.monotonic()
        self._last_complete_scan = clock()
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

    def feed(self, key: FeedKey) -> RenderedDocument | None:
        """The current version of a feed document; None when there is no such document now."""
        rendered = self._current_view().documents.get(key)
        if rendered is not None:
            return rendered  # the usual case, kept short: a lookup
        return self._with_texts(lambda view: self._feed(view, key))

    def _with_texts(
        self, render: Callable[[_View], RenderedDocument | None]
    ) -> RenderedDocument | None:
        """``render`` on the current view. An article's text is rendered when a document first
        shows it; if it cannot be (an invalid body), the article is taken back (or its last
        good version served) and the document rendered from the new snapshot. Each round
        takes one article version out, so this ends."""
        while True:
            view = self._current_view()
            try:
                return render(view)
            except TextError as error:
                with self._scan_lock:
                    self._snapshot = self._reader.withdraw(error)

    def _feed(self, view: _View, key: FeedKey) -> RenderedDocument | None:
        rendered = view.documents.get(key)
        if rendered is not None:
            return rendered
        with self._render_lock:
            rendered = view.documents.get(key)
            if rendered is None and key.archive is not None:
                rendered = view.archives.get(key)
            if rendered is None:
                document = view.catalog.document(key)
                if document is None:
                    return None  # not remembered: unknown names must not fill the memo
                rendered = self._rendered(
                    key.path,
                    render_feed(self.settings.site, document),
                    floor=document.updated,
                    content_type=CONTENT_TYPES[key.format],
                )
                if key.archive is None:
                    view.documents[key] = rendered
                else:
                    view.archives.keep(key, rendered)
        return rendered

    def now(self) -> datetime:
        return self._clock()

    def partner_feed(
        self, partner: Partner, key: FeedKey, url_token: str | None
    ) -> RenderedDocument | None:
        """A partner's version of a feed document: only the articles it may read, full text
        as agreed, its own Atom id, and links under its partner URL when it reads by URL
        (``url_token``) or under /feeds/ with a Bearer token (None). Rendered once per store
        version, partner and form; None when the partner has no such document now."""
        return self._with_texts(lambda view: self._partner_feed(view, partner, key, url_token))

    def _partner_feed(
        self, view: _View, partner: Partner, key: FeedKey, url_token: str | None
    ) -> RenderedDocument | None:
        memo_key = (partner, url_token is not None, key)
        with self._render_lock:
            rendered = view.partner_documents.get(memo_key)
            if rendered is not None:
                return rendered
            catalog = view.partner_catalogs.get(partner)
            if catalog is None:
                catalog = Catalog(self.settings.site, partner_timeline(view.timeline, partner))
                view.partner_catalogs[partner] = catalog
            document = catalog.document(key)
            if document is None:
                return None
            site = partner_site(self.settings.site, partner, url_token)
            form = "url" if url_token is not None else "bearer"
            rendered = self._rendered(
                # The ledger names the partner, never the token.
                f"partners/{partner.name}/{form}/{key.path}",
                render_feed(site, document),
                floor=document.updated,
                content_type=CONTENT_TYPES[key.format],
            )
            view.partner_documents.keep(memo_key, rendered)
        return rendered

    def catalog(self) -> Catalog:
        """The scopes and documents served now."""
        return self._current_view().catalog

    @property
    def serving(self) -> bool:
        """Whether this process serves: its background work has started, at its first use. A
        preloading parent that forks the workers never serves, and must not start work that
        a fork could catch holding a lock."""
        return self._keeper_pid == os.getpid()

    def on_new_view(self, listener: Callable[[Catalog], None]) -> None:
        """Call ``listener`` with the new catalog whenever a new view replaces the served one
        (the store changed, an article fell due, a month began). It runs on the thread that
        noticed, under the view lock: it must take note and return at once."""
        self._view_listeners.append(listener)

    def opml(self) -> RenderedDocument:
        """The OPML list of every feed."""
        view = self._current_view()
        return self._memo(view, OPML_NAME, lambda: render_opml(view.catalog), OPML_CONTENT_TYPE)

    def index(self) -> RenderedDocument:
        """The home page."""
        view = self._current_view()
        return self._memo(view, INDEX_NAME, lambda: render_index(view.catalog), INDEX_CONTENT_TYPE)

    def has_scope(self, scope: Scope) -> bool:
        return self._current_view().catalog.entry(scope) is not None

    def health(self) -> Health:
        """The store's state, after a rescan if one is due."""
        view = self._current_view()
        snapshot = self._snapshot
        return Health(
            current=self._reader.unavailable is None,
            problem=self._reader.unavailable,
            articles_served=len(view.timeline.articles),
            files_rejected=len({p.path for p in snapshot.problems}),
            last_scan=self._last_complete_scan,
        )

    def max_age(self, key: FeedKey | None = None) -> int:
        """Seconds a cache may keep a document: long for the archive of a past month, which
        changes only when one of its articles is edited; otherwise the configured max-age,
        cut short so that no cache holds it past the moment a scheduled article falls due."""
        timeline = self._view.timeline
        if key is not None and key.archive is not None and key.archive < timeline.month:
            return self.settings.archive_max_age
        configured = self.settings.max_age
        if timeline.next_due is None:
            return configured
        remaining = math.ceil((timeline.next_due - self._clock()).total_seconds())
        return max(0, min(configured, remaining))

    def _memo(
        self, view: _View, name: str, render: Callable[[], bytes], content_type: str
    ) -> RenderedDocument:
        rendered = view.documents.get(name)
        if rendered is None:
            with self._render_lock:
                rendered = view.documents.get(name)
                if rendered is None:
                    rendered = self._rendered(
                        name, render(), floor=view.catalog.updated, content_type=content_type
                    )
                    view.documents[name] = rendered
        return rendered

    def _rendered(
        self, name: str, body: bytes, *, floor: datetime, content_type: str
    ) -> RenderedDocument:
        etag = _digest(body)
        last_modified = self._ledger.last_modified(name, etag, floor=floor, now=self._clock())
        return RenderedDocument(
            body=body,
            # mtime=0 keeps the compressed bytes, and so their ETag, the same everywhere.
            gzip_body=gzip.compress(body, compresslevel=9, mtime=0),
            etag=etag,
            last_modified=last_modified,
            content_type=content_type,
        )

    def _current_view(self) -> _View:
        self._rescan_if_due()
        view = self._view
        if self._is_current(view):
            return view
        with self._view_lock:  # one thread builds the new view; the others take it
            if not self._is_current(self._view):
                self._view = self._make_view(self._snapshot, self._clock())
                for listener in self._view_listeners:
                    listener(self._view.catalog)
            return self._view

    def _is_current(self, view: _View) -> bool:
        return view.version == self._snapshot.version and view.timeline.is_current(self._clock())

    def _start_keeping(self) -> None:
        """Background work, once per process (in a worker forked after preloading, not in the
        parent that never serves): the first sweep after a restore, packing the restored
        versions, and writing the store index."""
        with self._view_lock:
            if self._keeper_pid == os.getpid():
                return
            self._keeper_pid = os.getpid()
        threading.Thread(
            target=_keep, args=(weakref.ref(self),), name="feedsvc-store-keeper", daemon=True
        ).start()

    def _save_index_if_due(self) -> None:
        version = self._snapshot.version
        if version == self._saved_version:
            return
        if time.monotonic() - self._saved_at < INDEX_SAVE_INTERVAL:
            return
        self._saved_version, self._saved_at = version, time.monotonic()
        threading.Thread(
            target=self._reader.save_index, name="feedsvc-store-index", daemon=True
        ).start()

    def _rescan_if_due(self) -> None:
        if time.monotonic() - self._last_scan < self.settings.rescan_interval:
            return
        if self._keeper_pid != os.getpid():
            self._start_keeping()
        if self._restoring:
            return  # the keeper sweeps first
        # One request scans; the others go on serving what is there.
        if not self._scan_lock.acquire(blocking=False):
            return
        try:
            self._snapshot = self._reader.scan()
            self._last_scan = time.monotonic()
            if self._reader.unavailable is None:
                self._last_complete_scan = self._clock()
        finally:
            self._scan_lock.release()
        self._save_index_if_due()

    def _make_view(self, snapshot: StoreSnapshot, now: datetime) -> _View:
        site = self.settings.site
        with paused_gc():
            timeline = visible(snapshot.articles, now, site.timezone)
            catalog = Catalog(site, timeline)
        return _View(version=snapshot.version, timeline=timeline, catalog=catalog)


def _keep(service_ref: weakref.ref[FeedService]) -> None:
    service = service_ref()
    if service is None:
        return
    if not service._restoring:
        # A cold start: the index can wait until the first requests are served.
        del service
        time.sleep(INDEX_FIRST_SAVE_DELAY)
        service = service_ref()
        if service is None:
            return
    try:
        if service._restoring:
            with service._scan_lock:
                service._snapshot = service._reader.scan()
                service._last_scan = time.monotonic()
                service._restoring = False
            service._reader.pack_restored()
        if service._snapshot.version != service._saved_version:  # not as restored
            service._saved_version = service._snapshot.version
            service._saved_at = time.monotonic()
            service._reader.save_index()
    except Exception:  # background housekeeping: log it, never take the service down
        service._restoring = False
        log.exception("store keeping failed")


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]

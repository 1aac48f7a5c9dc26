"""The feed lookups: rendered documents, memoized per store version and timeline.

A request for an unchanged document is a lookup here. When the store changes or a scheduled
article falls due, one thread builds the new view (timeline and catalog) while the others go on
with the old one; in a new view, one thread renders a document while the others are answered
with its previous bytes and their own validators (an ETag is always the ETag of the bytes
sent). Before a document is rendered, the texts of its articles are resolved (texts.py); an
article whose text fails is withdrawn from the store (keeper.py) and the document made again
from the new snapshot, in this one place.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import math
import threading
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from cachetools import LRUCache

from .catalog import Catalog, FeedDocument
from .keeper import Clock, KeeperPolicy, StoreKeeper
from .model import FeedKey, Partner, Problem, Site
from .opml import CONTENT_TYPE as OPML_CONTENT_TYPE
from .opml import render_opml
from .pages import render_index
from .partners import partner_site, partner_timeline
from .render import CONTENT_TYPES, render_feed
from .settings import Settings
from .state import State
from .store.files import paused_gc
from .store.snapshot import StoreSnapshot
from .texts import Texts
from .timeline import visible

log = logging.getLogger(__name__)

OPML_NAME = "feeds.opml"
INDEX_NAME = "index.html"
INDEX_CONTENT_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Policy:
    """The service's tuning knobs; tests pass their own."""

    keeper: KeeperPolicy = field(default_factory=KeeperPolicy)
    # Rendered archive documents kept per process, plain and gzip together; a miss renders
    # one month again (milliseconds), and Last-Modified stays put for the same bytes.
    archive_memo_bytes: int = 64 * 1024 * 1024
    # Partner documents kept per process, likewise: partners are few, but each sees its own.
    partner_memo_bytes: int = 64 * 1024 * 1024


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
    last_good_served: int  # rejected files whose last good version is served instead
    last_scan: datetime  # when the store was last read completely


_K = TypeVar("_K")


def _recent(budget: int) -> LRUCache[Any, RenderedDocument]:
    """Rendered documents, the least recently used first out of mind when they take more than
    ``budget`` bytes (plain and gzip together)."""
    return LRUCache(budget, getsizeof=lambda r: len(r.body) + len(r.gzip_body))


PartnerKey = tuple[Partner, bool, FeedKey]  # partner record, reads by URL (not Bearer), key


@dataclass(slots=True)
class _View:
    """What is served now: a timeline of one store version, and what was rendered from it."""

    snapshot: StoreSnapshot
    catalog: Catalog
    # Documents kept as long as their view: few, and asked for all the time.
    documents: dict[DocumentKey, RenderedDocument]
    # Archive documents: many (every feed, month and format) and rarely asked for twice (nginx
    # or the client caches them for a day), so only the most recently used are kept.
    archives: LRUCache[FeedKey, RenderedDocument]
    # Partner documents (partners.py), and each partner's catalog of what it may read.
    partner_documents: LRUCache[PartnerKey, RenderedDocument]
    partner_catalogs: dict[Partner, Catalog] = field(default_factory=dict)
    # The documents of the view before, served while this view renders its own.
    previous: Mapping[Any, RenderedDocument] = field(default_factory=dict)
    # The documents being rendered now, each by one thread; the event is set when it is done.
    rendering: dict[object, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def document(
        self,
        memo: MutableMapping[_K, RenderedDocument],
        key: _K,
        make: Callable[[], RenderedDocument | None],
        *,
        fresh: bool = False,
    ) -> RenderedDocument | None:
        """The memoized document ``key`` of this view, made by one thread; while it makes it,
        the others get its bytes of the view before, if there were any (unless ``fresh``)."""
        while True:
            with self.lock:  # (an LRUCache is not thread-safe: every use of a memo is locked)
                rendered = memo.get(key)
                if rendered is not None:
                    return rendered
                busy = self.rendering.get(key)
                if busy is None:
                    busy = self.rendering[key] = threading.Event()
                    break
                stale = None if fresh else self.previous.get(key)
            if stale is not None:
                return stale
            # Then it is in the memo, unless it was no document or was evicted at once: in
            # that case this thread makes it (finding the same) in the next round.
            busy.wait()
        try:
            rendered = make()
            if rendered is not None:
                # A document larger than the whole budget of an LRUCache is not kept.
                with self.lock, contextlib.suppress(ValueError):
                    memo[key] = rendered
            return rendered
        finally:
            with self.lock:
                del self.rendering[key]
            busy.set()


class _Withdrawn(Exception):
    """Some article of a document had no text and was withdrawn: make the document again."""


class FeedService:
    """Every document served from one store: looked up, or rendered once per version."""

    def __init__(
        self, settings: Settings, *, clock: Clock, state: State, policy: Policy | None = None
    ) -> None:
        self.settings = settings
        self.state = state
        self._clock = clock
        self._policy = policy or Policy()
        self.keeper = StoreKeeper(settings, state, clock, self._policy.keeper)
        self._texts = Texts(state, self.keeper.reader.saved.version_bytes)
        self._view_lock = threading.Lock()
        self._view_listeners: list[Callable[[Catalog], None]] = []
        self._view = _new_view(
            self.settings.site, self._policy, self.keeper.snapshot, clock(), None
        )
        log.info(
            "%s: %d articles, %d published, %d files rejected",
            settings.articles_dir,
            len(self.keeper.snapshot.articles),
            len(self._view.catalog.timeline.articles),
            len({p.path for p in self.keeper.problems}),
        )

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.keeper.problems

    def now(self) -> datetime:
        return self._clock()

    def feed(self, key: FeedKey, *, fresh: bool = False) -> RenderedDocument | None:
        """The current version of a feed document; None when there is no such document now.
        While another thread renders it, its previous bytes, unless ``fresh`` is asked for
        (then this waits for the new ones)."""
        rendered = self._current_view().documents.get(key)
        if rendered is not None:
            return rendered  # the usual case, kept short: a lookup
        return self._with_texts(lambda view: self._feed(view, key, fresh))

    def partner_feed(
        self, partner: Partner, key: FeedKey, url_token: str | None
    ) -> RenderedDocument | None:
        """A partner's version of a feed document: only the articles it may read, full text
        as agreed, its own Atom id, and links under its partner URL when it reads by URL
        (``url_token``) or under /feeds/ with a Bearer token (None). Rendered once per store
        version, partner and form; None when the partner has no such document now."""
        return self._with_texts(lambda view: self._partner_feed(view, partner, key, url_token))

    def catalog(self) -> Catalog:
        """The scopes and documents served now."""
        return self._current_view().catalog

    def on_new_view(self, listener: Callable[[Catalog], None]) -> None:
        """Call ``listener`` with the new catalog whenever a new view replaces the served one
        (the store changed, an article fell due, a month began). It runs on the thread that
        built it: it must take note and return at once."""
        self._view_listeners.append(listener)

    def opml(self) -> RenderedDocument:
        """The OPML list of every feed."""
        return self._page(OPML_NAME, render_opml, OPML_CONTENT_TYPE)

    def index(self) -> RenderedDocument:
        """The home page."""
        return self._page(INDEX_NAME, render_index, INDEX_CONTENT_TYPE)

    def _page(
        self, name: str, render: Callable[[Catalog], bytes], content_type: str
    ) -> RenderedDocument:
        view = self._current_view()
        catalog = view.catalog
        rendered = view.document(
            view.documents, name,
            lambda: self._rendered(name, render(catalog), catalog.updated, content_type),
        )  # fmt: skip
        assert rendered is not None  # a page always exists
        return rendered

    def health(self) -> Health:
        """The store's state, after a rescan if one is due."""
        view = self._current_view()
        reader = self.keeper.reader
        return Health(
            current=reader.unavailable is None,
            problem=reader.unavailable,
            articles_served=len(view.catalog.timeline.articles),
            files_rejected=len({p.path for p in self.keeper.problems}),
            last_good_served=reader.last_good,
            last_scan=self.keeper.last_complete_scan,
        )

    def max_age(self, key: FeedKey | None = None) -> int:
        """Seconds a cache may keep a document: long for the archive of a past month, which
        changes only when one of its articles is edited; otherwise the configured max-age,
        cut short so that no cache holds it past the moment a scheduled article falls due."""
        timeline = self._view.catalog.timeline
        if key is not None and key.archive is not None and key.archive < timeline.month:
            return self.settings.archive_max_age
        configured = self.settings.max_age
        if timeline.next_due is None:
            return configured
        remaining = math.ceil((timeline.next_due - self._clock()).total_seconds())
        return max(0, min(configured, remaining))

    # --- rendering ----------------------------------------------------------------------

    def _with_texts(
        self, make: Callable[[_View], RenderedDocument | None]
    ) -> RenderedDocument | None:
        """``make`` on the current view, again on the next one while it withdraws articles
        whose text failed (each round takes one article version out, so this ends)."""
        while True:
            try:
                return make(self._current_view())
            except _Withdrawn:
                self._current_view(wait=True)

    def _feed(self, view: _View, key: FeedKey, fresh: bool) -> RenderedDocument | None:
        render = lambda: self._render(view.catalog, key, None)  # noqa: E731
        if key.archive is None:
            return view.document(view.documents, key, render, fresh=fresh)
        return view.document(view.archives, key, render, fresh=fresh)

    def _partner_feed(
        self, view: _View, partner: Partner, key: FeedKey, url_token: str | None
    ) -> RenderedDocument | None:
        with view.lock:
            catalog = view.partner_catalogs.get(partner)
            if catalog is None:
                timeline = partner_timeline(view.catalog.timeline, partner)
                catalog = view.partner_catalogs[partner] = Catalog(self.settings.site, timeline)
        memo_key = (partner, url_token is not None, key)
        return view.document(
            view.partner_documents, memo_key,
            lambda: self._render(catalog, key, (partner, url_token)),
        )  # fmt: skip

    def _render(
        self, catalog: Catalog, key: FeedKey, reader: tuple[Partner, str | None] | None
    ) -> RenderedDocument | None:
        """A feed document with its texts resolved, rendered; None when there is none."""
        document = catalog.document(key)
        if document is None:
            return None  # not remembered: unknown names must not fill the memo
        document = self._resolved(document)
        site, name = self.settings.site, key.path
        if reader is not None:
            partner, url_token = reader
            site = partner_site(site, partner, url_token)
            # The ledger names the partner, never the token.
            form = "url" if url_token is not None else "bearer"
            name = f"partners/{partner.name}/{form}/{key.path}"
        return self._rendered(
            name, render_feed(site, document), document.updated, CONTENT_TYPES[key.format]
        )

    def _resolved(self, document: FeedDocument) -> FeedDocument:
        """The document with its articles' texts; _Withdrawn when some had none."""
        texts, failures = self._texts.resolve(document.articles)
        for failure in failures:
            self.keeper.withdraw(failure.article, failure.reason)
        if failures:
            raise _Withdrawn()
        return replace(document, texts=texts)

    def _rendered(
        self, name: str, body: bytes, floor: datetime, content_type: str
    ) -> RenderedDocument:
        return rendered_document(self.state, name, body, floor, content_type, self._clock())

    # --- views --------------------------------------------------------------------------

    def _current_view(self, *, wait: bool = False) -> _View:
        snapshot = self.keeper.current()
        view = self._view
        if view.snapshot is snapshot and view.catalog.timeline.is_current(self._clock()):
            return view
        # One thread builds the new view; the others go on with the one there is.
        if not self._view_lock.acquire(blocking=wait):
            return view
        try:
            view = self._view
            snapshot = self.keeper.snapshot
            now = self._clock()
            if view.snapshot is not snapshot or not view.catalog.timeline.is_current(now):
                view = self._view = _new_view(self.settings.site, self._policy, snapshot, now, view)
                for listener in self._view_listeners:
                    listener(view.catalog)
            return view
        finally:
            self._view_lock.release()


def rendered_document(
    state: State, name: str, body: bytes, floor: datetime, content_type: str, now: datetime
) -> RenderedDocument:
    """Document ``name``'s bytes with their gzip form and validators; the Last-Modified comes
    from the machine's ledger (State.last_modified)."""
    etag = hashlib.sha256(body).hexdigest()[:32]
    return RenderedDocument(
        body=body,
        # mtime=0 keeps the compressed bytes, and so their ETag, the same everywhere.
        gzip_body=gzip.compress(body, compresslevel=9, mtime=0),
        etag=etag,
        last_modified=state.last_modified(name, etag, floor=floor, now=now),
        content_type=content_type,
    )


def _new_view(
    site: Site, policy: Policy, snapshot: StoreSnapshot, now: datetime, before: _View | None
) -> _View:
    """The view of ``snapshot`` at ``now``, after ``before``."""
    with paused_gc():
        catalog = Catalog(site, visible(snapshot.articles, now, site.timezone))
    # The bytes the view before served; if it rendered none (views replaced quickly, one after
    # the other), the ones it had from the view before it. One generation only: the documents
    # of scopes that went must not stay in memory.
    previous: Mapping[Any, RenderedDocument] = {}
    if before is not None:
        # (dict(a dict) is one C call that keeps the hashes, where iterating its items could call
        # FeedKey.__hash__, let another thread in, and meet its write)
        previous = dict(before.documents) if before.documents else before.previous
    return _View(
        snapshot=snapshot,
        catalog=catalog,
        documents={},
        archives=_recent(policy.archive_memo_bytes),
        partner_documents=_recent(policy.partner_memo_bytes),
        previous=previous,
    )

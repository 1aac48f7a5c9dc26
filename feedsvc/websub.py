"""WebSub publishing (https://www.w3.org/TR/websub/): telling the hubs which feeds changed.

The core is pure: ``touched_scopes`` and ``topic_etags`` find, from two catalogs, the
subscription documents whose bytes changed, each format its own topic URL. Archive documents
are not announced: they name no hub (catalog.advertised_hubs), and a past month changes only
when an old article is edited.

The shell is one ``Notifier`` per process: a daemon thread that, once the process serves (a
forked worker at once, any other process from its first request on), takes an election lock
(``flock`` on ``websub.lock`` in the state folder, so one process per machine notifies), looks
at the service's current catalog every check interval and whenever the service builds a new
view, and posts ``hub.mode=publish`` for each changed topic to each hub, retrying with
exponential backoff for the retry window. What it announced (each topic's ETag) and what is
still to be delivered are kept in ``websub.json`` in the state folder, so a restart, or another
process taking over the lock, neither loses nor repeats a notification.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Protocol
from urllib.parse import urlencode

from .catalog import Catalog, feed_url
from .model import FEED_FORMATS, FeedKey, Scope, Site
from .service import RenderedDocument
from .state import State

log = logging.getLogger(__name__)

EXTENSION_KEY = "feedsvc.websub"
LOCK_FILE = "websub.lock"
# Without requests nothing rescans the store: the notifier looks itself, this often at most.
MIN_CHECK_INTERVAL = 1.0
POST_TIMEOUT = 5.0  # seconds; a hub that takes longer is treated as down and retried
MAX_DOUBLINGS = 6  # retries are at most 64 times the first retry delay apart
# Seconds a notification waits beyond the rescan interval, so that when the hub fetches, every
# worker has looked at the store (and built its new view) and serves the new bytes: a worker
# that looked just before the change serves the old ones until its next look.
SETTLE_MARGIN = 2.0


# --- the pure core ------------------------------------------------------------------------


def touched_scopes(site: Site, old: Catalog | None, new: Catalog) -> set[Scope]:
    """The scopes whose subscription documents may differ between ``old`` and ``new``: their
    newest ``items_per_feed`` articles differ (added, edited, removed, fallen due), or they
    appeared or vanished. Every scope of ``new`` when there is no ``old``."""
    if old is None:
        return {entry.scope for entry in new.entries()}
    limit = site.items_per_feed
    scopes = {entry.scope for entry in old.entries()} | {entry.scope for entry in new.entries()}
    touched = set()
    for scope in scopes:
        before, after = old.entry(scope), new.entry(scope)
        if before is None or after is None:
            touched.add(scope)
        # Unchanged articles are the same objects, so this is mostly an identity check.
        elif before.articles[:limit] != after.articles[:limit]:
            touched.add(scope)
    return touched


def topic_etags(
    site: Site, scopes: Iterable[Scope], etag_of: Callable[[FeedKey], str | None]
) -> dict[str, str]:
    """The ETag of each subscription document of ``scopes`` that exists (``etag_of`` gives
    the ETag of the document the service serves, None when there is none), by its topic URL
    (the URL its ``rel="self"`` names)."""
    etags = {}
    for scope in scopes:
        for fmt in FEED_FORMATS:
            key = FeedKey(scope, fmt)
            etag = etag_of(key)
            if etag is not None:
                etags[feed_url(site, key)] = etag
    return etags


def topic_urls(site: Site, scopes: Iterable[Scope]) -> set[str]:
    return {feed_url(site, FeedKey(scope, fmt)) for scope in scopes for fmt in FEED_FORMATS}


def changed_topics(announced: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """The topics whose bytes differ from what was last announced, sorted."""
    return sorted(url for url, etag in current.items() if announced.get(url) != etag)


@dataclass(frozen=True, slots=True)
class Pending:
    """A notification not delivered yet: tell ``hub`` that ``topic`` changed."""

    hub: str
    topic: str
    since: float  # when the change was seen (Unix time): the retry window runs from here


# --- the shell ------------------------------------------------------------------------------


class CatalogSource(Protocol):
    """What the notifier needs of the FeedService."""

    @property
    def serving(self) -> bool:
        """Whether this process serves (and so may start work of its own)."""
        ...

    def catalog(self) -> Catalog:
        """What is published now, after a rescan if one is due."""
        ...

    def feed(self, key: FeedKey, *, fresh: bool = False) -> RenderedDocument | None:
        """The document as served (rendered once per version, texts resolved); with
        ``fresh``, never the previous bytes served while it is rendered again."""
        ...


def post_publish(hub: str, topic: str) -> None:
    """Tell ``hub`` that ``topic`` changed; raises OSError (urllib's errors) unless it answers
    2xx. ``hub.url`` is the publish parameter of PubSubHubbub 0.4, which most hubs read;
    ``hub.topic`` is what some hubs (flask-websub's) read instead."""
    body = urlencode({"hub.mode": "publish", "hub.url": topic, "hub.topic": topic}).encode()
    request = urllib.request.Request(
        hub,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "feedsvc"},
    )
    with _opener.open(request, timeout=POST_TIMEOUT) as response:
        response.read()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirected POST would become a GET: a hub that redirects has not taken the request.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)
Poster = Callable[[str, str], None]


class Notifier:
    """One process's WebSub notifier; see the module docstring."""

    def __init__(
        self,
        source: CatalogSource,
        site: Site,
        state: State,
        *,
        check_interval: float,
        retry_delay: float,
        retry_window: float,
        settle: float = 0.0,
        post: Poster = post_publish,
    ) -> None:
        """``settle``: seconds between seeing a change and telling the hubs (the workers'
        rescan interval plus SETTLE_MARGIN)."""
        self._source = source
        self._settle = settle
        self._site = site
        self._state = state
        self._state_dir = state.folder
        self._check_interval = max(check_interval, MIN_CHECK_INTERVAL)
        self._retry_delay = retry_delay
        self._retry_window = retry_window
        self._post = post
        self._reset()
        _NOTIFIERS.add(self)

    def _reset(self) -> None:
        """The state of a process that has not run yet (also a forked child's)."""
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_file: IO[str] | None = None
        self._lock_problem: str | None = None
        self._forked = False  # a child forked from the process that built the app
        self._last: Catalog | None = None  # the catalog last compared
        self._announced: dict[str, str] = {}
        self._pending: list[Pending] = []
        self._pending_lock = threading.Lock()  # for pending() from other threads
        self._hub_failures: dict[str, int] = {}
        self._hub_next_try: dict[str, float] = {}  # monotonic time

    # public

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="feedsvc-websub", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and give up the election lock; pending notifications stay in the
        state folder for whoever notifies next."""
        self._pause()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock
            self._lock_file = None

    def wake(self, catalog: Catalog | None = None) -> None:
        """The service built a new view: look now rather than at the next check."""
        self._wakeup.set()

    @property
    def leader(self) -> bool:
        """Whether this process holds the election lock (and so notifies)."""
        return self._lock_file is not None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def pending(self) -> list[Pending]:
        with self._pending_lock:
            return list(self._pending)

    # the thread

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()  # before the work: a wake-up during it is not lost
            try:
                # Only a process that serves, or a forked worker, notifies: a preloading parent
                # forks its workers, and work there could be caught by a fork holding a lock.
                if self._lock_file is None and (self._forked or self._source.serving):
                    self._elect()
                if self._lock_file is not None:
                    self._check()
                    self._deliver()
            except Exception:  # a bug here must not end notifying for good
                log.exception("WebSub notifier: unexpected error; trying again")
            if not self._stopping.is_set():
                self._wakeup.wait(self._sleep())

    def _sleep(self) -> float:
        if not self._pending or self._lock_file is None:
            return self._check_interval
        now, wall = time.monotonic(), time.time()
        due = min(
            max(self._hub_next_try.get(p.hub, now) - now, p.since + self._settle - wall)
            for p in self._pending
        )
        return max(0.0, min(self._check_interval, due))

    def _elect(self) -> None:
        try:
            self._state_dir.mkdir(parents=True, exist_ok=True)
            lock_file = open(self._state_dir / LOCK_FILE, "a+")  # held open while elected
        except OSError as e:
            if self._lock_problem != str(e):
                log.error(
                    "WebSub: cannot open the notifier lock in %s (%s); this process sends "
                    "no notifications until it can",
                    self._state_dir,
                    e,
                )
                self._lock_problem = str(e)
            return
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock_file.close()  # another process of this machine notifies
            return
        self._lock_file = lock_file
        self._lock_problem = None
        self._last = None
        self._load()
        log.info("WebSub: this process (pid %d) notifies the hubs", os.getpid())

    def _check(self) -> None:
        catalog = self._source.catalog()
        if catalog is self._last:
            return
        site = self._site
        scopes = touched_scopes(site, self._last, catalog)

        def etag_of(key: FeedKey) -> str | None:
            rendered = self._source.feed(key, fresh=True)
            return None if rendered is None else rendered.etag

        current = topic_etags(site, scopes, etag_of)
        # Nothing announced yet (the first run with hubs): these bytes are the baseline.
        first_run = self._last is None and not self._announced
        # Feeds that no longer exist have nothing for a hub to fetch: forget them.
        gone = set(self._announced) if self._last is None else topic_urls(site, scopes)
        for url in gone - current.keys():
            self._announced.pop(url, None)
        self._last = catalog
        changed = [] if first_run else changed_topics(self._announced, current)
        self._announced.update(current)
        if changed:
            since = time.time()
            fresh = [Pending(hub, topic, since) for topic in changed for hub in site.hub_urls]
            keys = {(p.hub, p.topic) for p in fresh}
            with self._pending_lock:
                # One notification per topic and hub: the hub fetches the latest bytes anyway.
                self._pending = [p for p in self._pending if (p.hub, p.topic) not in keys]
                self._pending.extend(fresh)
            log.info("WebSub: %d feeds changed: %s", len(changed), " ".join(changed))
        self._save()

    def _deliver(self) -> None:
        now = time.monotonic()
        wall = time.time()
        delivered: set[Pending] = set()
        given_up = {p for p in self._pending if wall - p.since > self._retry_window}
        for p in given_up:
            log.error(
                "WebSub: gave up telling %s that %s changed: no success for %.0f s",
                p.hub,
                p.topic,
                self._retry_window,
            )
        failed_hubs: set[str] = set()
        for p in self._pending:
            if p in given_up or p.hub in failed_hubs or self._hub_next_try.get(p.hub, 0) > now:
                continue
            if wall - p.since < self._settle:
                continue  # not every worker serves the new bytes yet
            if self._stopping.is_set():
                break
            try:
                self._post(p.hub, p.topic)
            except Exception as e:  # whatever the hub did, it is retried
                failed_hubs.add(p.hub)
                failures = self._hub_failures.get(p.hub, 0) + 1
                self._hub_failures[p.hub] = failures
                delay = self._retry_delay * 2 ** min(failures - 1, MAX_DOUBLINGS)
                self._hub_next_try[p.hub] = time.monotonic() + delay
                waiting = sum(1 for q in self._pending if q.hub == p.hub)
                log.warning(
                    "WebSub hub %s failed (%s); %d notifications wait, next try in %.1f s",
                    p.hub,
                    _reason(e),
                    waiting,
                    delay,
                )
            else:
                delivered.add(p)
                self._hub_failures.pop(p.hub, None)
                self._hub_next_try.pop(p.hub, None)
        if delivered or given_up:
            done = delivered | given_up
            with self._pending_lock:
                self._pending = [p for p in self._pending if p not in done]
            self._save()

    def _pause(self) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            self._stopping.set()
            self._wakeup.set()
            thread.join(timeout=POST_TIMEOUT * 3)
        self._thread = None

    # the state file: only the lock holder reads or writes it

    def _load(self) -> None:
        self._announced = self._state.announced()
        with self._pending_lock:
            self._pending = [
                Pending(hub, topic, since) for hub, topic, since in self._state.pending()
            ]

    def _save(self) -> None:
        try:
            self._state.save_outbox(
                self._announced, [(p.hub, p.topic, p.since) for p in self.pending()]
            )
        except sqlite3.Error as e:
            log.error("WebSub: cannot save the outbox (%s); a restart may lose notifications", e)

    # fork: a thread does not survive fork, and one caught mid-work could leave a lock held in
    # the child (gunicorn's preloading master forks its workers after create_app).

    def _before_fork(self) -> None:
        self._was_running = self.running
        self._pause()

    def _after_fork_in_parent(self) -> None:
        if self._was_running:
            self.start()

    def _after_fork_in_child(self) -> None:
        was_running = self._was_running
        if self._lock_file is not None:
            # Closing the child's copy leaves the parent's lock in place (one open file).
            with contextlib.suppress(OSError):
                self._lock_file.close()
        self._reset()
        self._forked = True
        if was_running:
            self.start()

    _was_running = False


def _reason(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


_NOTIFIERS: weakref.WeakSet[Notifier] = weakref.WeakSet()


def _each(method: Callable[[Notifier], None]) -> Callable[[], None]:
    def call() -> None:
        for notifier in list(_NOTIFIERS):
            method(notifier)

    return call


os.register_at_fork(
    before=_each(Notifier._before_fork),
    after_in_parent=_each(Notifier._after_fork_in_parent),
    after_in_child=_each(Notifier._after_fork_in_child),
)

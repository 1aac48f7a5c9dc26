"""The shell of WebSub publishing: one ``Notifier`` per process, a daemon thread around the
pure parts (topics.py, outbox.py).

Once the process serves (a forked worker at once, any other process from its first request
on), the thread takes the election (``flock`` on ``websub.lock`` in the state folder, so one
process per machine notifies), looks at the service's catalog every check interval and whenever
the service builds a new view, and posts ``hub.mode=publish`` for each changed topic to each
hub, retrying with per-hub backoff for the retry window. The outbox (each topic's announced
ETag, the notifications still to send) is saved in the state database after each look at a new
catalog and each round of posts, so a restart, or another process winning the election, loses
no notification (at least once: a crash during a round repeats that round's posts).
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
from collections.abc import Callable
from pathlib import Path
from typing import IO
from urllib.parse import urlencode

from ..catalog import Catalog
from ..model import FeedKey
from ..service import FeedService
from .outbox import Moment, Outbox, Pending, RetryPolicy
from .topics import topic_etags, topic_urls, touched_scopes

log = logging.getLogger(__name__)

# Where create_app keeps the notifier: app.extensions[EXTENSION_KEY].
EXTENSION_KEY = "feedsvc.websub"
LOCK_FILE = "websub.lock"
# Without requests nothing rescans the store: the notifier looks itself, this often at most.
MIN_CHECK_INTERVAL = 1.0
POST_TIMEOUT = 5.0  # seconds; a hub that takes longer is treated as down and retried
# Seconds a notification waits beyond the rescan interval, so that when the hub fetches, every
# worker has looked at the store (and built its new view) and serves the new bytes: a worker
# that looked just before the change serves the old ones until its next look.
SETTLE_MARGIN = 2.0


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


def read_clocks() -> Moment:
    return Moment(time.time(), time.monotonic())


class Election:
    """One notifier per state folder: whoever holds an exclusive ``flock`` on its lock file.

    The kernel drops a flock the moment its holder dies, and a flock belongs to one open file,
    so two notifiers of one process exclude each other too. The state database offers nothing
    as robust: a leader row (a lease) outlives a killed holder until it expires, and a pid
    check is fooled by pid reuse; a write transaction held open as the lock would stop every
    other writer of the database; and SQLite's own locks are POSIX locks, which belong to the
    process and go when it closes any descriptor of the file."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._file: IO[str] | None = None
        self._problem: str | None = None  # the error last logged, logged once

    def take(self) -> bool:
        """Try to win (without waiting); whether this process holds the lock now."""
        if self._file is not None:
            return True
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            lock_file = open(self._folder / LOCK_FILE, "a+")  # held open while elected
        except OSError as e:
            if self._problem != str(e):
                log.error(
                    "WebSub: cannot open the notifier lock in %s (%s); this process "
                    "sends no notifications until it can",
                    self._folder,
                    e,
                )
                self._problem = str(e)
            return False
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock_file.close()  # another notifier of this machine holds it
            return False
        self._file, self._problem = lock_file, None
        return True

    def release(self) -> None:
        """Give the lock up; in a forked child, drop only the child's copy of the file (the
        lock stays with the parent: both share one open file)."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


class Notifier:
    """One process's WebSub notifier; see the module docstring."""

    def __init__(
        self,
        service: FeedService,
        *,
        settle: float | None = None,
        post: Poster = post_publish,
        clock: Callable[[], Moment] = read_clocks,
    ) -> None:
        """The notifier of ``service``'s site, as its settings say (hubs, rescan interval, retry
        delay and window). ``settle``: seconds between seeing a change and telling the hubs; by
        default the workers' rescan interval plus SETTLE_MARGIN. ``post`` tells a hub;
        ``clock`` reads both clocks."""
        settings = service.settings
        self._source = service
        self._site = settings.site
        self._state = service.state
        self._check_interval = max(settings.rescan_interval, MIN_CHECK_INTERVAL)
        if settle is None:
            settle = settings.rescan_interval + SETTLE_MARGIN
        retry = settings.websub_retry_delay, settings.websub_retry_window
        self._policy = RetryPolicy(*retry, settle)
        self._post = post
        self._clock = clock
        self._reset()
        _NOTIFIERS.add(self)

    def _reset(self) -> None:
        """The state of a process that has not run yet (also a forked child's)."""
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._election = Election(self._state.folder)
        self._forked = False  # a child forked from the process that built the app
        self._last: Catalog | None = None  # the catalog last compared
        self._outbox: Outbox | None = None  # loaded once elected, None otherwise
        self._outbox_lock = threading.Lock()  # for pending() from other threads

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="feedsvc-websub", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and give up the election; pending notifications stay in the state
        database for whoever notifies next."""
        self._pause()
        self._election.release()
        self._outbox = None

    def wake(self, catalog: Catalog | None = None) -> None:
        """The service built a new view: look now rather than at the next check."""
        self._wakeup.set()

    @property
    def leader(self) -> bool:
        """Whether this process won the election (and so notifies)."""
        return self._outbox is not None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def pending(self) -> list[Pending]:
        """The notifications this process has still to send (none unless it is the leader)."""
        with self._outbox_lock:
            return [] if self._outbox is None else self._outbox.pending

    def run_once(self) -> None:
        """One round of the thread's work: stand for election, and once elected, compare the
        catalog and send what is due. For a notifier whose thread is not running."""
        # Only a process that serves, or a forked worker, notifies: a preloading parent forks
        # its workers, and work there could be caught by a fork holding a lock.
        if self._outbox is None and (self._forked or self._source.keeper.serving):
            self._elect()
        outbox = self._outbox
        if outbox is not None:
            self._check(outbox)
            self._deliver(outbox)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()  # before the work: a wake-up during it is not lost
            try:
                self.run_once()
            except Exception:  # a bug here must not end notifying for good
                log.exception("WebSub notifier: unexpected error; trying again")
            if not self._stopping.is_set():
                self._wakeup.wait(self._sleep())

    def _sleep(self) -> float:
        outbox = self._outbox
        until = None if outbox is None else outbox.sleep(self._clock())
        return self._check_interval if until is None else min(self._check_interval, until)

    def _elect(self) -> None:
        if not self._election.take():
            return
        try:  # only the leader reads or writes the outbox
            outbox = Outbox(self._policy, self._state.announced())
            for hub, topic, since in self._state.pending():
                outbox.record([topic], [hub], since)
        except BaseException:
            self._election.release()  # the next round tries again
            raise
        self._last = None
        self._outbox = outbox
        log.info("WebSub: this process (pid %d) notifies the hubs", os.getpid())

    def _check(self, outbox: Outbox) -> None:
        catalog = self._source.catalog()
        if catalog is self._last:
            return
        site = self._site
        scopes = touched_scopes(site, self._last, catalog)

        def etag_of(key: FeedKey) -> str | None:
            rendered = self._source.feed(key, fresh=True)
            return None if rendered is None else rendered.etag

        current = topic_etags(site, scopes, etag_of)
        # Topics of the scopes looked at; after an election, every topic announced before.
        looked_at = None if self._last is None else topic_urls(site, scopes)
        self._last = catalog
        changed = outbox.seen(current, looked_at)
        if changed:
            with self._outbox_lock:
                outbox.record(changed, site.hub_urls, self._clock().wall)
            log.info("WebSub: %d feeds changed: %s", len(changed), " ".join(changed))
        self._save(outbox)

    def _deliver(self, outbox: Outbox) -> None:
        now = self._clock()
        with self._outbox_lock:
            given_up = outbox.given_up(now)
        for p in given_up:
            log.error("WebSub: gave up telling %s that %s changed: no success for %.0f s",
                      p.hub, p.topic, self._policy.window)  # fmt: skip
        failed_hubs: set[str] = set()
        delivered = False
        for p in outbox.due(now):
            if self._stopping.is_set():
                break
            if p.hub in failed_hubs:
                continue  # one failure per hub and round
            try:
                self._post(p.hub, p.topic)
            except Exception as e:  # whatever the hub did, it is retried
                failed_hubs.add(p.hub)
                delay = outbox.failed(p.hub, self._clock())
                log.warning("WebSub hub %s failed (%s); %d notifications wait, next try in "
                            "%.1f s", p.hub, _reason(e), outbox.waiting(p.hub), delay)  # fmt: skip
            else:
                with self._outbox_lock:
                    outbox.delivered(p)
                delivered = True
        if delivered or given_up:
            self._save(outbox)

    def _save(self, outbox: Outbox) -> None:
        rows = [(p.hub, p.topic, p.since) for p in outbox.pending]
        try:
            self._state.save_outbox(outbox.announced, rows)
        except sqlite3.Error as e:
            log.error("WebSub: cannot save the outbox (%s); a restart may lose notifications", e)

    def _pause(self) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            self._stopping.set()
            self._wakeup.set()
            thread.join(timeout=POST_TIMEOUT * 3)
        self._thread = None

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
        self._election.release()  # the child's copy only: the parent keeps its lock
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


_hooks_installed = False


def install_fork_hooks() -> None:
    """Stop every notifier's thread before a fork and start it again after, in the parent and
    in the child (once per process; os.register_at_fork cannot be undone)."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    os.register_at_fork(
        before=_each(Notifier._before_fork),
        after_in_parent=_each(Notifier._after_fork_in_parent),
        after_in_child=_each(Notifier._after_fork_in_child),
    )

"""The store keeper: keeps one process's snapshot of the store current and its state saved.

The store is looked at again at most once per ``rescan_interval``, by whichever caller comes
first; the others go on with the snapshot there is. Work that may take seconds (the first
sweep after a restart, saving what changed to the state database) runs in one background
thread per process, started at the first look in a process that serves: never in a
preloading parent, whose forks could catch the thread holding a lock.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .model import Article, Problem
from .settings import Settings
from .state import State
from .store.files import paused_gc
from .store.reader import StoreReader
from .store.snapshot import StoreSnapshot
from .store.sweeps import ScanPolicy

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class KeeperPolicy:
    """When the keeper does its background work; tests pass their own."""

    scan: ScanPolicy = field(default_factory=ScanPolicy)
    # Seconds after a first start (no state to restore) before the first save: the first
    # requests are served first (saving 100,000 files takes seconds of the same process).
    first_save_delay: float = 5.0
    # Stores at least this large are moved out of the garbage collector's sight once loaded.
    freeze_articles: int = 5000


class StoreKeeper:
    """The current snapshot of one store, and the reader behind it."""

    def __init__(self, settings: Settings, state: State, clock: Clock, policy: KeeperPolicy):
        self._settings = settings
        self._clock = clock
        self._policy = policy
        self._scan_lock = threading.Lock()
        self._work = threading.Event()  # wakes the background thread: something to save
        self._keeper_pid = 0  # the process whose background thread runs
        # No cyclic collection while the first records are made: the collector would walk
        # them all as soon as it ran again, unless they are frozen first (below).
        with paused_gc():
            self.reader = StoreReader(settings.articles_dir, settings.site, state, policy.scan)
            # Restored from the state database: serve that at once; the first sweep of the
            # store runs in the background.
            self._restoring = self.reader.restored
            self.snapshot = self.reader.snapshot if self._restoring else self.reader.scan()
            if len(self.snapshot.articles) >= policy.freeze_articles:
                # A large store's records live as long as the process: out of the cyclic
                # collector's sight, a collection does not walk them all (a second for 100,000
                # articles, on some request), and forked workers keep sharing their pages.
                # Frozen before the collector is back, whose first collection would walk them.
                gc.freeze()
        self._last_scan = time.monotonic()
        self.last_complete_scan = clock()

    @property
    def serving(self) -> bool:
        """Whether this process serves: its background work has started, at its first look.
        A preloading parent that forks the workers never serves."""
        return self._keeper_pid == os.getpid()

    @property
    def restoring(self) -> bool:
        """Whether the snapshot is still the one restored, the store not swept yet."""
        return self._restoring

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.snapshot.problems

    def current(self) -> StoreSnapshot:
        """The snapshot, after a look at the store if one is due (and no other thread is
        looking: then the snapshot there is)."""
        if not self._keeper_pid:  # the first look of all: the background work starts now
            self._start()
        if time.monotonic() - self._last_scan < self._settings.rescan_interval:
            return self.snapshot
        if self._keeper_pid != os.getpid():  # a process forked after the first look
            self._start()
        if self._restoring:
            return self.snapshot  # the background thread sweeps first
        if self._scan_lock.acquire(blocking=False):
            try:
                self._scan()
            finally:
                self._scan_lock.release()
        return self.snapshot

    def withdraw(self, article: Article, reason: str) -> StoreSnapshot:
        """Reject an article version whose text cannot be rendered (reader.withdraw)."""
        with self._scan_lock:
            self.snapshot = self.reader.withdraw(article, reason)
        self._work.set()
        return self.snapshot

    def _scan(self) -> None:
        before = self.snapshot
        self.snapshot = self.reader.scan()
        self._last_scan = time.monotonic()
        if self.reader.unavailable is None:
            self.last_complete_scan = self._clock()
        if self.snapshot is not before:
            self._work.set()

    def _start(self) -> None:
        with self._scan_lock:
            if self._keeper_pid == os.getpid():
                return
            self._keeper_pid = os.getpid()
            self._work = threading.Event()
            self._work.set()
        # The thread holds the keeper weakly: it ends soon after the keeper is dropped.
        threading.Thread(
            target=_keep, args=(weakref.ref(self),), name="feedsvc-store-keeper", daemon=True
        ).start()

    def _sweep_restored(self) -> None:
        try:
            if self._restoring:
                with self._scan_lock:
                    self._scan()
        except Exception:  # background housekeeping: log it, never take the service down
            log.exception("store keeping failed")
        self._restoring = False


def _keep(keeper_ref: weakref.ref[StoreKeeper]) -> None:
    """The background thread: the first sweep after a restore, then saving what changed."""
    keeper = keeper_ref()
    if keeper is None:
        return
    keeper._sweep_restored()
    delay = 0.0 if keeper.reader.restored else keeper._policy.first_save_delay
    del keeper
    time.sleep(delay)
    while (keeper := keeper_ref()) is not None:
        work = keeper._work
        if work.is_set():
            work.clear()
            try:
                keeper.reader.save()
            except Exception:
                log.exception("cannot save the store's state; trying again at the next change")
        del keeper
        work.wait(1.0)

"""The edge that reads the article store: files -> validated Article records and Problems.

``StoreReader`` walks the folder (or looks only at the files its watch names), re-reads only
files whose stamp changed, and keeps an article's last good version while its file is broken.
What it knows is kept in the state database (state.py): a restart serves from there at once,
and a file broken while the service was down is still served from its last good version.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path
from time import monotonic

from ..errors import ArticleError
from ..model import Article, ArticleText, Problem, Site
from ..settings import SITE_FILE
from ..state import State
from .files import (
    Stamp,
    file_kind,
    link_problem,
    list_store,
    paused_gc,
    printable_path,
    read_regular_file,
    stamp_of,
)
from .parse import MAX_FILE_BYTES, article_text, read_article
from .records import Entry
from .saved import SavedEntries
from .snapshot import StoreSnapshot, build_snapshot
from .sweeps import ScanPolicy, Sweeps

log = logging.getLogger(__name__)


# Seconds between two error lines while the store stays unreadable.
ALARM_INTERVAL = 60.0
# Rejections logged one by one per scan; a store of 100,000 broken files logs a summary line.
MAX_LOGGED_REJECTIONS = 20
# What load_file answers when a file's stamp moved while it was read.
CHANGED_WHILE_READ = "changed while it was read; it is read again on the next scan"


class StoreReader:
    """Reads a store folder, re-reading only the files whose stamp changed since last time.

    An article's file may be broken, unreadable or not a file at all: it is reported and its
    last good version (if any) stays served. The folder itself may vanish or be unmounted: the
    last snapshot stays served and ``unavailable`` says why, until the folder is back.
    """

    def __init__(
        self, root: Path, site: Site, state: State, policy: ScanPolicy | None = None
    ) -> None:
        self.root = root
        self.site = site
        self.state = state
        self.policy = policy or ScanPolicy()
        self.sweeps = Sweeps(root, self.policy)
        # What is kept in the state database, and the bytes of each version served.
        self.saved = SavedEntries(state, root, site, self.policy.unsaved_bytes)
        self._unlisted: dict[str, str] = {}  # folder -> why it was not listed
        self._snapshot = StoreSnapshot(articles=(), problems=(), version=0)
        self.unavailable: str | None = None  # why the last scan could not read the store
        self._alarmed = 0.0  # when that was last logged (monotonic)
        self._rejected_now = 0  # files rejected by the current scan
        self._lock = threading.Lock()  # held by a scan
        with paused_gc():
            self._entries: dict[str, Entry] = self.saved.restore()
            # True when the snapshot comes from the state database: the store is not swept.
            self.restored = bool(self._entries)
            if self.restored:
                self._snapshot = self._build(1)
                log.info("%s: %d files restored from the state database", root, len(self._entries))

    @property
    def snapshot(self) -> StoreSnapshot:
        """The latest snapshot, without looking at the store."""
        return self._snapshot

    @property
    def last_good(self) -> int:
        """How many rejected files are still served from their last good version."""
        return sum(1 for e in self._entries.values() if e.problem and e.served is not None)

    def save(self) -> None:
        """Write what changed since the last call to the state database (seconds for
        100,000 new files: call it off the request path)."""
        self.saved.save(self._entries)

    def scan(self) -> StoreSnapshot:
        """Look at the store once more; the same snapshot object if nothing changed.

        Between full sweeps an inotify watch, where the system has one, names the files that
        changed, and only those are looked at.
        """
        with paused_gc(), self._lock:
            return self._scan()

    def _scan(self) -> StoreSnapshot:
        try:
            # An unmounted volume leaves an empty mount point: without site.toml (which every
            # store has) the folder is not the store, and must not empty the feeds.
            os.stat(self.root / SITE_FILE)
            changes = self.sweeps.changes()
            if changes is not None and self.unavailable is None:
                return self._scan_files(changes.paths)
            if self.sweeps.too_soon():
                return self._snapshot
            started = monotonic()
            files, unlisted = list_store(self.root)
        except OSError as e:
            # Loud, and again every minute while it lasts, so that it does not scroll away.
            if self.unavailable is None or monotonic() - self._alarmed >= ALARM_INTERVAL:
                log.error(
                    "ARTICLE STORE UNAVAILABLE: %s cannot be read (%s: %s); still serving the "
                    "last good state, %d articles", self.root, e.strerror, e.filename,
                    len(self._snapshot.articles),
                )  # fmt: skip
                self._alarmed = monotonic()
            self.unavailable = str(e.strerror)
            return self._snapshot
        self.sweeps.swept = monotonic()
        if self.unavailable is not None:
            log.warning("article store %s is readable again", self.root)
            self.unavailable = None
        changed = unlisted != self._unlisted
        self._unlisted = unlisted
        self._rejected_now = 0
        seen = {relpath for relpath, _ in files}
        read = self._refresh(files)
        changed = read or changed
        if not read:  # what a sweep that finds nothing new costs
            self.sweeps.sweep_seconds = monotonic() - started
        for gone in self._entries.keys() - seen:
            # The articles of a folder that cannot be listed now are kept, not deleted.
            if not any(gone.startswith(f"{folder}/") for folder in unlisted):
                del self._entries[gone]
                self.saved.changed(gone)
                changed = True
        return self._finish(changed)

    def _scan_files(self, relpaths: set[str]) -> StoreSnapshot:
        """Look at the named files only (created, changed or deleted)."""
        self._rejected_now = 0
        present: list[tuple[str, str]] = []
        changed = False
        for relpath in sorted(relpaths):
            full = os.path.join(self.root, relpath)
            if os.path.lexists(full):
                present.append((relpath, full))
            elif self._entries.pop(relpath, None) is not None:
                self.saved.changed(relpath)
                changed = True
        changed = self._refresh(present) or changed
        return self._finish(changed)

    def _refresh(self, files: list[tuple[str, str]]) -> bool:
        """Read again those of the files whose stamp changed; whether any had."""
        policy = self.policy
        stale: list[tuple[str, str, os.stat_result | None, Stamp]] = []
        for relpath, full in files:
            entry = self._entries.get(relpath)
            try:
                st: os.stat_result | None = os.stat(full)
            except OSError:
                st = None  # vanished between listing and stat, a dangling link or a loop
            stamp = stamp_of(st) if st else ""
            if entry is None or entry.stamp != stamp:
                stale.append((relpath, full, st, stamp))
        # The first scan validates front matter only, which is all that deciding what every
        # feed holds needs; texts are rendered when a document first shows them. A file that
        # changes later has its text rendered at once: it is about to be shown, and a broken
        # body is reported at once. (A bulk export that rewrites thousands of files is read
        # like a first scan.)
        eager = self._snapshot.version > 0 and len(stale) <= policy.max_eager_files
        for relpath, full, st, stamp in stale:
            entry = self._read(relpath, full, st, self._entries.get(relpath), stamp, eager=eager)
            if entry.problem is not None:
                self._report(entry.problem)
            self._entries[relpath] = entry
            self.saved.changed(relpath)
        return bool(stale)

    def _report(self, problem: Problem) -> None:
        self._rejected_now += 1
        if self._rejected_now <= MAX_LOGGED_REJECTIONS:
            log.warning("rejected %s", problem)

    def _finish(self, changed: bool) -> StoreSnapshot:
        if self._rejected_now > MAX_LOGGED_REJECTIONS:
            log.warning(
                "rejected %d more files; `feedsvc check` lists them all",
                self._rejected_now - MAX_LOGGED_REJECTIONS,
            )
        if changed or self._snapshot.version == 0:
            self._snapshot = self._build(self._snapshot.version + 1)
        return self._snapshot

    def _read(
        self, relpath: str, full: str, st: os.stat_result | None, previous: Entry | None,
        stamp: Stamp, *, eager: bool,
    ) -> Entry:  # fmt: skip
        outcome = load_file(self.root, relpath, full, st, stamp, self.site, eager=eager)
        if isinstance(outcome, tuple):
            article, raw, text = outcome
            if text is not None:  # a changed file: its text is rendered now (load_file)
                self.state.put_text(article.version, article.link, text)
            self.saved.keep(article.version, raw, always=eager)
            earlier = previous.served if previous is not None and not eager else None
            return Entry(stamp, article, None, earlier)
        if outcome is CHANGED_WHILE_READ:
            stamp = ""  # not this version's stamp: read it again on the next scan
        # A broken edit (often a half-written save) keeps the last good version served.
        served = previous.served if previous is not None else None
        if served is not None:
            outcome += " (its last good version is still served)"
        return Entry(stamp, served, Problem(printable_path(relpath), outcome))

    def withdraw(self, article: Article, reason: str) -> StoreSnapshot:
        """Reject an article version whose text failed when a document first needed it (its
        front matter was valid; its body is not): its previous version is served again if
        the reader still has it. A new snapshot, unless a scan replaced that version already."""
        relpath = article.path
        entry = self._entries.get(relpath)
        if entry is None or entry.served is None or entry.served.version != article.version:
            return self._snapshot
        if entry.fallback is not None:
            reason += " (its last good version is still served)"
        problem = Problem(printable_path(relpath), reason)
        log.warning("rejected %s", problem)
        with self._lock:
            self._entries[relpath] = Entry(entry.stamp, entry.fallback, problem)
            self.saved.changed(relpath)
        self._snapshot = self._build(self._snapshot.version + 1)
        return self._snapshot

    def _build(self, version: int) -> StoreSnapshot:
        problems = [e.problem for e in self._entries.values() if e.problem is not None]
        problems.extend(Problem(printable_path(f), why) for f, why in self._unlisted.items())
        candidates = [(path, e.served) for path, e in self._entries.items() if e.served is not None]
        return build_snapshot(candidates, problems, version)


def load_file(
    root: Path, relpath: str, full: str, st: os.stat_result | None, stamp: Stamp, site: Site,
    *, eager: bool,
) -> tuple[Article, bytes, ArticleText | None] | str:  # fmt: skip
    """A store file's article, its bytes and (if ``eager``) its text; or the reason it has
    none. Never raises: one file must not stop the others."""
    try:
        relpath.encode("utf-8")  # file names that are not UTF-8 come as lone surrogates
    except UnicodeEncodeError:
        return "its path is not valid UTF-8: rename it"
    problem = link_problem(root, full)
    if problem is not None:
        return problem
    if st is None:
        return "cannot be read (it vanished while the store was scanned)"
    if not stat.S_ISREG(st.st_mode):
        return f"not a regular file ({file_kind(st.st_mode)})"
    if st.st_size > MAX_FILE_BYTES:  # not even read
        return f"larger than {MAX_FILE_BYTES} bytes"
    try:
        raw, after = read_regular_file(full)
        if after != stamp:  # an editor saved while we read: maybe a mix of two versions
            return CHANGED_WHILE_READ
        article = read_article(raw, path=relpath, site=site)
        # A changed file has its text rendered at once, so that a broken body is reported.
        return article, raw, article_text(raw, article) if eager else None
    except OSError as e:
        return f"cannot be read: {e.strerror}"
    except ArticleError as e:
        return e.detail
    except Exception:  # a bug of ours, or of a library: it must not stop the other files
        log.exception("unexpected error reading %s", printable_path(relpath))
        return "could not be read because of an unexpected error (see the log)"

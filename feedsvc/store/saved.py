"""What a store reader keeps in the state database: each file's entry (its stamp, the record of
the version served, why it is rejected) and the bytes of every version served, so that a
restart serves at once and a version's text can be rendered after its file changed."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from ..model import Article, Problem, Site
from ..state import FileRow, State
from . import records
from .files import printable_path, read_regular_file
from .parse import version_of
from .records import Entry

log = logging.getLogger(__name__)

# File rows (and the bytes of their versions) written to the state database per transaction.
SAVE_CHUNK = 500


class SavedEntries:
    """The saved side of a StoreReader: restores its entries, takes note of what changed and
    writes it, and gives back the bytes of any version it serves."""

    def __init__(self, state: State, root: Path, site: Site, unsaved_bytes: int) -> None:
        self.state = state
        self.site = site
        self.identity = records.store_identity(root, site)
        self._prefix = os.path.join(root, "")
        self._unsaved_bytes = unsaved_bytes
        self._unsaved: set[str] = set()  # files whose entry the database does not have yet
        self._bodies: dict[str, bytes] = {}  # bytes of versions read, until saved
        self._bodies_size = 0
        self._saving: dict[str, bytes] = {}  # those being saved now
        self._lock = threading.Lock()  # to take what is to be saved
        self._save_lock = threading.Lock()  # one save at a time

    @property
    def up_to_date(self) -> bool:
        """Whether the state database holds all that was read so far."""
        return not self._unsaved and not self._save_lock.locked()

    def restore(self) -> dict[str, Entry]:
        """The entries kept for this store, site and parser; none (and the database claimed
        for them) when it keeps another's."""
        rows = self.state.files(self.identity)
        if rows is None:
            self.state.claim(self.identity)
            return {}
        site, entries, damaged = self.site, {}, 0
        for path, stamp, record, problem in rows:
            try:
                served = None if record is None else records.unflatten(records.loads(record), site)
            except Exception:  # a damaged row: the file is read again at the first sweep
                damaged += 1
                continue
            reason = None if problem is None else Problem(printable_path(path), problem)
            entries[path] = Entry(stamp, served, reason)
        if damaged:
            log.warning("state database: %d damaged rows ignored; their files are read again",
                        damaged)  # fmt: skip
        return entries

    def changed(self, path: str) -> None:
        """Take note that a file's entry changed (or went)."""
        with self._lock:
            self._unsaved.add(path)

    def keep(self, version: str, raw: bytes, *, always: bool = False) -> None:
        """Keep a version's bytes until they are saved (within the budget, unless ``always``)."""
        if always or self._bodies_size + len(raw) <= self._unsaved_bytes:
            with self._lock:
                self._bodies[version] = raw
                self._bodies_size += len(raw)

    def save(self, entries: Mapping[str, Entry]) -> None:
        """Write the entries that changed since the last call, with the bytes of every version
        served (read again from its file when they were not kept). Seconds for 100,000 new
        files: call it off the request path."""
        with self._save_lock:
            with self._lock:
                paths, self._unsaved = sorted(self._unsaved), set()
                bodies, self._bodies, self._bodies_size = self._bodies, {}, 0
                self._saving = bodies
            done = 0
            try:
                for done in range(0, len(paths), SAVE_CHUNK):
                    self._save_chunk(paths[done : done + SAVE_CHUNK], entries, bodies)
            except Exception:
                with self._lock:  # tried again next time
                    self._unsaved.update(paths[done:])
                    self._bodies.update(bodies)
                raise
            finally:
                self._saving = {}
            if paths:
                served = list(entries.values())
                self.state.prune({e.served.version for e in served if e.served is not None})

    def _save_chunk(
        self, paths: list[str], entries: Mapping[str, Entry], bodies: dict[str, bytes]
    ) -> None:
        rows: list[FileRow] = []
        deleted: list[str] = []
        wanted: dict[str, str] = {}  # digest -> path of a version served
        for path in paths:
            entry = entries.get(path)
            if entry is None:
                deleted.append(path)
                continue
            served = entry.served
            record = None if served is None else records.dumps(records.flatten(served, self.site))
            problem = None if entry.problem is None else entry.problem.reason
            rows.append((path, entry.stamp, record, problem))
            if served is not None:
                wanted[served.version] = path
        kept = self.state.has_bodies(wanted)
        new_bodies = []
        for digest, path in wanted.items():
            if digest in kept:
                continue
            raw = bodies.get(digest) or self._file_version(path, digest)
            if raw is not None:
                new_bodies.append((digest, raw))
        if not self.state.save_files(self.identity, rows, deleted, new_bodies):
            log.warning("the state database now keeps another store's files; not saved")

    def _file_version(self, path: str, digest: str) -> bytes | None:
        try:
            raw, _ = read_regular_file(self._prefix + path)
        except OSError:
            return None
        return raw if version_of(raw) == digest else None

    def version_bytes(self, article: Article) -> bytes:
        """The bytes of the version ``article`` was read from: kept in memory or in the state
        database, or its file, if it is still that version. OSError when none has it."""
        version = article.version
        raw = self._bodies.get(version) or self._saving.get(version) or self.state.body(version)
        if raw is None:
            raw = self._file_version(article.path, version)
        if raw is None:
            raise OSError(0, "this version's file changed before its text was first shown")
        return raw

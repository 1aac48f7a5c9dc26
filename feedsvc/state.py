"""The one state layer: a SQLite database per machine, shared by all of its processes.

It keeps what must survive a restart or agree across a machine's workers:

- ``files``: every store file's stamp, the record of the version served from it (the current
  version, or the last good one while the current is rejected) and why it is rejected;
- ``bodies``: the bytes of every version served, so that its text can still be rendered after
  its file was edited, broken or deleted, even across a restart;
- ``texts``: the sanitized text of every rendered version, rendered once per machine;
- ``last_modified``: per document, the last ETag and its Last-Modified (``last_modified()``);
- ``websub_announced`` and ``websub_pending``: the WebSub outbox.

The files, bodies and texts are a cache of the store: they belong to one store, site
configuration and parser version (``identity``), and are emptied when that changes.

SQLite in WAL mode gives atomic commits, readers that never wait for the writer, and one
writer at a time across processes. ``synchronous=NORMAL``: a process killed at any moment
loses nothing it committed (the WAL is in the operating system's hands); a power cut may lose
the last commits but never damages the database. Schema changes are migrations numbered by
``PRAGMA user_version``. A database that cannot be read (damaged, or another program's) is
moved aside, logged, and replaced by a new one: the store rebuilds it, and the service never
stops for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from .model import ArticleText

log = logging.getLogger(__name__)

DATABASE_NAME = "feedsvc.sqlite3"
# "fdsv": marks the database as ours, so that another program's is never taken for it.
APPLICATION_ID = 0x66647376
# Each migration takes the schema from its index to the next version (user_version).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        stamp TEXT NOT NULL,
        record BLOB,
        problem TEXT
    );
    CREATE TABLE bodies (digest TEXT PRIMARY KEY, raw BLOB NOT NULL);
    CREATE TABLE texts (
        digest TEXT NOT NULL,
        link TEXT NOT NULL,
        content_html TEXT NOT NULL,
        summary_html TEXT NOT NULL,
        summary_text TEXT NOT NULL,
        PRIMARY KEY (digest, link)
    );
    CREATE TABLE last_modified (name TEXT PRIMARY KEY, etag TEXT NOT NULL, moment INTEGER NOT NULL);
    CREATE TABLE websub_announced (topic TEXT PRIMARY KEY, etag TEXT NOT NULL);
    CREATE TABLE websub_pending (
        hub TEXT NOT NULL,
        topic TEXT NOT NULL,
        since REAL NOT NULL,
        PRIMARY KEY (hub, topic)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
# Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT = 30.0
_SECOND = timedelta(seconds=1)
_T = TypeVar("_T")

# A file's row: (path, stamp, record or None, problem or None).
FileRow = tuple[str, str, bytes | None, str | None]


class StateError(Exception):
    """The database could not be opened even after it was moved aside."""


def ceil_to_second(moment: datetime) -> datetime:
    """HTTP dates have whole seconds; rounding up keeps 'never earlier than' true."""
    return datetime.fromtimestamp(math.ceil(moment.timestamp()), UTC)


class Database:
    """The database file ``path``: one connection per thread and process, migrated to the
    current schema; replaced by a new one when it turns out damaged or foreign."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()  # around recovery: one thread moves the database aside
        self._generation = 0  # grows when the database is replaced; connections reopen
        try:
            self._migrate(self._connect())
        except sqlite3.DatabaseError as e:
            self._replace(e)
            try:
                self._migrate(self._connect())
            except sqlite3.DatabaseError as again:
                raise StateError(f"cannot open {self.path}: {again}") from again

    def run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """``work`` on this thread's connection; a damaged database is replaced and the work
        done once more on the new one (which starts empty, as after a first start)."""
        try:
            return work(self._connect())
        except sqlite3.OperationalError:
            raise  # locked or busy too long, disk full: not a damaged database
        except sqlite3.DatabaseError as e:
            self._replace(e)
            self._migrate(self._connect())
            return work(self._connect())

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection (one per thread and process: sqlite3 connections are
        neither shared between threads here nor usable after a fork)."""
        local = self._local
        connection: sqlite3.Connection | None = getattr(local, "connection", None)
        if connection is not None and local.key == (os.getpid(), self._generation):
            return connection
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=True
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        local.connection, local.key = connection, (os.getpid(), self._generation)
        return connection

    def _migrate(self, db: sqlite3.Connection) -> None:
        with _transaction(db, immediate=True):
            application_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            if application_id != APPLICATION_ID and (tables or version):
                raise sqlite3.DatabaseError("not a feedsvc database (another program's?)")
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"written by a newer feedsvc (schema {version})")
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        # Touch every table once: a damaged page surfaces here rather than mid-request.
        for table in ("meta", "files", "last_modified", "websub_pending"):
            db.execute(f"SELECT * FROM {table} LIMIT 1").fetchall()

    def _replace(self, error: Exception) -> None:
        """Move the unreadable database aside (kept for a post-mortem) and start a new one."""
        with self._lock:
            aside = self.path.with_name(f"{DATABASE_NAME}.broken-{os.getpid()}-{id(error)}")
            log.error("state database %s cannot be used (%s); moved aside to %s and rebuilt "
                      "from the store", self.path, error, aside.name)  # fmt: skip
            with contextlib.suppress(AttributeError, sqlite3.Error):
                self._local.connection.close()
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
            self._generation += 1


class State:
    """The machine's state database in ``folder`` (created if needed; when it cannot be
    written, a private temporary folder is used and restarts start afresh)."""

    def __init__(self, folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = tempfile.TemporaryFile(dir=folder)
            probe.close()
        except OSError as e:
            fallback = Path(tempfile.mkdtemp(prefix="feedsvc-state-"))
            log.warning("cannot write the state folder %s (%s); keeping state in %s until "
                        "the service stops", folder, e.strerror, fallback)  # fmt: skip
            folder = fallback
        self.folder = folder
        self.path = folder / DATABASE_NAME
        self._run = Database(self.path).run

    # --- the store's cache ----------------------------------------------------------------

    def files(self, identity: str) -> list[FileRow] | None:
        """Every file row of the store ``identity`` names; None when the database holds
        another store's (or none)."""

        def read(db: sqlite3.Connection) -> list[FileRow] | None:
            with _transaction(db):
                row = db.execute("SELECT value FROM meta WHERE key='identity'").fetchone()
                if row is None or row[0] != identity:
                    return None
                return db.execute("SELECT path, stamp, record, problem FROM files").fetchall()

        return self._run(read)

    def claim(self, identity: str) -> None:
        """Make the database the cache of store ``identity``: another store's files, bodies
        and texts are dropped (the ledger and the WebSub outbox stay)."""

        def claim(db: sqlite3.Connection) -> None:
            with _transaction(db, immediate=True):
                row = db.execute("SELECT value FROM meta WHERE key='identity'").fetchone()
                if row is not None and row[0] == identity:
                    return
                for table in ("files", "bodies", "texts"):
                    db.execute(f"DELETE FROM {table}")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('identity', ?)", (identity,))

        self._run(claim)

    def save_files(
        self,
        identity: str,
        rows: Iterable[FileRow],
        deleted: Iterable[str],
        bodies: Iterable[tuple[str, bytes]],
    ) -> bool:
        """Write file rows, delete rows and add version bodies in one transaction; False (and
        nothing written) when the database holds another store's cache now."""

        def write(db: sqlite3.Connection) -> bool:
            with _transaction(db, immediate=True):
                row = db.execute("SELECT value FROM meta WHERE key='identity'").fetchone()
                if row is None or row[0] != identity:
                    return False
                db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", rows)
                db.executemany("DELETE FROM files WHERE path=?", ((p,) for p in deleted))
                db.executemany("INSERT OR IGNORE INTO bodies VALUES (?, ?)", bodies)
            return True

        return self._run(write)

    def has_bodies(self, digests: Iterable[str]) -> set[str]:
        """Which of ``digests`` have their bytes kept (one query, however many)."""
        query = "SELECT digest FROM bodies WHERE digest IN (SELECT value FROM json_each(?))"
        wanted = json.dumps(list(digests))
        return self._run(lambda db: {d for (d,) in db.execute(query, (wanted,))})

    def prune(self, keep: set[str]) -> int:
        """Delete the bodies and texts of versions not in ``keep``; how many bodies went."""

        def prune(db: sqlite3.Connection) -> int:
            with _transaction(db, immediate=True):
                gone = [d for (d,) in db.execute("SELECT digest FROM bodies") if d not in keep]
                db.executemany("DELETE FROM bodies WHERE digest=?", ((d,) for d in gone))
                stale = {d for (d,) in db.execute("SELECT DISTINCT digest FROM texts")} - keep
                db.executemany("DELETE FROM texts WHERE digest=?", ((d,) for d in stale))
            return len(gone)

        return self._run(prune)

    def body(self, digest: str) -> bytes | None:
        row = self._run(
            lambda db: db.execute("SELECT raw FROM bodies WHERE digest=?", (digest,)).fetchone()
        )
        return None if row is None else bytes(row[0])

    def text(self, digest: str, link: str) -> ArticleText | None:
        row = self._run(
            lambda db: db.execute(
                "SELECT content_html, summary_html, summary_text FROM texts "
                "WHERE digest=? AND link=?",
                (digest, link),
            ).fetchone()
        )
        return None if row is None else ArticleText(*row)

    def put_text(self, digest: str, link: str, text: ArticleText) -> None:
        self._run(
            lambda db: db.execute(
                "INSERT OR IGNORE INTO texts VALUES (?, ?, ?, ?, ?)",
                (digest, link, text.content_html, text.summary_html, text.summary_text),
            )
        )

    # --- Last-Modified ---------------------------------------------------------------------

    def last_modified(self, name: str, etag: str, floor: datetime, now: datetime) -> datetime:
        """The Last-Modified of document ``name`` whose bytes have ``etag``.

        Unchanged bytes keep their date. Changed bytes get a date later than the previous one
        (at least ``now``, truncated to the second); a document seen for the first time gets
        ``floor`` (its newest item's updated time), which every fresh instance agrees on.
        It cannot be derived from the articles alone: deleting the newest article, or an edit
        without ``updated:``, changes the bytes but not the newest date, and libcurl-based
        readers (newsboat) drop a 200 whose Last-Modified is not newer than theirs.
        """

        def decide(db: sqlite3.Connection) -> datetime:
            with _transaction(db, immediate=True):
                row = db.execute(
                    "SELECT etag, moment FROM last_modified WHERE name=?", (name,)
                ).fetchone()
                if row is not None and row[0] == etag:
                    return datetime.fromtimestamp(row[1], UTC)
                moment = ceil_to_second(floor)
                if row is not None:
                    earlier = datetime.fromtimestamp(row[1], UTC)
                    now_second = datetime.fromtimestamp(int(now.timestamp()), UTC)
                    moment = max(moment, earlier + _SECOND, now_second)
                db.execute(
                    "INSERT OR REPLACE INTO last_modified VALUES (?, ?, ?)",
                    (name, etag, int(moment.timestamp())),
                )
                return moment

        return self._run(decide)

    # --- the WebSub outbox -----------------------------------------------------------------

    def announced(self) -> dict[str, str]:
        """Each topic's ETag as last announced."""
        return dict(self._run(lambda db: db.execute("SELECT * FROM websub_announced").fetchall()))

    def pending(self) -> list[tuple[str, str, float]]:
        """The notifications not delivered yet: (hub, topic, since)."""
        return self._run(
            lambda db: db.execute(
                "SELECT * FROM websub_pending ORDER BY since, hub, topic"
            ).fetchall()
        )

    def save_outbox(
        self, announced: dict[str, str], pending: Iterable[tuple[str, str, float]]
    ) -> None:
        """Replace the outbox: each topic's ETag as announced, and the notifications due."""
        rows = list(pending)

        def write(db: sqlite3.Connection) -> None:
            with _transaction(db, immediate=True):
                db.execute("DELETE FROM websub_announced")
                db.executemany("INSERT INTO websub_announced VALUES (?, ?)", announced.items())
                db.execute("DELETE FROM websub_pending")
                db.executemany("INSERT OR IGNORE INTO websub_pending VALUES (?, ?, ?)", rows)

        self._run(write)


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection, *, immediate: bool = False) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back if it raises.
    ``immediate`` takes the write lock at once (a read-then-write decision)."""
    db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")

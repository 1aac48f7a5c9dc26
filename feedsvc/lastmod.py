"""Last-Modified that moves forward whenever a feed's bytes change, and stays put otherwise.

A feed's Last-Modified cannot be derived from its articles alone: deleting the newest article,
or editing one without touching ``updated:``, changes the bytes but not the newest date, and
libcurl-based readers (newsboat) drop a 200 whose Last-Modified is not newer than theirs. So
each feed's last ETag and Last-Modified are remembered in a small JSON file that survives
restarts and is shared by the workers of one machine (under a file lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

LEDGER_FILE = "last-modified.json"
_SECOND = timedelta(seconds=1)


def ceil_to_second(moment: datetime) -> datetime:
    """HTTP dates have whole seconds; rounding up keeps 'never earlier than' true."""
    stamp = math.ceil(moment.timestamp())
    return datetime.fromtimestamp(stamp, UTC)


class LastModifiedLedger:
    """Remembers, per feed, the ETag last served and its Last-Modified."""

    def __init__(self, state_dir: Path | None) -> None:
        self._path = state_dir / LEDGER_FILE if state_dir is not None else None
        self._memory: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        if state_dir is not None:
            try:
                state_dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                log.warning("cannot create state folder %s (%s); Last-Modified is kept in "
                            "memory and restarts may move it", state_dir, e)  # fmt: skip
                self._path = None

    @property
    def folder(self) -> Path | None:
        """The state folder, when it can be written."""
        return self._path.parent if self._path is not None else None

    def last_modified(self, name: str, etag: str, floor: datetime, now: datetime) -> datetime:
        """The Last-Modified of feed ``name`` whose bytes have ``etag``.

        Unchanged bytes keep their date. Changed bytes get a date later than the previous one
        (at least ``now``, truncated to the second); a feed seen for the first time gets
        ``floor`` (its newest item's updated time), which every fresh instance agrees on.
        """
        with self._lock, self._records() as records:
            previous = records.get(name)
            if previous is not None and previous[0] == etag:
                return datetime.fromtimestamp(previous[1], UTC)
            moment = ceil_to_second(floor)
            if previous is not None:
                earlier = datetime.fromtimestamp(previous[1], UTC)
                now_second = datetime.fromtimestamp(int(now.timestamp()), UTC)
                moment = max(moment, earlier + _SECOND, now_second)
            records[name] = (etag, int(moment.timestamp()))
            return moment

    @contextlib.contextmanager
    def _records(self) -> Iterator[dict[str, tuple[str, int]]]:
        if self._path is None:
            yield self._memory
            return
        lock_path = self._path.with_suffix(".lock")
        try:
            lock_file = open(lock_path, "a+")
        except OSError as e:
            log.warning("cannot open %s (%s); Last-Modified kept in memory", lock_path, e)
            self._path = None
            yield self._memory
            return
        with lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            records = self._load()
            before = dict(records)
            yield records
            if records != before:
                self._save(records)

    def _load(self) -> dict[str, tuple[str, int]]:
        assert self._path is not None
        try:
            raw = json.loads(self._path.read_text("utf-8"))
            return {str(k): (str(v[0]), int(v[1])) for k, v in raw.items()}
        except FileNotFoundError:
            return dict(self._memory)
        except (OSError, ValueError, TypeError, IndexError, AttributeError) as e:
            log.warning("ignoring unreadable %s (%s)", self._path, e)
            return dict(self._memory)

    def _save(self, records: dict[str, tuple[str, int]]) -> None:
        assert self._path is not None
        self._memory = dict(records)
        temporary = self._path.with_suffix(f".{os.getpid()}.tmp")
        try:
            temporary.write_text(json.dumps(records, sort_keys=True, indent=0), "utf-8")
            os.replace(temporary, self._path)
        except OSError as e:
            log.warning("cannot write %s (%s); Last-Modified kept in memory", self._path, e)

"""The store index: every article file's validated front matter, kept in the state folder, so
that a restart serves its first feed without reading 100,000 files first.

It is a cache: written in the background after scans, read once at start-up, and ignored
(rebuilt by a full scan) when it is missing, damaged, or was written by other code, for
another store or for another site configuration. It holds front matter only; texts are
rendered from the article files, as at a cold start. Values are plain tuples, read back by
an unpickler that builds nothing but built-in values.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import io
import logging
import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from .model import Article, Image, Problem, Site

log = logging.getLogger(__name__)

INDEX_FILE = "store-index.pickle"
_FORMAT = 3
# The modules whose code decides what a file's record is: another version of them means
# another index.
_PARSER_MODULES = ("store.py", "frontmatter.py", "model.py", "storeindex.py")
ARTICLE_FIELDS = tuple(f.name for f in fields(Article) if f.name != "source")
_ID = ARTICLE_FIELDS.index("id")
_GUID = ARTICLE_FIELDS.index("guid")
_IMAGE = ARTICLE_FIELDS.index("image")
_PUBLISHED = ARTICLE_FIELDS.index("published")
_UPDATED = ARTICLE_FIELDS.index("updated")
LINK = ARTICLE_FIELDS.index("link")


@dataclass(frozen=True, slots=True)
class IndexedFile:
    """What the reader knew of one file: its stamp, its record and the front-matter summary,
    and why it is rejected, if it is."""

    relpath: str
    stamp: tuple[int, ...]
    article: Article | None  # written with its record; the source is not kept
    summary: str
    problem: Problem | None


class RestoredFile(NamedTuple):
    """One file as the index gives it back: the record's fields but its text source. (A
    named tuple: a restart makes 100,000 of them, and a frozen dataclass takes three times
    as long to make.)"""

    relpath: str
    stamp: tuple[int, ...]
    values: list[Any] | None  # Article's fields but source, in order (ARTICLE_FIELDS)
    summary: str
    problem: Problem | None


@functools.cache
def code_fingerprint() -> str:
    digest = hashlib.sha256()
    folder = Path(__file__).parent
    for name in _PARSER_MODULES:
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()


def site_fingerprint(site: Site) -> str:
    return hashlib.sha256(repr(site).encode()).hexdigest()


def save_index(
    folder: Path, root: Path, site: Site, files: Iterable[IndexedFile], unlisted: dict[str, str]
) -> bool:
    """Write the index (atomically); False when another process is writing it right now or
    the folder cannot be written (logged)."""
    try:
        with _exclusive(folder / f"{INDEX_FILE}.lock") as locked:
            if not locked:
                return False
            header = {
                "format": _FORMAT,
                "code": code_fingerprint(),
                "root": str(root),
                "site": site_fingerprint(site),
                "unlisted": unlisted,
            }
            # Holding the lock, any half-written index left is one a killed process left.
            for stale in folder.glob(f"{INDEX_FILE}.*.tmp"):
                with contextlib.suppress(OSError):
                    stale.unlink()
            fd, temporary = tempfile.mkstemp(prefix=f"{INDEX_FILE}.", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(fd, "wb") as out:
                    # In chunks, each its own pickle, then None: writing never holds the
                    # whole index in memory.
                    pickle.dump(header, out, protocol=pickle.HIGHEST_PROTOCOL)
                    for chunk in _chunks(files):
                        flat = [flatten(f, site) for f in chunk]
                        pickle.dump(flat, out, pickle.HIGHEST_PROTOCOL)
                    pickle.dump(None, out, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temporary, folder / INDEX_FILE)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
            return True
    except OSError as e:
        log.warning("cannot write the store index in %s (%s)", folder, e.strerror)
        return False


def load_index(
    folder: Path, root: Path, site: Site
) -> tuple[list[RestoredFile], dict[str, str]] | None:
    """The files and unlisted folders of the index, or None (with why, in the log) when there
    is no index fit for this store, site and code."""
    path = folder / INDEX_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        log.warning("cannot read the store index %s (%s); scanning the store", path, e.strerror)
        return None
    try:
        stream = io.BytesIO(data)
        # One unpickler per record: each was written by its own dump, with its own memo.
        payload = PlainValues(stream).load()
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise ValueError("an index of another format")
        for what, expected in (
            ("code", code_fingerprint()),
            ("root", str(root)),
            ("site", site_fingerprint(site)),
        ):
            if payload.get(what) != expected:
                log.info("store index %s is for another %s; scanning the store", path, what)
                return None
        files: list[RestoredFile] = []
        while (chunk := PlainValues(stream).load()) is not None:
            files.extend(unflatten(item, site) for item in chunk)
        unlisted = dict(payload["unlisted"])
    except Exception as e:  # damaged or foreign: a cache, so never fatal
        log.warning("ignoring the store index %s (%s); scanning the store", path, e)
        return None
    return files, unlisted


_CHUNK = 2000


def _chunks(files: Iterable[IndexedFile]) -> Iterator[list[IndexedFile]]:
    chunk: list[IndexedFile] = []
    for indexed in files:
        chunk.append(indexed)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def flatten(indexed: IndexedFile, site: Site) -> tuple[object, ...]:
    """An indexed file as plain values; what the site gives by default (the GUID made of the
    id, an updated time equal to the published one) is left out."""
    article = None
    if indexed.article is not None:
        values: list[object] = [getattr(indexed.article, name) for name in ARTICLE_FIELDS]
        image = indexed.article.image
        values[_IMAGE] = None if image is None else (image.url, image.alt, image.type, image.length)
        if values[_GUID] == site.tag_uri(indexed.article.id):
            values[_GUID] = None
        published = _moment(indexed.article.published)
        updated = _moment(indexed.article.updated)
        values[_PUBLISHED] = published
        values[_UPDATED] = None if updated == published else updated
        article = tuple(values)
    problem = None if indexed.problem is None else (indexed.problem.path, indexed.problem.reason)
    return (indexed.relpath, indexed.stamp, article, indexed.summary, problem)


def unflatten(item: tuple[Any, ...], site: Site) -> RestoredFile:
    relpath, stamp, flat, summary, problem = item
    values = None
    if flat is not None:
        if len(flat) != len(ARTICLE_FIELDS):
            raise ValueError("an entry of another shape")
        values = list(flat)
        image = values[_IMAGE]
        if image is not None:
            values[_IMAGE] = Image(*image)
        if values[_GUID] is None:
            values[_GUID] = site.tag_uri(values[_ID])
        zone = site.timezone
        published = values[_PUBLISHED] = _datetime(values[_PUBLISHED], zone)
        updated = values[_UPDATED]
        values[_UPDATED] = published if updated is None else _datetime(updated, zone)
    if not (isinstance(relpath, str) and isinstance(stamp, tuple) and isinstance(summary, str)):
        raise ValueError("a damaged entry")
    return RestoredFile(
        relpath, stamp, values, summary, None if problem is None else Problem(*problem)
    )


def _moment(value: datetime) -> tuple[int, ...]:
    """A moment as its wall time and fold in the site's zone (or, for the few dates in UTC,
    in UTC; see store.py): made again as the very same value, without parsing or converting."""
    in_zone = isinstance(value.tzinfo, ZoneInfo)
    return (
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond, value.fold, in_zone,
    )  # fmt: skip


def _datetime(moment: tuple[int, ...], zone: ZoneInfo) -> datetime:
    year, month, day, hour, minute, second, microsecond, fold, in_zone = moment
    return datetime(
        year, month, day, hour, minute, second, microsecond, zone if in_zone else UTC, fold=fold
    )


class PlainValues(pickle.Unpickler):
    """Builds built-in values only (the index holds strings, numbers, tuples, lists, dicts):
    a foreign or tampered file cannot make it construct or call anything."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name}: only plain values are read here")


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[bool]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                yield False
                return
            raise
        yield True
    finally:
        os.close(fd)

"""Records as plain values: how an article's record is kept in the state database, and made
again without parsing anything.

What the site gives by default (the GUID made of the id, an updated time equal to the
published one) is left out. Dates are kept as their wall time and fold in the site's zone, so
that they come back as the very same value (a restored time in a skipped or repeated hour does
not move). Plain values are read back by an unpickler that builds nothing but built-in values:
a damaged or foreign row cannot make it construct or call anything.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from ..model import Article, Image, Problem, Site
from .parse import PARSER_VERSION


class Entry(NamedTuple):  # (not a frozen dataclass: quicker to make, 100,000 at a start)
    """What a store reader knows of one file."""

    stamp: str  # the file's stamp when it was read (files.stamp_of)
    served: Article | None  # the current version if valid, else the last good one, if any
    problem: Problem | None  # why the current version is not valid
    # The version before, while the current one's text has not been rendered yet: served
    # again if that text turns out invalid.
    fallback: Article | None = None


ARTICLE_FIELDS = tuple(f.name for f in fields(Article))
_ID = ARTICLE_FIELDS.index("id")
_GUID = ARTICLE_FIELDS.index("guid")
_IMAGE = ARTICLE_FIELDS.index("image")
_PUBLISHED = ARTICLE_FIELDS.index("published")
_UPDATED = ARTICLE_FIELDS.index("updated")


def store_identity(root: Path, site: Site) -> str:
    """What the records of a store depend on besides its files: the store's place, the site
    configuration and the parser version. Records kept for another identity are not used."""
    site_digest = hashlib.sha256(repr(site).encode()).hexdigest()
    return f"{root}\n{site_digest}\nparser {PARSER_VERSION}"


def flatten(article: Article, site: Site) -> tuple[object, ...]:
    """An article's record as plain values."""
    values: list[object] = [getattr(article, name) for name in ARTICLE_FIELDS]
    image = article.image
    values[_IMAGE] = None if image is None else (image.url, image.alt, image.type, image.length)
    if values[_GUID] == site.tag_uri(article.id):
        values[_GUID] = None
    published = _moment(article.published)
    updated = _moment(article.updated)
    values[_PUBLISHED] = published
    values[_UPDATED] = None if updated == published else updated
    return tuple(values)


def unflatten(flat: tuple[Any, ...] | list[Any], site: Site) -> Article:
    """The record ``flatten`` gave; ValueError or TypeError when it is of another shape."""
    if len(flat) != len(ARTICLE_FIELDS):
        raise ValueError("a record of another shape")
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
    return Article(*values)


def dumps(value: object) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Any:
    """Plain values from ``dumps``; pickle.UnpicklingError for anything else."""
    return PlainValues(io.BytesIO(data)).load()


def _moment(value: datetime) -> tuple[int, ...]:
    """A moment as its wall time and fold in the site's zone (or, for the few dates in UTC,
    in UTC): made again as the very same value, without parsing or converting."""
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
    """Builds built-in values only (strings, numbers, tuples, lists, dicts)."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name}: only plain values are read here")

"""Typed, bounded access to one article's front-matter values (pure): the text, lists and
mappings of frontmatter.py made typed values, each checked against the store format
(shared/specs/article-store.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit

from dateutil import parser as dateparser

from ..errors import ArticleError
from ..model import Image, Site
from ..sanitize import xml_safe

# Any one-line field (a date, a slug, a tag, a URL...): no real value comes close, and a
# megabyte-long scalar must be refused before it reaches a parser that is slow on it.
MAX_FIELD_LENGTH = 2000
MAX_DATE_LENGTH = 100  # dateutil's time grows with the square of the length
# Dates outside these years are typos; they would also reach the limits of date arithmetic
# (year 9999 plus a zone offset overflows) and of feed date formats (four-digit years).
EARLIEST_YEAR = 1900
LATEST_YEAR = 2999

# RFC 6838 also allows !#$&^ in names, but no registered type uses them and feed validators
# (our JSON Feed schema too) refuse them: letters, digits and . + - _ only.
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9_.+-]*/[a-z0-9][a-z0-9_.+-]*")
_SPACE = re.compile(r"\s")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})
# dateutil fills in missing parts from this, never from today (a bare date is midnight).
_DATE_DEFAULT = datetime(2000, 1, 1)  # noqa: DTZ001 - naive on purpose; the zone is added after


def shown(value: object, limit: int = 60) -> str:
    """A value for a message: its repr, cut short so that a huge scalar makes a short line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}\u2026"


def one_line(error: Exception) -> str:
    return " ".join(str(error).split())


class Fields:
    """Typed access to front-matter values (text, lists and mappings)."""

    def __init__(self, data: Mapping[object, object], path: str, owner: str | None = None) -> None:
        self.data = data
        self.path = path
        self.owner = owner  # the field these are the parts of (image: url, alt...)

    def fail(self, key: str, reason: str) -> ArticleError:
        if self.owner is not None:
            return ArticleError(self.path, f"{key} {reason}", self.owner)
        return ArticleError(self.path, reason, key)

    def text(self, key: str, *, required: bool = False, max_length: int = MAX_FIELD_LENGTH) -> str:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.fail(key, "is required")
            return ""
        if not isinstance(value, str):
            raise self.fail(key, f"must be text, not {type(value).__name__}")
        if len(value) > max_length:
            raise self.fail(key, f"is longer than {max_length} characters")
        return value.strip()

    def text_list(self, key: str, *, split: bool = True) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            items: list[object] = list(value.split(",")) if split else [value]
        elif isinstance(value, list):
            items = value
        else:
            raise self.fail(key, "must be a list of text")
        out = []
        for item in items:
            if not isinstance(item, str):
                raise self.fail(key, f"must be a list of text, not hold {type(item).__name__}")
            if len(item) > MAX_FIELD_LENGTH:
                raise self.fail(key, f"holds a value longer than {MAX_FIELD_LENGTH} characters")
            cleaned = " ".join(xml_safe(item).split())
            if cleaned:
                out.append(cleaned)
        return tuple(out)

    def boolean(self, key: str) -> bool:
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, f"must be true or false, not {type(value).__name__}")
        text = value.strip().lower() if value is not None else ""
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.fail(key, f"{shown(value)} is not true or false")

    def datetime(self, key: str, site: Site, *, required: bool = False) -> datetime | None:
        text = self.text(key, required=required, max_length=MAX_DATE_LENGTH)
        if not text:
            return None
        try:
            parsed = parse_date(text)
        except (ValueError, OverflowError):
            raise self.fail(key, f"{shown(text)} is not a date and time") from None
        if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
            raise self.fail(key, f"year {parsed.year} is not {EARLIEST_YEAR} to {LATEST_YEAR}")
        try:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=site.timezone)
            else:
                parsed = parsed.astimezone(site.timezone)
            offset = parsed.utcoffset()
        except (ValueError, OverflowError):  # "14-40" reads as a zone 40 hours off
            raise self.fail(key, f"{shown(text)} has no valid time zone") from None
        if offset is not None and offset % timedelta(minutes=1):
            # Local mean time (zones before ~1900, Africa/Monrovia until 1972) has offsets
            # with seconds, which neither RFC 822 nor RFC 3339 dates can write: use UTC.
            parsed = parsed.astimezone(UTC)
        return parsed

    def image(self, key: str, base_url: str) -> Image | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            value = {"url": value}
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a URL or a mapping with url, alt, type and length")
        image = Fields(value, self.path, owner=key)
        raw_url = image.text("url")
        if not raw_url:
            raise self.fail(key, "has no url")
        url, scheme = _join_url(base_url, raw_url)
        # No white space of any kind (U+2028 too): readers and the JSON Feed schema end a URL
        # there.
        if scheme not in ("http", "https") or xml_safe(url) != url or _SPACE.search(url):
            raise self.fail(key, f"url {shown(raw_url)} is not an http(s) URL")
        mime_type = image.text("type").lower() or None
        if mime_type is not None and not _MIME_TYPE.fullmatch(mime_type):
            raise self.fail(key, f"type {shown(mime_type)} is not a media type like image/jpeg")
        length_text = image.text("length")
        if length_text and not length_text.isdigit():
            raise self.fail(key, f"length {shown(length_text)} is not a number of bytes")
        return Image(
            url=url,
            alt=" ".join(xml_safe(image.text("alt")).split()),
            type=mime_type,
            length=int(length_text) if length_text else None,
        )


# The dates editors and exports write most: read by the standard library (3 µs, where
# dateutil takes 40 µs), with the same result; any other form goes to dateutil.
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?"
)


def parse_date(text: str) -> datetime:
    """A date and time as python-dateutil reads it (missing parts from 2000-01-01 00:00);
    naive when it names no zone. Raises ValueError or OverflowError."""
    if _ISO_DATE.fullmatch(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # "2025-02-30": dateutil words the refusal
    return dateparser.parse(text, default=_DATE_DEFAULT)


# URLs that urljoin would return as they are (absolute) or append to the origin (a path from
# the root, without dot segments): most image URLs; others go through urljoin.
_PLAIN_ABSOLUTE = re.compile(r"(https?)://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~%/-]*)?")
_PLAIN_ROOTED = re.compile(r"/(?!/)[A-Za-z0-9._~%/-]*")
_ORIGIN = re.compile(r"(https?)://[^/?#]+")


def _join_url(base_url: str, url: str) -> tuple[str, str]:
    """``urljoin(base_url, url)`` and its scheme ("" when urllib refuses the URL)."""
    absolute = _PLAIN_ABSOLUTE.fullmatch(url)
    if absolute is not None:
        return url, absolute.group(1)
    origin = _ORIGIN.match(base_url)
    if origin is not None and _PLAIN_ROOTED.fullmatch(url) and "/." not in url:
        return origin.group() + url, origin.group(1)
    try:
        joined = urljoin(base_url, url)
        return joined, urlsplit(joined).scheme
    except ValueError:  # urllib refuses some hosts, such as an unclosed "[" (IPv6)
        return url, ""

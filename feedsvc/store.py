"""The edge that reads the article store: files -> validated Article records and Problems.

``parse_article`` is pure (text in, record out). ``StoreReader`` walks the folder, re-reads only
files whose stamp changed, and keeps an article's last good version while its file is broken.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import io
import logging
import operator
import os
import pickle
import re
import signal
import stat
import struct
import tempfile
import threading
import unicodedata
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

import yaml
from dateutil import parser as dateparser

from .errors import ArticleError
from .frontmatter import load_front_matter
from .model import (
    ID_PATTERN,
    LANGUAGE_PATTERN,
    SLUG_PATTERN,
    Article,
    ArticleText,
    Image,
    Problem,
    ReadyText,
    Site,
    TextSource,
)
from .sanitize import excerpt_html, html_to_text, markdown_to_safe_html, xml_safe
from .settings import SITE_FILE
from .storeindex import (
    LINK,
    IndexedFile,
    PlainValues,
    RestoredFile,
    flatten,
    load_index,
    save_index,
    unflatten,
)
from .watch import Changes, TreeWatch

log = logging.getLogger(__name__)

# Larger files are rejected unread: no article needs a megabyte, and a runaway export must not
# exhaust memory.
MAX_FILE_BYTES = 1024 * 1024
MAX_ID_LENGTH = 200
MAX_TITLE_LENGTH = 1000
MAX_GUID_LENGTH = 2000
# Any other one-line field (a date, a slug, a tag, a URL...): no real value comes close, and a
# megabyte-long scalar must be refused before it reaches a parser that is slow on it.
MAX_FIELD_LENGTH = 2000
MAX_DATE_LENGTH = 100  # dateutil's time grows with the square of the length
# Dates outside these years are typos; they would also reach the limits of date arithmetic
# (year 9999 plus a zone offset overflows) and of feed date formats (four-digit years).
EARLIEST_YEAR = 1900
LATEST_YEAR = 2999

# Any absolute IRI (RFC 3987): a scheme, a colon and no white space.
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
# RFC 6838 also allows !#$&^ in names, but no registered type uses them and feed validators
# (our JSON Feed schema too) refuse them: letters, digits and . + - _ only.
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9_.+-]*/[a-z0-9][a-z0-9_.+-]*")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})
# dateutil fills in missing parts from this, never from today (a bare date is midnight).
_DATE_DEFAULT = datetime(2000, 1, 1)  # noqa: DTZ001 - naive on purpose; the zone is added after


# Line breaks other than "\n" that str.splitlines() also splits on.
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def split_front_matter(text: str) -> tuple[str, str]:
    """The YAML between the opening and closing ``---`` lines, and the body after them."""
    if text.startswith("---\n"):
        # The usual file: "\n"-only lines, closed by a bare "---" line. Found without
        # splitting the whole body into lines; anything else takes the general way below.
        close = text.find("\n---\n", 3)
        if close >= 0 and not _OTHER_BREAKS.search(text, 0, close):
            return text[4 : close + 1], text[close + 5 :]
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        raise ValueError("does not start with a '---' line (YAML front matter)")
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    raise ValueError("the front matter has no closing '---' line")


def parse_article(text: str, *, path: str, site: Site) -> Article:
    """Validate one article file's text into a record, rendered and sanitized now.

    Raises ArticleError naming the field and the reason.
    """
    try:
        header, body = split_front_matter(text)
    except ValueError as e:
        raise ArticleError(path, str(e)) from None
    return parse_front_matter(
        header, path=path, site=site,
        text=lambda link, summary: ReadyText(render_text(body, summary, link, path)),
    )  # fmt: skip


_BOM = b"\xef\xbb\xbf"


def read_front_matter(raw: bytes, path: str) -> tuple[str, int]:
    """An article file's front matter (decoded) and where its body starts in ``raw`` (checked
    to be UTF-8, but left unsplit and unrendered until its text is needed).

    Raises ArticleError when the file is too large, not UTF-8 or has no front matter.
    """
    if len(raw) > MAX_FILE_BYTES:
        raise ArticleError(path, f"larger than {MAX_FILE_BYTES} bytes")
    start = len(_BOM) if raw.startswith(_BOM) else 0
    if raw.startswith(b"---\n", start):
        # The usual file (see split_front_matter), split in its bytes: no byte of a UTF-8
        # sequence looks like "\n" or "-".
        close = raw.find(b"\n---\n", start + 3)
        if close >= 0:
            header = _utf8(raw, start + 4, close + 1, path)
            if not _OTHER_BREAKS.search(header):
                _utf8(raw, close + 5, len(raw), path)
                return header, close + 5
    # Any other shape: decoded whole and split by lines.
    text = _decode(raw, path)
    try:
        header, body = split_front_matter(text)
    except ValueError as e:
        raise ArticleError(path, str(e)) from None
    return header, len(raw) - len(body.encode())


def _utf8(raw: bytes, start: int, end: int, path: str) -> str:
    try:
        return raw[start:end].decode("utf-8")
    except UnicodeDecodeError as e:
        raise ArticleError(path, f"not UTF-8 text (byte {start + e.start})") from None


def parse_front_matter(
    header: str, *, path: str, site: Site, text: Callable[[str, str], TextSource]
) -> Article:
    """The record of one article file from its front matter; ``text(link, summary)`` gives its
    text source (with the front-matter summary as written: Markdown or HTML, or "").

    Raises ArticleError naming the field and the reason.
    """
    try:
        data = load_front_matter(header)
    except yaml.YAMLError as e:
        raise ArticleError(path, f"invalid YAML front matter: {_one_line(e)}") from None
    except RecursionError:  # pure-Python PyYAML (no libyaml) composes nested values recursively
        raise ArticleError(path, "invalid YAML front matter: nested too deeply") from None
    if not isinstance(data, Mapping):
        raise ArticleError(path, "the front matter is not a mapping of keys to values")
    fields = _Fields(data, path)

    article_id = fields.text("id", required=True)
    if len(article_id) > MAX_ID_LENGTH or not ID_PATTERN.fullmatch(article_id):
        raise ArticleError(
            path, f"{_shown(article_id)} must match [A-Za-z0-9._:-]+ (at most {MAX_ID_LENGTH})",
            "id",
        )  # fmt: skip
    title = " ".join(
        xml_safe(fields.text("title", required=True, max_length=MAX_TITLE_LENGTH)).split()
    )
    if not title:
        raise ArticleError(path, "is empty", "title")
    if len(title) > MAX_TITLE_LENGTH:
        raise ArticleError(path, f"is longer than {MAX_TITLE_LENGTH} characters", "title")
    published = fields.datetime("published", site, required=True)
    assert published is not None
    updated = fields.datetime("updated", site) or published
    if updated < published:
        raise ArticleError(path, "is earlier than published", "updated")
    category = fields.text("category", required=True)
    if not SLUG_PATTERN.fullmatch(category):
        raise ArticleError(path, f"{_shown(category)} must match [a-z0-9-]+", "category")
    if site.category(category) is None:
        raise ArticleError(
            path, f"unknown category {category!r}: declare [categories.{category}] in site.toml",
            "category",
        )  # fmt: skip
    language = fields.text("language") or site.language
    if not LANGUAGE_PATTERN.fullmatch(language):
        raise ArticleError(path, f"{_shown(language)} is not a language tag like 'en'", "language")
    slug = fields.text("slug") or slugify(Path(path).stem)
    if not SLUG_PATTERN.fullmatch(slug):
        raise ArticleError(path, f"{_shown(slug)} must match [a-z0-9-]+", "slug")
    guid = fields.text("guid", max_length=MAX_GUID_LENGTH)
    if guid and (not _IRI.fullmatch(guid) or xml_safe(guid) != guid):
        raise ArticleError(path, f"{_shown(guid)} is not an absolute IRI", "guid")

    link = f"{site.base_url}/{published.year:04}/{published.month:02}/{slug}/"
    summary = fields.text("summary", max_length=MAX_FILE_BYTES)
    authors = fields.text_list("authors", split=False) or fields.text_list("author", split=False)
    return Article(
        id=article_id,
        guid=guid or site.tag_uri(article_id),
        path=path,
        title=title,
        published=published,
        updated=updated,
        category=category,
        tags=tuple(dict.fromkeys(fields.text_list("tags"))),
        authors=authors,
        language=language,
        slug=slug,
        link=link,
        image=fields.image("image", link),
        sources=fields.text_list("sources"),
        draft=fields.boolean("draft"),
        source=text(link, summary),
    )


def render_text(body: str, summary: str, link: str, path: str) -> ArticleText:
    """An article's Markdown body and summary as sanitized HTML (the costly part: about 2 ms
    for a 1,000-word body). Raises ArticleError."""
    content_html = _safe_html(body, link, path, "body")
    summary_html = _safe_html(summary, link, path, "summary") if summary else ""
    if not summary_html:
        summary_html = excerpt_html(content_html, link)
    return ArticleText(
        content_html=content_html,
        summary_html=summary_html,
        summary_text=html_to_text(summary_html),
    )


def _safe_html(markdown: str, link: str, path: str, field: str) -> str:
    try:
        return markdown_to_safe_html(markdown, link)
    except ValueError as e:
        raise ArticleError(path, str(e), field) from None


def _shown(value: object, limit: int = 60) -> str:
    """A value for a message: its repr, cut short so that a huge scalar makes a short line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}\u2026"


def read_article_bytes(raw: bytes, *, path: str, site: Site) -> Article:
    """An article file's bytes as a record: the whole path from a file to a record, pure.

    Raises ArticleError when the file is too large, not UTF-8 (a BOM is allowed) or invalid.
    """
    return parse_article(_decode(raw, path), path=path, site=site)


def _decode(raw: bytes, path: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise ArticleError(path, f"larger than {MAX_FILE_BYTES} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ArticleError(path, f"not UTF-8 text (byte {e.start})") from None


class TextError(ArticleError):
    """An article version listed from its front matter cannot give its text: its body is
    invalid, or the file changed or vanished since. ``source`` names the version."""

    def __init__(self, path: str, reason: str, field: str | None, source: LazyText) -> None:
        super().__init__(path, reason, field)
        self.source = source


class SourcePack:
    """The bytes of every article version read, kept in an unlinked temporary file (on disk,
    not in memory) so that a version's text can be rendered when first needed, even after its
    file was edited, broken or deleted: the last good version of any article stays at hand."""

    def __init__(self, folder: Path | None) -> None:
        self._folder = folder
        self._file: _PackFile | None = None
        self._owner = 0  # the process that opened it: a forked worker appends to its own
        self._size = 0
        self._lock = threading.Lock()

    @classmethod
    def on(cls, file: _PackFile) -> SourcePack:
        """A pack writing into ``file`` (opened by another process before it forked this one)."""
        pack = cls(None)
        pack._file, pack._owner = file, os.getpid()
        return pack

    def put(self, data: bytes) -> PackedBytes:
        with self._lock:
            if self._file is None or self._owner != os.getpid():
                self._file = _PackFile(self._folder)
                self._owner = os.getpid()
                self._size = 0
            offset = self._size
            os.pwrite(self._file.fd, data, offset)
            self._size += len(data)
            return PackedBytes(self._file, offset, len(data))


class _PackFile:
    """An unlinked temporary file, closed when the last version packed in it is dropped."""

    def __init__(self, folder: Path | None) -> None:
        try:
            fd, name = tempfile.mkstemp(prefix="feedsvc-pack-", dir=folder)
        except OSError:  # the state folder is read-only: the system's temporary folder
            fd, name = tempfile.mkstemp(prefix="feedsvc-pack-")
        os.unlink(name)
        self.fd = fd
        # Not at exit: a background thread may still be writing while the interpreter ends.
        weakref.finalize(self, os.close, fd).atexit = False


@dataclass(frozen=True, slots=True)
class PackedBytes:
    file: _PackFile
    offset: int
    length: int

    def read(self) -> bytes:
        return os.pread(self.file.fd, self.length, self.offset)


class LazyText:
    """The text of one version of an article file, rendered on first use and kept in a
    TextCache: from the bytes packed when the file was read, or (for a version restored from
    the store index at start-up, until ``pack`` copies it) from the file itself, if it is still
    that version. Equal for the same version (path and stamp) of the same file."""

    __slots__ = ("_cache", "_packed", "full", "link", "path", "stamp", "summary")

    def __init__(
        self, cache: TextCache, packed: PackedBytes | None, full: str, path: str,
        stamp: tuple[int, ...], link: str, summary: str,
    ) -> None:  # fmt: skip
        self._cache = cache
        self._packed = packed
        self.full = full
        self.path = path
        self.stamp = stamp
        self.link = link
        self.summary = summary

    def text(self) -> ArticleText:
        return self._cache.text(self)

    @property
    def packed(self) -> PackedBytes | None:
        return self._packed

    def pack(self, pack: SourcePack) -> bool:
        """Copy this version's bytes into the pack, if its file is still this version."""
        if self._packed is not None:
            return True
        try:
            raw, after = _read_regular_file(self.full)
        except OSError:
            return False
        if after != self.stamp:
            return False
        self._packed = pack.put(raw)
        return True

    def _bytes(self) -> bytes:
        if self._packed is not None:
            return self._packed.read()
        raw, after = _read_regular_file(self.full)
        if after != self.stamp:
            raise OSError(
                0, "changed before its text was first shown since the service started: this "
                "version is not at hand any more",
            )  # fmt: skip
        return raw

    def render(self) -> ArticleText:
        """Render the text; TextError if the body is invalid or this version is gone."""
        try:
            _, body = split_front_matter(_decode(self._bytes(), self.path))
            return render_text(body, self.summary, self.link, self.path)
        except ArticleError as e:
            raise TextError(self.path, e.reason, e.field, self) from None
        except OSError as e:
            raise TextError(self.path, e.strerror or str(e), None, self) from None
        except ValueError as e:
            raise TextError(self.path, str(e), None, self) from None
        except Exception:  # a bug of ours or of a library: this article only, not the feed
            log.exception("unexpected error rendering %s", printable_path(self.path))
            reason = "could not be rendered because of an unexpected error (see the log)"
            raise TextError(self.path, reason, None, self) from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LazyText):
            return NotImplemented
        return (self.path, self.stamp) == (other.path, other.stamp)

    def __hash__(self) -> int:
        return hash((self.path, self.stamp))


def _text_bytes(text: ArticleText) -> int:
    return len(text.content_html) + len(text.summary_html) + len(text.summary_text)


class TextCache:
    """The rendered texts of recently used article versions, up to a budget of characters:
    feeds are rendered again whenever the store changes, mostly from the same articles."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._texts: OrderedDict[LazyText, ArticleText] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def cached(self, source: LazyText) -> ArticleText | None:
        with self._lock:
            text = self._texts.get(source)
            if text is not None:
                self._texts.move_to_end(source)
            return text

    def text(self, source: LazyText) -> ArticleText:
        text = self.cached(source)
        if text is None:
            text = source.render()  # outside the lock: two threads may render one; no harm
            self.put(source, text)
        return text

    def put(self, source: LazyText, text: ArticleText) -> None:
        with self._lock:
            if source in self._texts:
                return
            self._texts[source] = text
            self._chars += _text_bytes(text)
            while self._chars > self.max_chars and len(self._texts) > 1:
                _, evicted = self._texts.popitem(last=False)
                self._chars -= _text_bytes(evicted)


def slugify(name: str) -> str:
    """A file name or title as a slug: ASCII lowercase letters, digits and hyphens."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


class _Fields:
    """Typed access to front-matter values; YAML's own typing is not trusted."""

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
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # an explicit !!int tag
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
        if isinstance(value, bool):
            return value
        if value is not None and not isinstance(value, str | int):
            raise self.fail(key, f"must be true or false, not {type(value).__name__}")
        text = str(value).strip().lower() if value is not None else ""
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.fail(key, f"{_shown(value)} is not true or false")

    def datetime(self, key: str, site: Site, *, required: bool = False) -> datetime | None:
        value = self.data.get(key)
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            parsed = datetime.combine(value, time())
        else:
            text = self.text(key, required=required, max_length=MAX_DATE_LENGTH)
            if not text:
                return None
            try:
                parsed = parse_date(text)
            except (ValueError, OverflowError):
                raise self.fail(key, f"{_shown(text)} is not a date and time") from None
        if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
            raise self.fail(key, f"year {parsed.year} is not {EARLIEST_YEAR} to {LATEST_YEAR}")
        try:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=site.timezone)
            else:
                parsed = parsed.astimezone(site.timezone)
            offset = parsed.utcoffset()
        except (ValueError, OverflowError):  # "14-40" reads as a zone 40 hours off
            raise self.fail(key, f"{_shown(value)} has no valid time zone") from None
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
        image = _Fields(value, self.path, owner=key)
        raw_url = image.text("url")
        if not raw_url:
            raise self.fail(key, "has no url")
        url, scheme = _join_url(base_url, raw_url)
        if scheme not in ("http", "https") or xml_safe(url) != url or " " in url:
            raise self.fail(key, f"url {_shown(raw_url)} is not an http(s) URL")
        mime_type = image.text("type").lower() or None
        if mime_type is not None and not _MIME_TYPE.fullmatch(mime_type):
            raise self.fail(key, f"type {_shown(mime_type)} is not a media type like image/jpeg")
        length_text = image.text("length")
        if length_text and not length_text.isdigit():
            raise self.fail(key, f"length {_shown(length_text)} is not a number of bytes")
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


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


@dataclass(frozen=True, slots=True)
class StoreSnapshot:
    """Every valid article (drafts and future ones too) and every rejected file."""

    articles: tuple[Article, ...]  # sorted by id
    problems: tuple[Problem, ...]  # sorted by path
    version: int  # grows by one whenever either changes


class _Entry(NamedTuple):  # (not a frozen dataclass: quicker to make, 100,000 at a start)
    stamp: tuple[int, ...]
    served: Article | None  # the current version if valid, else the last good one, if any
    problem: Problem | None  # why the current version is not valid
    # The version before, while the current one's text has not been rendered yet: served
    # again if that text turns out invalid.
    fallback: Article | None = None


# Rendered texts kept per process (characters of HTML and plain text): enough for every
# subscription feed's items several times over; older archive months render again on demand.
TEXT_CACHE_CHARS = 48 * 1024 * 1024
# A first scan of at least this many files is shared among processes, one per core.
PARALLEL_SCAN_FILES = 5000
MAX_SCAN_PROCESSES = 4
# Files per batch a process takes at a time (about fifty batches per process): small enough
# that the processes end together, large enough that handing them out costs nothing.
MIN_SCAN_BATCH = 100
MAX_SCAN_BATCH = 2000
# From a cold page cache, files are read ahead by this many threads of a helper process, if at
# least a tenth of a sample of this many files is not in the cache.
PREFETCH_THREADS = 4
PREFETCH_SAMPLE = 64
# A scan that finds at most this many new or changed files renders their texts at once.
MAX_EAGER_FILES = 200
# Seconds between two looks at every file of the store while a change watch names the files
# that change: a safety net for changes the watch misses (network file systems).
FULL_SWEEP_INTERVAL = 300.0
# Without a change watch, sweeps are at least this many times their own duration apart (at
# most MAX_SWEEP_SPACING seconds): about 5% of a core, whatever the store's size.
SWEEP_SPACING = 20.0
MAX_SWEEP_SPACING = 60.0
CHEAP_SWEEP = 0.05  # seconds; cheaper sweeps are not spaced
# Seconds between two error lines while the store stays unreadable.
ALARM_INTERVAL = 60.0
# Rejections logged one by one per scan; a store of 100,000 broken files logs a summary line.
MAX_LOGGED_REJECTIONS = 20


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a store's records are built: Python would otherwise
    walk the growing heap again and again (half the time of reading 100,000 records). The
    records hold no cycles; reference counting frees what they drop."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class StoreReader:
    """Reads a store folder, re-reading only the files whose stamp changed since last time.

    An article's file may be broken, unreadable or not a file at all: it is reported and its
    last good version (if any) stays served. The folder itself may vanish or be unmounted: the
    last snapshot stays served and ``unavailable`` says why, until the folder is back.
    """

    def __init__(
        self,
        root: Path,
        site: Site,
        *,
        text_budget: int = TEXT_CACHE_CHARS,
        state_folder: Path | None = None,
    ) -> None:
        """``state_folder``: where the source pack and the store index are kept (None: the
        pack in the system's temporary folder, no index)."""
        self.root = root
        self.site = site
        self.texts = TextCache(text_budget)
        self._state_folder = state_folder
        self._prefix = os.path.join(root, "")  # + a relative path: faster than a join
        self._pack = SourcePack(state_folder)
        self._entries: dict[str, _Entry] = {}
        self._unlisted: dict[str, str] = {}  # folder -> why it was not listed
        self._snapshot = StoreSnapshot(articles=(), problems=(), version=0)
        self.unavailable: str | None = None  # why the last scan could not read the store
        self._alarmed = 0.0  # when that was last logged (monotonic)
        self._rejected_now = 0  # files rejected by the current scan
        self._watch: TreeWatch | None = None
        self._watch_failed = False
        self._swept = 0.0  # when the whole store was last looked at (monotonic)
        self._sweep_seconds = 0.0  # how long the last sweep that read nothing took
        # True when the snapshot comes from the store index: the store is not swept yet.
        self.restored = False
        self._quiet = False  # a forked scanning child: it logs nothing
        if state_folder is not None:
            with paused_gc():
                index = load_index(state_folder, root, site)
                if index is not None:
                    self._restore(*index)

    @property
    def snapshot(self) -> StoreSnapshot:
        """The latest snapshot, without looking at the store."""
        return self._snapshot

    def _restore(self, files: list[RestoredFile], unlisted: dict[str, str]) -> None:
        for restored in files:
            served = None if restored.values is None else self._article(restored, None)
            self._entries[restored.relpath] = _Entry(restored.stamp, served, restored.problem)
        self._unlisted = unlisted
        self._snapshot = self._build(1)
        self.restored = True
        log.info("%s: %d files restored from the store index", self.root, len(files))

    def save_index(self) -> bool:
        """Write the store index for the next start (a few seconds for 100,000 files: call
        it off the request path). False when there is nowhere to write it or another process
        is writing it now."""
        if self._state_folder is None:
            return False
        return save_index(
            self._state_folder, self.root, self.site, self._indexed(), dict(self._unlisted)
        )

    def _indexed(self) -> Iterator[IndexedFile]:
        for relpath, entry in list(self._entries.items()):
            article = entry.served
            source = article.source if article is not None else None
            if not isinstance(source, LazyText) or source.stamp != entry.stamp:
                # A broken file's last good version: its bytes are in this process's pack
                # only, so after a restart the file is read (and reported) afresh.
                article, source = None, None
            summary = source.summary if source is not None else ""
            yield IndexedFile(relpath, entry.stamp, article, summary, entry.problem)

    def pack_restored(self) -> None:
        """Copy into the pack the bytes of every version restored from the index (a read of
        every file, no parsing; run in the background after start-up), so that each stays at
        hand as its last good version if its file is edited later."""
        for entry in list(self._entries.values()):
            source = entry.served.source if entry.served is not None else None
            if isinstance(source, LazyText):
                source.pack(self._pack)

    def scan(self) -> StoreSnapshot:
        """Look at the store once more; the same snapshot object if nothing changed.

        Between full sweeps (every FULL_SWEEP_INTERVAL seconds) an inotify watch, where the
        system has one, names the files that changed, and only those are looked at.
        """
        with paused_gc():
            return self._scan()

    def _scan(self) -> StoreSnapshot:
        try:
            # An unmounted volume leaves an empty mount point: without site.toml (which every
            # store has) the folder is not the store, and must not empty the feeds.
            os.stat(self.root / SITE_FILE)
            changes = self._watched_changes()
            if changes is not None and self.unavailable is None:
                return self._scan_files(changes.paths)
            if self._watch is None and monotonic() - self._swept < self._sweep_spacing():
                return self._snapshot  # no watch: sweeps spaced to cost a few % of a core
            started = monotonic()
            files, unlisted = _list_store(self.root)
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
        self._swept = monotonic()
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
            self._sweep_seconds = monotonic() - started
        for gone in self._entries.keys() - seen:
            # The articles of a folder that cannot be listed now are kept, not deleted.
            if not any(gone.startswith(f"{folder}/") for folder in unlisted):
                del self._entries[gone]
                changed = True
        return self._finish(changed)

    def _sweep_spacing(self) -> float:
        if self._sweep_seconds < CHEAP_SWEEP:
            return 0.0  # a small store: sweeping at every check costs next to nothing
        return min(self._sweep_seconds * SWEEP_SPACING, MAX_SWEEP_SPACING)

    def _watched_changes(self) -> Changes | None:
        """The files that changed since the last scan, if the watch can tell and no full
        sweep is due; None: sweep. (Re)starts the watch before a sweep, so that nothing
        changing during the sweep is missed."""
        if self._watch is not None and self._watch.owner != os.getpid():
            # A worker forked from a preloading parent: the parent's inotify descriptor is
            # shared, and each event would reach only one of the processes reading it.
            self._watch.close()
            self._watch = None
        if self._watch is None:
            if not self._watch_failed:
                try:
                    self._watch = TreeWatch(self.root)
                except OSError as e:  # no inotify here, or its limits reached
                    self._watch_failed = True
                    log.info("no change watch on %s (%s); the store is swept on every check",
                             self.root, e.strerror)  # fmt: skip
            return None
        changes = self._watch.changes()
        if changes.everything or monotonic() - self._swept >= FULL_SWEEP_INTERVAL:
            self._watch.watch_tree()
            return None
        return changes

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
                changed = True
        changed = self._refresh(present) or changed
        return self._finish(changed)

    def _refresh(self, files: list[tuple[str, str]]) -> bool:
        """Read again those of the files whose stamp changed; whether any had."""
        processes = _scan_processes()
        # The first scan only: later ones run in a serving process, whose other threads a
        # fork must not catch holding a lock.
        first = self._snapshot.version == 0 and not self._entries
        if first and len(files) >= PARALLEL_SCAN_FILES and processes > 1:
            self._read_in_parallel(files, processes)  # (each process stats its own files)
            return True
        stale: list[tuple[str, str, os.stat_result | None, tuple[int, ...]]] = []
        for relpath, full in files:
            entry = self._entries.get(relpath)
            try:
                st: os.stat_result | None = os.stat(full)
            except OSError:
                st = None  # vanished between listing and stat, a dangling link or a loop
            stamp = _stamp(st) if st else ()
            if entry is None or entry.stamp != stamp:
                stale.append((relpath, full, st, stamp))
        # The first scan validates front matter only, which is all that deciding what every
        # feed holds needs; texts are rendered when a document first shows them (from the
        # pack: the file may have changed since). A file that changes later has its text
        # rendered at once: it is about to be shown, and a broken body is reported at once.
        # (A bulk export that rewrites thousands of files is read like a first scan.)
        eager = self._snapshot.version > 0 and len(stale) <= MAX_EAGER_FILES
        for relpath, full, st, stamp in stale:
            entry = self._entries.get(relpath)
            self._entries[relpath] = self._read(relpath, full, st, entry, stamp, eager=eager)
        return bool(stale)

    def _read_in_parallel(self, files: list[tuple[str, str]], processes: int) -> None:
        """The first scan of a large store, shared with forked children (one per core).

        The files are cut into batches, handed out through a pipe to whichever process is free
        next, so that each takes as many as it has time for. A child reads and validates its
        batches into a pack file opened here (so that this process reads it afterwards),
        writes each batch's records as plain values into a records file of its own, and tells
        this process through a pipe; between two of its own batches, this process takes in
        the batches the children have finished. (Records are not sent through a pipe: a
        child would stall as soon as it was full.)
        """
        size = max(MIN_SCAN_BATCH, min(MAX_SCAN_BATCH, len(files) // (processes * 50)))
        batches = [files[start : start + size] for start in range(0, len(files), size)]
        queue, queue_writer = os.pipe()
        # Every batch number at once, then end of file: the pipe is the queue (a batch number
        # is one read of a few bytes, which no two processes can share). Even 10 million files
        # make 5,000 numbers: far less than a pipe holds, so this write does not wait.
        os.write(queue_writer, b"".join(_BATCH_NUMBER.pack(n) for n in range(len(batches))))
        os.close(queue_writer)
        prefetcher = _fork_prefetcher(files)
        children = [self._fork_scanner(batches, queue) for _ in range(processes - 1)]
        done: set[int] = set()
        while (number := _next_batch(queue)) is not None:
            for relpath, full in batches[number]:
                self._entries[relpath] = self._read_fresh(relpath, full)
            done.add(number)
            for child in children:
                done.update(self._merge_finished(child, batches, wait=False))
        os.close(queue)
        for child in children:
            done.update(self._merge_finished(child, batches, wait=True))
            os.close(child.notes)
            _, status = os.waitpid(child.pid, 0)
            if status != 0:
                log.warning("a scanning process failed (status %d)", status)
        if prefetcher:
            with contextlib.suppress(OSError):
                os.kill(prefetcher, signal.SIGKILL)
            os.waitpid(prefetcher, 0)
        missing = [n for n in range(len(batches)) if n not in done]
        if missing:
            log.warning(
                "a scanning process left %d batches unread; reading them here", len(missing)
            )
            for number in missing:
                for relpath, full in batches[number]:
                    self._entries[relpath] = self._read_fresh(relpath, full)

    def _read_fresh(self, relpath: str, full: str) -> _Entry:
        try:
            st: os.stat_result | None = os.stat(full)
        except OSError:
            st = None  # vanished between listing and stat, a dangling link or a loop
        return self._read(relpath, full, st, None, _stamp(st) if st else (), eager=False)

    def _fork_scanner(self, batches: list[list[tuple[str, str]]], queue: int) -> _Scanner:
        pack, records = _PackFile(self._state_folder), _PackFile(self._state_folder)
        notes, notes_writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: batches until there are none, then exit without any cleanup
            code = 1
            try:
                os.close(notes)
                self._scan_batches(batches, queue, pack, records.fd, notes_writer)
                code = 0
            finally:
                os._exit(code)
        os.close(notes_writer)
        os.set_blocking(notes, False)
        return _Scanner(pid, pack, records, notes)

    def _scan_batches(
        self, batches: list[list[tuple[str, str]]], queue: int, pack: _PackFile, records: int,
        notes: int,
    ) -> None:  # fmt: skip
        """In a forked child: read batches into ``pack``, their records into ``records``, and
        say which (nothing logged here: the parent logs the rejections)."""
        self._pack = SourcePack.on(pack)
        self._quiet = True
        offset = 0
        while (number := _next_batch(queue)) is not None:
            values = [
                self._plain(relpath, self._read_fresh(relpath, full))
                for relpath, full in batches[number]
            ]
            data = pickle.dumps(values, pickle.HIGHEST_PROTOCOL)
            written = 0
            while written < len(data):
                written += os.pwrite(records, data[written:], offset + written)
            # One write, smaller than PIPE_BUF: never mixed with another process's.
            os.write(notes, _FINISHED.pack(number, offset, len(data)))
            offset += len(data)

    def _plain(self, relpath: str, entry: _Entry) -> tuple[object, ...]:
        """A file's record as plain values (_merge_share makes it again)."""
        article = entry.served
        if article is None:
            assert entry.problem is not None
            return (relpath, entry.stamp, None, entry.problem.reason)
        source = article.source
        assert isinstance(source, LazyText)
        assert source.packed is not None
        flat = flatten(IndexedFile(relpath, entry.stamp, article, source.summary, None), self.site)
        return (relpath, entry.stamp, flat, source.packed.offset, source.packed.length)

    def _merge_finished(
        self, child: _Scanner, batches: list[list[tuple[str, str]]], *, wait: bool
    ) -> list[int]:
        """Take in the batches ``child`` has finished (with ``wait``: until it exits); their
        numbers."""
        os.set_blocking(child.notes, wait)
        merged: list[int] = []
        while True:
            try:
                notes = os.read(child.notes, _FINISHED.size * 256)
            except BlockingIOError:
                return merged
            if not notes:
                return merged  # the child has exited
            for number, offset, length in _FINISHED.iter_unpack(notes):
                try:
                    data = os.pread(child.records.fd, length, offset)
                    values = PlainValues(io.BytesIO(data)).load()
                    if not isinstance(values, list) or len(values) != len(batches[number]):
                        raise ValueError("records of another shape")
                    self._merge_share(values, child.pack)
                except (OSError, EOFError, pickle.UnpicklingError, ValueError) as e:
                    log.warning("cannot read the records of a scanning process (%s)", e)
                    continue
                merged.append(number)

    def _merge_share(self, records: list[tuple[Any, ...]], pack_file: _PackFile) -> None:
        for record in records:
            relpath, stamp, flat = record[0], record[1], record[2]
            if flat is None:
                problem = Problem(printable_path(relpath), record[3])
                self._report(problem)
                self._entries[relpath] = _Entry(stamp, None, problem)
                continue
            packed = PackedBytes(pack_file, record[3], record[4])
            article = self._article(unflatten(flat, self.site), packed)
            self._entries[relpath] = _Entry(stamp, article, None)

    def _article(self, restored: RestoredFile, packed: PackedBytes | None) -> Article:
        """A record given back as plain values (by the store index or a scanning child)."""
        assert restored.values is not None
        source = LazyText(
            self.texts, packed, self._prefix + restored.relpath, restored.relpath,
            restored.stamp, restored.values[LINK], restored.summary,
        )  # fmt: skip
        # Positional: ARTICLE_FIELDS is Article's fields in order, source last.
        return Article(*restored.values, source=source)  # type: ignore[misc]

    def _report(self, problem: Problem) -> None:
        self._rejected_now += 1
        if self._rejected_now <= MAX_LOGGED_REJECTIONS and not self._quiet:
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
        self,
        relpath: str,
        full: str,
        st: os.stat_result | None,
        previous: _Entry | None,
        stamp: tuple[int, ...],
        *,
        eager: bool,
    ) -> _Entry:
        outcome = self._load(relpath, full, st, stamp, eager=eager)
        if isinstance(outcome, Article):
            earlier = previous.served if previous is not None and not eager else None
            return _Entry(stamp, outcome, None, earlier)
        if outcome is _CHANGED_WHILE_READ:
            stamp = ()  # not this version's stamp: read it again on the next scan
        # A broken edit (often a half-written save) keeps the last good version served.
        served = previous.served if previous is not None else None
        if served is not None:
            outcome += " (its last good version is still served)"
        problem = Problem(printable_path(relpath), outcome)
        self._report(problem)
        return _Entry(stamp, served, problem)

    def _load(
        self,
        relpath: str,
        full: str,
        st: os.stat_result | None,
        stamp: tuple[int, ...],
        *,
        eager: bool,
    ) -> Article | str:
        """The file's article, or the reason it has none."""
        try:
            relpath.encode("utf-8")  # file names that are not UTF-8 come as lone surrogates
        except UnicodeEncodeError:
            return "its path is not valid UTF-8: rename it"
        link_problem = self._link_problem(full)
        if link_problem is not None:
            return link_problem
        if st is None:
            return "cannot be read (it vanished while the store was scanned)"
        if not stat.S_ISREG(st.st_mode):
            return f"not a regular file ({_file_kind(st.st_mode)})"
        if st.st_size > MAX_FILE_BYTES:  # not even read
            return f"larger than {MAX_FILE_BYTES} bytes"
        try:
            raw, after = _read_regular_file(full)
            if after != stamp:  # an editor saved while we read: maybe a mix of two versions
                return _CHANGED_WHILE_READ
            header, body_start = read_front_matter(raw, relpath)

            def packed_text(link: str, summary: str) -> LazyText:  # once the record is valid
                packed = self._pack.put(raw)
                return LazyText(self.texts, packed, full, relpath, stamp, link, summary)

            article = parse_front_matter(header, path=relpath, site=self.site, text=packed_text)
            if eager:
                source = article.source
                assert isinstance(source, LazyText)
                body = _utf8(raw, body_start, len(raw), relpath)
                self.texts.put(source, render_text(body, source.summary, source.link, relpath))
            return article
        except OSError as e:
            return f"cannot be read: {e.strerror}"
        except ArticleError as e:
            return e.detail
        except Exception:  # a bug of ours, or of a library: it must not stop the other files
            if not self._quiet:
                log.exception("unexpected error reading %s", printable_path(relpath))
            return "could not be read because of an unexpected error (see the log)"

    def withdraw(self, error: TextError) -> StoreSnapshot:
        """Reject an article version whose text failed when a document first needed it (its
        front matter was valid; its body is not). A new snapshot, unless a scan replaced that
        version already."""
        relpath = error.source.path
        entry = self._entries.get(relpath)
        if entry is None or entry.served is None or entry.served.source != error.source:
            return self._snapshot
        reason = error.detail
        if entry.fallback is not None:
            reason += " (its last good version is still served)"
        problem = Problem(printable_path(relpath), reason)
        log.warning("rejected %s", problem)
        self._entries[relpath] = _Entry(entry.stamp, entry.fallback, problem)
        self._snapshot = self._build(self._snapshot.version + 1)
        return self._snapshot

    def _link_problem(self, full: str) -> str | None:
        """Why a symbolic link is not followed: a loop, a missing target, or one outside."""
        if not os.path.islink(full):
            return None
        try:
            target = os.path.realpath(full, strict=True)
        except OSError as e:
            if e.errno == errno.ELOOP:
                return "a symbolic link in a loop"
            return "a symbolic link to a missing file"
        # A link out of the store would publish whatever file it points at.
        root = os.path.realpath(self.root)
        if os.path.commonpath([root, target]) != root:
            return "a symbolic link to a file outside the store (not followed)"
        return None

    def _build(self, version: int) -> StoreSnapshot:
        problems = [e.problem for e in self._entries.values() if e.problem is not None]
        problems.extend(Problem(printable_path(f), why) for f, why in self._unlisted.items())
        candidates = [(path, e.served) for path, e in self._entries.items() if e.served is not None]
        # Two files claiming one id, GUID or link are both rejected, each naming the other, so
        # that every instance decides alike whatever order it reads the files in. (One link
        # for two articles happens when two files share a name and a month.) The sets find
        # whether there is any such claim at all cheaply; there rarely is.
        rejected: dict[str, list[str]] = defaultdict(list)
        served = [article for _, article in candidates]
        for what, value_of in _CLAIMS:
            values = list(map(value_of, served))
            if len(set(values)) == len(values):
                continue
            claims: dict[str, list[str]] = defaultdict(list)
            for (path, _), value in zip(candidates, values, strict=True):
                claims[value].append(path)
            for value, paths in sorted(claims.items()):
                if len(paths) > 1:
                    paths.sort()  # (the files are not in any order here)
                    for path in paths:
                        others = ", ".join(p for p in paths if p != path)
                        rejected[path].append(f"{what} {value!r} is also used by {others}")
        problems.extend(
            Problem(path, "; ".join(reasons)) for path, reasons in sorted(rejected.items())
        )
        articles = [a for path, a in candidates if path not in rejected]
        return StoreSnapshot(
            articles=tuple(sorted(articles, key=_ID)),
            problems=tuple(sorted(problems, key=lambda p: (p.path, p.reason))),
            version=version,
        )


_ID: Callable[[Article], str] = operator.attrgetter("id")
# What no two articles may share, in the order their conflicts are reported.
_CLAIMS: tuple[tuple[str, Callable[[Article], str]], ...] = (
    ("GUID", operator.attrgetter("guid")),
    ("id", _ID),
    ("link", operator.attrgetter("link")),
)


# What _load answers when a file's stamp moved while it was read.
_CHANGED_WHILE_READ = "changed while it was read; it is read again on the next scan"


_BATCH_NUMBER = struct.Struct("=I")
_FINISHED = struct.Struct("=IQQ")  # a batch's number, and where its records are


class _Scanner(NamedTuple):
    """A forked child sharing the first scan."""

    pid: int
    pack: _PackFile  # the bytes of the files it read
    records: _PackFile  # the records of its batches, one pickle each
    notes: int  # the pipe on which it says which batch is where in ``records``


def _fork_prefetcher(files: list[tuple[str, str]]) -> int:
    """A child that, when the files are not in the page cache (after a reboot, say), asks the
    kernel to read them ahead, several at a time, in the order the scan takes them: each
    scanner would otherwise wait for the disk one file at a time. Only a hint: it reads nothing
    into Python. Its pid, or 0 when there is no need."""
    if not (hasattr(os, "posix_fadvise") and hasattr(os, "RWF_NOWAIT")):  # Linux only
        return 0
    sample = files[:: max(1, len(files) // PREFETCH_SAMPLE)]
    if sum(_cached(full) for _, full in sample) >= 0.9 * len(sample):
        return 0
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.nice(19)  # the scanners first: this takes the time they spend waiting
        with ThreadPoolExecutor(PREFETCH_THREADS) as pool:
            for _ in pool.map(_read_ahead, (full for _, full in files), chunksize=64):
                pass
        code = 0
    finally:
        os._exit(code)


def _cached(full: str) -> bool:
    """Whether the start of the file is in the page cache (False when the system cannot say)."""
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return True  # nothing to read ahead
    try:
        os.preadv(fd, [bytearray(1)], 0, os.RWF_NOWAIT)
        return True
    except OSError:  # EAGAIN: on disk only; or no RWF_NOWAIT here
        return False
    finally:
        os.close(fd)


def _read_ahead(full: str) -> None:
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(fd)


def _next_batch(queue: int) -> int | None:
    data = os.read(queue, _BATCH_NUMBER.size)
    return _BATCH_NUMBER.unpack(data)[0] if data else None


def _scan_processes() -> int:
    if not hasattr(os, "fork"):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_SCAN_PROCESSES))


def _stamp(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "of another kind"


def printable_path(path: str) -> str:
    """A path as messages show it: bytes that are not UTF-8 (which Python keeps as lone
    surrogates) as \\x escapes, control characters as \\u escapes."""
    decoded = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", decoded)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _read_regular_file(path: str) -> tuple[bytes, tuple[int, ...]]:
    """At most MAX_FILE_BYTES + 1 bytes of a regular file, and its stamp after reading.
    Non-blocking open: a file swapped for a FIFO after it was listed must not hang the scanner.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file")
        # One read of the size the file has (plus one byte, to see it grow); a buffered read
        # of the full limit would allocate a megabyte for every file.
        limit = MAX_FILE_BYTES + 1
        want = min(st.st_size + 1, limit)
        data = os.read(fd, want)
        if len(data) == want:  # it grew since fstat: read on, up to the limit
            while len(data) < limit and (more := os.read(fd, limit - len(data))):
                data += more
        return data, _stamp(os.fstat(fd))
    finally:
        os.close(fd)


def _list_store(root: Path) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(relative posix path, full path) of every ``*.md`` below root, hidden ones skipped and
    symbolic links to folders not followed; and the folders below root that cannot be listed
    or are not followed, with why. OSError when root itself cannot be listed."""
    found: list[tuple[str, str]] = []
    unlisted: dict[str, str] = {}
    pending = [""]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(os.path.join(root, folder)) as listing:
                entries = [(e.name, e.path, e.is_dir(follow_symlinks=False)) for e in listing]
        except OSError as e:
            if not folder:
                raise
            unlisted[folder] = f"folder cannot be listed ({e.strerror}); its articles are kept"
            continue
        for name, full, is_folder in entries:
            if name.startswith("."):
                continue
            relpath = f"{folder}/{name}" if folder else name
            if is_folder:
                pending.append(relpath)
            elif name.endswith(".md"):
                found.append((relpath, full))
            elif os.path.islink(full) and os.path.isdir(full):
                unlisted[relpath] = "a symbolic link to a folder (not followed)"
    return sorted(found), unlisted

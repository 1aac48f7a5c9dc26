"""The records that cross layers: frozen, typed, timezone-aware. No framework imports."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

FeedFormat = Literal["rss", "atom", "json"]
FEED_FORMATS: tuple[FeedFormat, ...] = ("rss", "atom", "json")

# The slug of the full-site feed; a category may not take it.
ALL_SCOPE = "all"

# Patterns fixed by the store spec (shared/specs/article-store.md).
ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]+")
SLUG_PATTERN = re.compile(r"[a-z0-9-]+")
# An article's slug (the spec's `slug:`, a path segment of its link) may hold more: lower-case
# letters of any script (and letters without case, with their combining marks), digits, "-".
ARTICLE_SLUG_CATEGORIES = frozenset({"Ll", "Lm", "Lo", "Mn", "Mc", "Nd"})
# A BCP 47 language tag, loosely: "en", "de", "pt-BR", "zh-Hant-TW".
LANGUAGE_PATTERN = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class Site:
    title: str
    description: str
    base_url: str  # absolute http(s) URL without a trailing slash
    language: str
    timezone: ZoneInfo
    tag_authority: str
    tag_date: str
    items_per_feed: int
    categories: tuple[Category, ...]  # sorted by slug
    full_content: bool  # public feeds carry the whole article, not only its summary
    # Where feed documents live below base_url, and the namespace of their Atom ids: the
    # public's by default; a partner's own in a partner's view of the site (partners.py).
    feeds_path: str = "/feeds"
    feed_id_path: str = "/feeds"
    hub_urls: tuple[str, ...] = ()  # WebSub hubs the subscription feeds advertise

    def category(self, slug: str) -> Category | None:
        for category in self.categories:
            if category.slug == slug:
                return category
        return None

    @property
    def tag_epoch(self) -> datetime:
        """Midnight UTC of tag_date: the fixed date of a feed with no items (never now)."""
        return datetime.combine(tag_date_start(self.tag_date), datetime.min.time(), UTC)

    def tag_uri(self, specific: str) -> str:
        """An RFC 4151 tag URI in this site's fixed namespace."""
        return f"tag:{self.tag_authority},{self.tag_date}:{specific}"


def tag_date_start(value: str) -> date:
    """The first day of an RFC 4151 date (YYYY, YYYY-MM or YYYY-MM-DD); ValueError if none."""
    year, month, day = (*map(int, value.split("-")), 1, 1)[:3]
    return date(year, month, day)


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    alt: str
    type: str | None
    length: int | None


@dataclass(frozen=True, slots=True)
class ArticleText:
    """What an article version's Markdown renders to, sanitized."""

    content_html: str  # the body
    summary_html: str  # the front-matter summary or an excerpt of the body
    summary_text: str  # the same summary as plain text, for formats that want no markup


@dataclass(frozen=True, slots=True)
class Article:
    """One servable article version, from its front matter. Its text (an ArticleText) is
    rendered from the same version's body when a document first shows it (service.py)."""

    id: str
    guid: str
    path: str  # relative to the store, with forward slashes; for messages only
    title: str
    published: datetime  # aware, in the site zone
    updated: datetime  # aware, in the site zone, never before published
    category: str
    tags: tuple[str, ...]
    authors: tuple[str, ...]
    language: str
    slug: str
    link: str
    image: Image | None
    sources: tuple[str, ...]
    draft: bool
    version: str  # names the file version (a digest of its bytes), and so its text


# A partner's name: part of its Atom ids and a TOML key in the partners file.
PARTNER_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class Partner:
    """A syndication partner: what it may read, and the SHA-256 of its token (never the token)."""

    name: str
    token_sha256: str  # lower-case hex
    categories: tuple[str, ...]  # allowed category slugs; empty: all
    languages: tuple[str, ...]  # allowed language tags, lower case; empty: all
    full_text: bool  # items carry the whole article, not only its summary

    def admits(self, article: Article) -> bool:
        if self.categories and article.category not in self.categories:
            return False
        return not self.languages or article.language.lower() in self.languages


@dataclass(frozen=True, slots=True)
class Problem:
    """A file that was rejected, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


ScopeKind = Literal["site", "category", "tag", "author", "lang"]
# Kinds whose feeds live under /feeds/<kind>/<slug>; site and category feeds sit at /feeds/<slug>.
NAMED_KINDS: tuple[ScopeKind, ...] = ("tag", "author", "lang")


@dataclass(frozen=True, slots=True, order=True)
class Scope:
    """Which articles a feed holds: the whole site, or one category, tag, author or language."""

    kind: ScopeKind
    slug: str  # "all" for the site; a label_slug() for tags and authors; a lower-case language

    @property
    def path(self) -> str:
        """The feed's path below /feeds/, without the extension (not percent-encoded)."""
        if self.kind in ("site", "category"):
            return self.slug
        return f"{self.kind}/{self.slug}"


SITE_SCOPE = Scope("site", ALL_SCOPE)


def article_slug_problem(slug: str) -> str:
    """Why ``slug`` cannot be an article's slug (naming the first bad character), or ""."""
    if not slug:
        return "is empty: give a slug (the file name has no ASCII letter or digit to make one)"
    for char in slug:
        if char != "-" and unicodedata.category(char) not in ARTICLE_SLUG_CATEGORIES:
            what = f"{char!r} (upper case)" if char != char.lower() else repr(char)
            return f"has {what}; a slug holds lower-case letters of any script, digits, hyphens"
    return ""


def slug_path(slug: str) -> str:
    """An article slug as a URL path segment: UTF-8, percent-encoded in lower-case hex as
    WordPress writes its permalinks (so that an imported post keeps its link)."""
    return "".join(c if c.isascii() else "".join(f"%{b:02x}" for b in c.encode()) for c in slug)


@functools.lru_cache(maxsize=65536)  # labels repeat across articles and every store version
def label_slug(label: str) -> str:
    """The URL slug of a tag or author name: accents dropped, lower case, any script kept.

    "Jürgen Müller" -> "jurgen-muller", "Machine Learning" -> "machine-learning", "芯片" -> "芯片".
    Empty when the label has no letter or digit at all.
    """
    decomposed = unicodedata.normalize("NFKD", label)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    slug = re.sub(r"[\W_]+", "-", unicodedata.normalize("NFC", bare).casefold())
    return slug.strip("-")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month in the site's zone: the slice one archive document covers."""

    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime) -> Month:
        return cls(moment.year, moment.month)

    @classmethod
    def parse(cls, text: str) -> Month | None:
        match = _MONTH_PATTERN.fullmatch(text)
        if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) == 0:
            return None
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def start(self, zone: ZoneInfo) -> datetime:
        """Midnight of the first day, in ``zone``."""
        return datetime(self.year, self.month, 1, tzinfo=zone)


_MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True)
class FeedKey:
    """Which feed document: a scope in one format; the subscription document, or the archive
    document of one month (RFC 5005)."""

    scope: Scope
    format: FeedFormat
    archive: Month | None = None
    # Hashed once: the documents served are looked up by key at every request, and a
    # dataclass hashes its fields (and the scope's) in Python each time.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.scope, self.format, self.archive)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[FeedKey], tuple[Scope, FeedFormat, Month | None]]:
        return FeedKey, (self.scope, self.format, self.archive)  # hashed again where unpickled

    @property
    def path(self) -> str:
        """The document's path below /feeds/ (not percent-encoded), e.g. ``tag/chips.atom``."""
        if self.archive is None:
            return f"{self.scope.path}.{self.format}"
        return f"{self.scope.path}/archive/{self.archive}.{self.format}"

    def archived(self, month: Month) -> FeedKey:
        return FeedKey(self.scope, self.format, month)

    @property
    def subscription(self) -> FeedKey:
        return FeedKey(self.scope, self.format)


def parse_feed_path(path: str) -> FeedKey | None:
    """The FeedKey whose ``path`` this is (already percent-decoded); None if it names none.

    Unambiguous: a site or category scope has one segment, any other scope two, and an archive
    adds ``archive/YYYY-MM``. Whether the scope exists is for the caller to decide.
    """
    stem, dot, extension = path.rpartition(".")
    fmt = _FORMAT_NAMES.get(extension)
    if not dot or fmt is None:
        return None
    parts = stem.split("/")
    month = None
    if len(parts) >= 3 and parts[-2] == "archive":
        month = Month.parse(parts[-1])
        if month is None:
            return None
        parts = parts[:-2]
    if len(parts) == 1:
        (slug,) = parts
        if slug == ALL_SCOPE:
            return FeedKey(SITE_SCOPE, fmt, month)
        if SLUG_PATTERN.fullmatch(slug):
            return FeedKey(Scope("category", slug), fmt, month)
        return None
    kind = _NAMED_KIND_NAMES.get(parts[0])
    if len(parts) == 2 and kind is not None and parts[1]:
        return FeedKey(Scope(kind, parts[1]), fmt, month)
    return None


_FORMAT_NAMES: dict[str, FeedFormat] = {f: f for f in FEED_FORMATS}
_NAMED_KIND_NAMES: dict[str, ScopeKind] = {k: k for k in NAMED_KINDS}


# WordPress ?feed= values on the home page, and the format each answers with (web.py).
WORDPRESS_QUERY_FEEDS: dict[str, FeedFormat] = {"rss2": "rss", "rss": "rss", "atom": "atom"}
# WordPress feed endings after a scope's address, and the format each names (web.py's routes).
_WORDPRESS_FEED_ENDINGS: dict[tuple[str, ...], FeedFormat] = {
    ("feed",): "rss",
    ("feed", "rss"): "rss",
    ("feed", "rss2"): "rss",
    ("feed", "atom"): "atom",
}


def wordpress_feed_key(path: str, feed_query: str | None = None) -> FeedKey | None:
    """The subscription feed a WordPress-style address names: ``/feed/``, ``/feed/atom/``,
    ``/category/<slug>/feed/``, ``/tag/<label>/feed/rss2/``, ``/author/<label>/feed/``, or
    ``/`` with ``?feed=rss2`` (``feed_query``). ``path`` is percent-decoded; the trailing slash
    is optional, as web.py takes both spellings. None for any other address. Whether the scope
    exists is for the caller to decide; web.py redirects each of these to the feed named here.
    """
    if path == "/":
        fmt = None if feed_query is None else WORDPRESS_QUERY_FEEDS.get(feed_query)
        return None if fmt is None else FeedKey(SITE_SCOPE, fmt)
    if not path.startswith("/"):
        return None
    parts = tuple(path[1:].removesuffix("/").split("/"))
    for ending, fmt in _WORDPRESS_FEED_ENDINGS.items():
        if parts[-len(ending) :] != ending:
            continue
        scope = _wordpress_scope(parts[: -len(ending)])
        return None if scope is None else FeedKey(scope, fmt)
    return None


def wordpress_paths(scope: Scope) -> Iterator[tuple[str, FeedFormat]]:
    """The WordPress-style paths ``wordpress_feed_key`` maps to ``scope``'s subscription
    feeds, with the format each names (not percent-encoded); none for a language."""
    if scope.kind == "site":
        prefix = "/"
    elif scope.kind in ("category", "tag", "author"):
        prefix = f"/{scope.kind}/{scope.slug}/"
    else:
        return
    for ending, fmt in _WORDPRESS_FEED_ENDINGS.items():
        yield f"{prefix}{'/'.join(ending)}/", fmt


def _wordpress_scope(prefix: tuple[str, ...]) -> Scope | None:
    if not prefix:
        return SITE_SCOPE
    if len(prefix) != 2 or not prefix[1]:
        return None
    kind, slug = prefix
    if kind == "category":
        # "all" is the site feed, not a category (web.py answers 404).
        return None if slug == ALL_SCOPE else Scope("category", slug)
    if kind in ("tag", "author"):
        # WordPress slugs are label slugs already; folding again matches "J%C3%BCrgen" too.
        return Scope("tag" if kind == "tag" else "author", label_slug(slug))
    return None

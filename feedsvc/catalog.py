"""Every feed that exists at one moment, and what each document holds. Pure: records in,
records out; no files, no clock, no format.

A scope (the site, a category, a tag, an author, a language) exists while it has a servable
article. Its subscription document holds the newest ``items_per_feed`` articles; its archive
documents (RFC 5005) hold one calendar month each, in the site's zone, from the month of its
oldest article to the current month.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from urllib.parse import quote

from .model import (
    FEED_FORMATS,
    SITE_SCOPE,
    Article,
    ArticleText,
    FeedKey,
    Month,
    Scope,
    ScopeKind,
    Site,
    label_slug,
)
from .timeline import Timeline

# The order in which feed lists (home page, OPML) show the kinds, and their headings.
KIND_HEADINGS: dict[ScopeKind, str] = {
    "site": "All articles",
    "category": "Categories",
    "lang": "Languages",
    "author": "Authors",
    "tag": "Tags",
}
_KIND_ORDER = {kind: index for index, kind in enumerate(KIND_HEADINGS)}

# Names of languages in themselves, for feed titles; any other tag is shown as it is.
LANGUAGE_NAMES = {
    "de": "Deutsch",
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "it": "Italiano",
    "nl": "Nederlands",
    "pl": "Polski",
    "pt": "Português",
    "zh": "中文",
}

# The attribution line closing an article, by primary language subtag (shared/seed).
SOURCE_LABELS = {"de": "Quelle", "es": "Fuente", "it": "Fonte", "nl": "Bron", "pt": "Fonte"}
DEFAULT_SOURCE_LABEL = "Source"


@dataclass(frozen=True, slots=True)
class ScopeEntry:
    """One scope that exists now: its label and its articles, newest first."""

    scope: Scope
    label: str  # the category's title, the tag or author as written, the language tag
    articles: tuple[Article, ...]


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """Everything one feed document says, before it is written in a format."""

    key: FeedKey
    title: str
    description: str
    page_url: str  # the HTML page the feed stands for
    language: str  # the language of the feed as a whole
    articles: tuple[Article, ...]  # newest first
    updated: datetime
    prev_archive: FeedKey | None  # the next older archive document (RFC 5005)
    next_archive: FeedKey | None  # the next newer archive document; None for the open month
    # Each article's text, by id: filled in by the service (resolved), never by the catalog.
    texts: Mapping[str, ArticleText] = field(default_factory=dict)

    def text(self, article: Article) -> ArticleText:
        """The text of one of the document's articles; KeyError if the document was handed
        over unresolved (a bug: the service resolves texts before rendering)."""
        return self.texts[article.id]

    @property
    def is_archive(self) -> bool:
        return self.key.archive is not None

    @property
    def mixed_language(self) -> bool:
        """Whether some item is in another language than the feed: then each item says its own."""
        return any(a.language != self.language for a in self.articles)


class Catalog:
    """The scopes of one timeline and the documents they make. Built once per store version
    and moment; documents are described on demand, scopes and months grouped on first use."""

    def __init__(self, site: Site, timeline: Timeline) -> None:
        self.site = site
        self.timeline = timeline
        # The full-site feed holds the timeline as it is: it is served before any other
        # scope is grouped (which takes a third of a second for 100,000 articles, at every
        # store version).
        self._site_entry = ScopeEntry(SITE_SCOPE, site.title, timeline.articles)
        self._grouped: dict[Scope, ScopeEntry] | None = None
        self._group_lock = threading.Lock()
        self._months: dict[Scope, tuple[list[Month], dict[Month, tuple[Article, ...]]]] = {}
        self._months_lock = threading.Lock()

    def entry(self, scope: Scope) -> ScopeEntry | None:
        if scope == SITE_SCOPE:
            return self._site_entry
        return self._entries().get(scope)

    def entries(self) -> list[ScopeEntry]:
        """Every scope, in list order: by kind, then by slug."""
        return sorted(self._entries().values(), key=lambda e: (_KIND_ORDER[e.scope.kind], e.scope))

    def _entries(self) -> dict[Scope, ScopeEntry]:
        grouped = self._grouped
        if grouped is None:
            with self._group_lock:
                if self._grouped is None:
                    self._grouped = self._group()
                grouped = self._grouped
        return grouped

    def _group(self) -> dict[Scope, ScopeEntry]:
        # Grouped by (kind, slug) tuples, which hash in C: Scope's own hash would be half of
        # the time.
        grouped: dict[tuple[ScopeKind, str], list[Article]] = {}
        labels: dict[tuple[ScopeKind, str], str] = {}
        for article in self.timeline.articles:  # newest first, so every group is too
            for key, label in _scope_keys(self.site, article).items():
                group = grouped.get(key)
                if group is None:
                    grouped[key] = [article]
                    labels[key] = label
                    continue
                group.append(article)
                # The smallest spelling wins, so a label never depends on article order.
                if label < labels[key]:
                    labels[key] = label
        entries = {SITE_SCOPE: self._site_entry}
        for key, articles in grouped.items():
            scope = Scope(*key)
            entries[scope] = ScopeEntry(scope, labels[key], tuple(articles))
        return entries

    @property
    def updated(self) -> datetime:
        """When the newest servable article was last updated."""
        return max((a.updated for a in self.timeline.articles), default=self.site.tag_epoch)

    def document(self, key: FeedKey) -> FeedDocument | None:
        """What the document ``key`` holds now; None when there is no such document."""
        entry = self.entry(key.scope)
        if entry is None:
            return None
        if key.archive is None:
            articles = entry.articles[: self.site.items_per_feed]
            # Everything older than the oldest item is in that item's month or before it.
            prev = key.archived(month_of(articles[-1])) if articles else None
            return self._document(key, entry, articles, prev, None)
        months, by_month = self._group_by_month(entry)
        month = key.archive
        if not months or not months[0] <= month <= self.timeline.month:
            return None
        older = bisect.bisect_left(months, month) - 1
        return self._document(
            key,
            entry,
            by_month.get(month, ()),
            key.archived(months[older]) if older >= 0 else None,
            # Past months link their successor, empty or not, so their bytes never change
            # when a later month gains articles.
            key.archived(month.next()) if month < self.timeline.month else None,
        )

    def _document(
        self,
        key: FeedKey,
        entry: ScopeEntry,
        articles: Sequence[Article],
        prev_archive: FeedKey | None,
        next_archive: FeedKey | None,
    ) -> FeedDocument:
        title = feed_title(self.site, entry)
        empty_updated = self.site.tag_epoch
        if key.archive is not None:
            title = f"{title}: archive {key.archive}"
            empty_updated = key.archive.start(self.site.timezone)
        return FeedDocument(
            key=key,
            title=title,
            description=feed_description(self.site, entry),
            page_url=page_url(self.site, entry.scope),
            language=feed_language(self.site, entry, articles),
            articles=tuple(articles),
            updated=max((a.updated for a in articles), default=empty_updated),
            prev_archive=prev_archive,
            next_archive=next_archive,
        )

    def _group_by_month(
        self, entry: ScopeEntry
    ) -> tuple[list[Month], dict[Month, tuple[Article, ...]]]:
        grouped = self._months.get(entry.scope)
        if grouped is None:
            with self._months_lock:
                by_month: dict[Month, list[Article]] = {}
                for article in entry.articles:
                    by_month.setdefault(month_of(article), []).append(article)
                grouped = (sorted(by_month), {m: tuple(a) for m, a in by_month.items()})
                self._months[entry.scope] = grouped
        return grouped


def document_keys(catalog: Catalog) -> Iterator[FeedKey]:
    """Every feed document that exists now: each scope's subscription document and archive
    months (from its oldest article's month to the current one, empty months included), in
    every format, in list order."""
    for entry in catalog.entries():
        months: list[Month] = []
        if entry.articles:
            month = month_of(entry.articles[-1])
            while month <= catalog.timeline.month:
                months.append(month)
                month = month.next()
        for fmt in FEED_FORMATS:
            key = FeedKey(entry.scope, fmt)
            yield key
            for month in months:
                yield key.archived(month)


def month_of(article: Article) -> Month:
    """The archive month of an article: its publication month in the site's zone."""
    return Month.of(article.published)  # published is already in the site's zone


def _scope_keys(site: Site, article: Article) -> dict[tuple[ScopeKind, str], str]:
    """The scopes of an article but the site's, as (kind, slug), with their labels."""
    category = site.category(article.category)
    scopes: dict[tuple[ScopeKind, str], str] = {
        ("category", article.category): category.title if category else article.category,
        ("lang", article.language.lower()): article.language,
    }
    for label in article.tags:
        slug = label_slug(label)
        if slug:  # a label with no letter or digit has no address
            scopes.setdefault(("tag", slug), label)
    for label in article.authors:
        slug = label_slug(label)
        if slug:
            scopes.setdefault(("author", slug), label)
    return scopes


def feed_title(site: Site, entry: ScopeEntry) -> str:
    kind = entry.scope.kind
    if kind == "site":
        return site.title
    if kind == "category":
        return f"{site.title}: {entry.label}"
    if kind == "tag":
        return f"{site.title}: articles tagged {entry.label}"
    if kind == "author":
        return f"{site.title}: articles by {entry.label}"
    return f"{site.title}: articles in {language_name(entry.label)}"


def feed_description(site: Site, entry: ScopeEntry) -> str:
    kind, label = entry.scope.kind, entry.label
    if kind == "site":
        return site.description
    if kind == "category":
        category = site.category(entry.scope.slug)
        return category.description if category else label
    if kind == "tag":
        return f"Every article tagged {label} at {site.title}."
    if kind == "author":
        return f"Every article by {label} at {site.title}."
    return f"Every article in {language_name(label)} at {site.title}."


def feed_language(site: Site, entry: ScopeEntry, articles: Sequence[Article]) -> str:
    """A language feed's language; otherwise the one language all items share, if they do,
    and else the site's."""
    if entry.scope.kind == "lang":
        return entry.label
    languages = {a.language for a in articles}
    return languages.pop() if len(languages) == 1 else site.language


def language_name(tag: str) -> str:
    name = LANGUAGE_NAMES.get(tag.lower())
    return name if name is not None else tag


def feed_url(site: Site, key: FeedKey) -> str:
    return f"{site.base_url}{site.feeds_path}/{quote(key.path)}"


def advertised_hubs(site: Site, key: FeedKey) -> tuple[str, ...]:
    """The WebSub hubs a document names: the site's, on subscription documents only. Archive
    documents are never announced to a hub, so they promise no push."""
    return site.hub_urls if key.archive is None else ()


def link_header(site: Site, key: FeedKey) -> str | None:
    """The HTTP ``Link`` header of a document that names hubs (WebSub 4: hub and self);
    None for the others, whose headers stay as they were."""
    hubs = advertised_hubs(site, key)
    if not hubs:
        return None
    links = [f'<{hub}>; rel="hub"' for hub in hubs]
    links.append(f'<{feed_url(site, key)}>; rel="self"')
    return ", ".join(links)


def page_url(site: Site, scope: Scope) -> str:
    """The HTML page a feed stands for, in WordPress's URL scheme; the home page if none."""
    if scope.kind in ("category", "tag", "author"):
        return f"{site.base_url}/{scope.kind}/{quote(scope.slug)}/"
    return f"{site.base_url}/"


def opml_url(site: Site) -> str:
    return f"{site.base_url}/feeds.opml"


def attribution_html(article: Article) -> str:
    """The closing "Source: ..." line, in the article's language; empty without sources."""
    if not article.sources:
        return ""
    label = SOURCE_LABELS.get(article.language.split("-")[0].lower(), DEFAULT_SOURCE_LABEL)
    return f"<p>{label}: {escape(', '.join(article.sources), quote=False)}</p>"


def item_content_html(article: Article, text: ArticleText) -> str:
    """The full text of an item: the body, then its attribution."""
    return _join_html(text.content_html, attribution_html(article))


def item_summary_html(site: Site, article: Article, text: ArticleText) -> str:
    """The summary of an item; in a summary-only site it carries the attribution too."""
    if site.full_content:
        return text.summary_html
    return _join_html(text.summary_html, attribution_html(article))


def _join_html(*fragments: str) -> str:
    return "\n".join(f for f in fragments if f)


def feed_scopes(catalog: Catalog) -> Iterator[tuple[ScopeKind, list[ScopeEntry]]]:
    """The scopes grouped by kind, in list order, for the home page and OPML."""
    entries = catalog.entries()
    for kind in KIND_HEADINGS:
        group = [e for e in entries if e.scope.kind == kind]
        if group:
            yield kind, group

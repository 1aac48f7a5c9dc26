"""Pure: which WebSub topics a change touches. From two catalogs, ``touched_scopes`` finds the
scopes whose subscription documents may differ; ``topic_etags`` gives their documents' ETags by
topic URL; ``changed_topics`` compares those with the ETags last announced. Archive documents
are not topics: they name no hub (catalog.advertised_hubs), and a past month changes only when
an old article is edited."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from ..catalog import Catalog, feed_url
from ..model import FEED_FORMATS, FeedKey, Scope, Site


def touched_scopes(site: Site, old: Catalog | None, new: Catalog) -> set[Scope]:
    """The scopes whose subscription documents may differ between ``old`` and ``new``: their
    newest ``items_per_feed`` articles differ (added, edited, removed, fallen due), or they
    appeared or vanished. Every scope of ``new`` when there is no ``old``."""
    if old is None:
        return {entry.scope for entry in new.entries()}
    limit = site.items_per_feed
    scopes = {entry.scope for entry in old.entries()} | {entry.scope for entry in new.entries()}
    touched = set()
    for scope in scopes:
        before, after = old.entry(scope), new.entry(scope)
        if before is None or after is None:
            touched.add(scope)
        # Unchanged articles are the same objects, so this is mostly an identity check.
        elif before.articles[:limit] != after.articles[:limit]:
            touched.add(scope)
    return touched


def topic_etags(
    site: Site, scopes: Iterable[Scope], etag_of: Callable[[FeedKey], str | None]
) -> dict[str, str]:
    """The ETag of each subscription document of ``scopes`` that exists (``etag_of`` gives
    the ETag of the document the service serves, None when there is none), by its topic URL
    (the URL its ``rel="self"`` names)."""
    etags = {}
    for scope in scopes:
        for fmt in FEED_FORMATS:
            key = FeedKey(scope, fmt)
            etag = etag_of(key)
            if etag is not None:
                etags[feed_url(site, key)] = etag
    return etags


def topic_urls(site: Site, scopes: Iterable[Scope]) -> set[str]:
    """Every topic URL of ``scopes``, whether its document exists or not."""
    return {feed_url(site, FeedKey(scope, fmt)) for scope in scopes for fmt in FEED_FORMATS}


def changed_topics(announced: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """The topics whose bytes differ from what was last announced, sorted."""
    return sorted(url for url, etag in current.items() if announced.get(url) != etag)

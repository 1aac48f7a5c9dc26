"""What is published at a given moment, and what a feed shows. Pure: ``now`` is passed in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .model import ALL_SCOPE, Article


@dataclass(frozen=True, slots=True)
class Timeline:
    """The articles servable at ``now``, newest first, and when that set next changes."""

    articles: tuple[Article, ...]
    next_due: datetime | None  # the earliest scheduled article's publication, if any

    @property
    def scopes(self) -> frozenset[str]:
        """The feed scopes that exist now: ``all`` and every category with an article."""
        return frozenset({ALL_SCOPE, *(a.category for a in self.articles)})


def newest_first(articles: Iterable[Article]) -> tuple[Article, ...]:
    """Newest published first; ties broken by id, so the order never depends on the store."""
    by_id = sorted(articles, key=lambda a: a.id)
    return tuple(sorted(by_id, key=lambda a: a.published, reverse=True))


def visible(articles: Iterable[Article], now: datetime) -> Timeline:
    """Drafts never show; an article shows once its published time has come."""
    shown = []
    next_due: datetime | None = None
    for article in articles:
        if article.draft:
            continue
        if article.published <= now:
            shown.append(article)
        elif next_due is None or article.published < next_due:
            next_due = article.published
    return Timeline(articles=newest_first(shown), next_due=next_due)


def select(articles: Sequence[Article], scope: str, limit: int) -> tuple[Article, ...]:
    """The newest ``limit`` articles of one scope from a newest-first sequence."""
    if scope == ALL_SCOPE:
        return tuple(articles[:limit])
    return tuple([a for a in articles if a.category == scope][:limit])

"""What is published at a given moment. Pure: ``now`` is passed in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .model import Article, Month


@dataclass(frozen=True, slots=True)
class Timeline:
    """The articles servable at ``now``, newest first, and until when that stays true."""

    articles: tuple[Article, ...]
    next_due: datetime | None  # the earliest scheduled article's publication, if any
    month: Month  # the month of ``now`` in the site zone: the one archive month still open
    # The next moment what is served changes (an article falls due, or a month begins), in UTC:
    # compared with the clock at every request, which is quick within one zone.
    expires: datetime

    def is_current(self, now: datetime) -> bool:
        return now < self.expires


def newest_first(articles: Iterable[Article]) -> tuple[Article, ...]:
    """Newest published first; ties broken by id, so the order never depends on the store.
    By the instant (two times in one zone would compare as wall times: wrong in the hour a
    change to winter time repeats)."""
    by_id = sorted(articles, key=lambda a: a.id)
    return tuple(sorted(by_id, key=lambda a: a.published.timestamp(), reverse=True))


def visible(articles: Iterable[Article], now: datetime, zone: ZoneInfo) -> Timeline:
    """Drafts never show; an article shows once its published time has come."""
    shown = []
    next_due: datetime | None = None
    # Wall times in one zone compare fast (their offsets are not looked up); a day away from
    # now, no change of offset can reverse the order. Closer, the instants are compared.
    local = now.astimezone(zone)
    surely_past, surely_future = local - _LARGEST_OFFSET_CHANGE, local + _LARGEST_OFFSET_CHANGE
    for article in articles:
        if article.draft:
            continue
        published = article.published
        if published <= surely_past or (published < surely_future and _instant(published) <= now):
            shown.append(article)
        elif next_due is None or _instant(published) < _instant(next_due):
            next_due = published
    month = Month.of(local)
    month_end = month.next().start(zone)
    return Timeline(
        articles=newest_first(shown),
        next_due=next_due,
        month=month,
        expires=_instant(month_end if next_due is None else min(next_due, month_end, key=_instant)),
    )


# More than any zone's offsets differ (UTC-12 to UTC+14).
_LARGEST_OFFSET_CHANGE = timedelta(hours=27)


def _instant(moment: datetime) -> datetime:
    """The same moment in UTC: comparisons of two in one zone otherwise compare wall times, and
    err in the hour a change to winter time repeats."""
    return moment.astimezone(UTC)

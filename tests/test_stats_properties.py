"""Properties of the counting core of `feedsvc stats` (feedsvc/stats/counting.py), on request
records drawn by Hypothesis: the figures follow the issue's definition, computed here the
plain way, and do not depend on the order the logs were read in."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc.stats.counting import count
from feedsvc.stats.logs import Hit

DAYS = [date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 4)]
TARGETS = ["/feeds/all.rss", "/feeds/all.rss?x=1", "/feed/", "/feeds/energy.atom", "/feeds.opml"]
CANONICAL = {
    "/feeds/all.rss": "/feeds/all.rss",
    "/feeds/all.rss?x=1": "/feeds/all.rss",
    "/feed/": "/feeds/all.rss",
    "/feeds/energy.atom": "/feeds/energy.atom",
}
# (User-Agent, aggregator key and stated count, or None for a reader, or "excluded")
AGENTS = [
    *(f"Feedly/1.0 (+http://www.feedly.com/fetcher.html; {n} subscribers; )" for n in (3, 9)),
    *(f"Feedbin feed-id:{i} - {n} subscribers" for i in (1, 2) for n in (1, 4)),
    "NetNewsWire (RSS Reader; https://netnewswire.com/)",
    "newsboat/2.36.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
ADDRESSES = ["198.51.100.1", "198.51.100.2", "203.0.113.3"]


@st.composite
def hits(draw: st.DrawFn) -> Hit:
    """A record as logs.py makes it: the client is the hash of (address, User-Agent)."""
    address, agent = draw(st.sampled_from(ADDRESSES)), draw(st.sampled_from(AGENTS))
    return Hit(
        day=draw(st.sampled_from(DAYS)),
        method=draw(st.sampled_from(["GET", "GET", "HEAD", "POST"])),
        target=draw(st.sampled_from(TARGETS)),
        status=draw(st.sampled_from([200, 304, 304, 404])),
        size=draw(st.sampled_from([0, 900, 3000])),
        agent=agent,
        client=hashlib.sha256(f"{address}\0{agent}".encode()).digest()[:16],
    )


def expected_subscribers(records: list[Hit]) -> dict[tuple[str, date], int]:
    """The issue's definition, the plain way: per feed and day, each aggregator (its
    User-Agent without the count) at its largest, plus distinct (client, User-Agent) pairs of
    the others, crawlers left out; GET or HEAD answered 200 or 304 only."""
    stated: dict[tuple[str, date, str], int] = defaultdict(int)
    readers: dict[tuple[str, date], set[tuple[bytes, str]]] = defaultdict(set)
    for hit in records:
        feed = CANONICAL.get(hit.target)
        if feed is None or hit.status not in (200, 304) or hit.method not in ("GET", "HEAD"):
            continue
        if "Googlebot" in hit.agent:
            continue
        if "subscribers" in hit.agent:
            head, _, tail = hit.agent.partition(" subscribers")
            number = head.rsplit(" ", 1)[-1].lstrip(";")
            key = head.removesuffix(number) + tail
            stated[feed, hit.day, key] = max(stated[feed, hit.day, key], int(number))
        else:
            readers[feed, hit.day].add((hit.client, hit.agent))
    totals: dict[tuple[str, date], int] = defaultdict(int)
    for (feed, day, _), n in stated.items():
        totals[feed, day] += n
    for (feed, day), pairs in readers.items():
        totals[feed, day] += len(pairs)
    return totals


# As tests/test_hostile.py: FEEDSVC_HYPOTHESIS_EXAMPLES=5000 for a long run.
@settings(
    max_examples=int(os.environ.get("FEEDSVC_HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
)
@given(st.lists(hits(), max_size=60), st.randoms(use_true_random=False))
def test_subscribers_follow_the_definition_in_any_order(records: list[Hit], rng: object) -> None:
    stats = count(records, {})
    expected = expected_subscribers(records)
    for feed in stats.feeds:
        for day in stats.days:
            assert feed.daily[day] == expected.get((feed.path, day), 0), (feed.path, day)
    assert {f.path for f in stats.feeds} <= set(CANONICAL.values())
    assert all(f.subscribers == f.daily[stats.days[-1]] for f in stats.feeds)
    shuffled = records[:]
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    again = count(shuffled, {})
    assert again == stats
    # In the same order too (dicts compare equal in any order; the JSON would not be).
    assert [list(f.aggregators.items()) for f in again.feeds] == [
        list(f.aggregators.items()) for f in stats.feeds
    ]


def test_memory_grows_with_the_clients_not_the_lines() -> None:
    """Ten times the requests from the same clients take no more memory: nothing is kept per
    line (the records are a generator, as logs.py gives them)."""

    def records(n: int) -> Iterator[Hit]:
        for i in range(n):
            agent = AGENTS[i % len(AGENTS)]
            client = hashlib.sha256(f"{ADDRESSES[i % 3]}{i % 50}\0{agent}".encode()).digest()
            yield Hit(DAYS[i % 3], "GET", TARGETS[i % 4], (200, 304)[i % 2], 900, agent, client)

    peaks = []
    for n in (20_000, 200_000):
        tracemalloc.start()
        try:
            count(records(n), {})
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.2

"""The counting core of `feedsvc stats`: request records in, per-feed figures out. Pure: no
I/O, no clock; the records come from logs.py, partners as a mapping of token hashes to names.

A feed's subscribers on a day (UTC) are (issue 15):
- for each aggregator (agents.classify), the largest count it stated that day;
- plus one per distinct (client address, User-Agent) pair among readers stating no count, as
  the keyed hash logs.py made of it;
- leaving out crawlers, link previews, validators and monitors (agents.EXCLUDED).
Only GET and HEAD answered 200 or 304 count. ``subscribers`` is the count on the last day of
the logs; ``daily`` holds every day.

Bytes saved are estimates, as a log states neither the client's validators nor whether a body
was compressed: a 304 saved the average 200 body of that document on that day, and a 200 well
under the day's largest body of that document (under GZIP_RATIO of it) was gzip, and saved
the difference.

"Never sent a validator" is read as never answered 304: a client polling a feed many times a
day while it rarely changes would get 304s if it sent If-None-Match or If-Modified-Since.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from .agents import Agent, classify
from .logs import COUNTED_STATUSES, Hit
from .paths import Document, DocumentKind, attribute

COUNTED_METHODS = frozenset(("GET", "HEAD"))
GZIP_RATIO = 0.75  # feeds compress to a fifth or a third; a new version is never 25% smaller
TOP_POLLERS = 5
# Pollers worth naming: a client asking twice a day or more without a validator costs a whole
# body each time; one that asks once a day costs what a 304 would barely save.
MIN_POLLS_PER_DAY = 2.0
_CACHE_LIMIT = 50_000  # distinct targets and User-Agents remembered; hostile logs hold more


@dataclass(frozen=True, slots=True)
class Poller:
    """Clients of one User-Agent that polled a feed and were never answered 304."""

    agent: str  # the User-Agent, an aggregator's without its count
    clients: int
    requests_per_day: float  # the most frequent of these clients, over the days it polled


@dataclass(frozen=True, slots=True)
class DocumentStats:
    """A document's figures; subscriber figures only for feeds (kind "feed")."""

    path: str  # canonical, e.g. /feeds/all.rss or /partners/acme/feeds/all.rss
    kind: DocumentKind
    partner: str | None
    subscribers: int  # on the last day of the logs
    aggregators: Mapping[str, int]  # name -> stated count on the last day
    direct: int  # readers stating no count, on the last day
    daily: Mapping[date, int]  # subscribers per day, every day of the logs
    requests: int  # 200 and 304 answers, excluded clients included
    not_modified: int
    excluded: int  # requests of crawlers, previews, validators and monitors
    bytes_sent: int | None  # None when no line stated a size
    saved_by_304: int | None
    saved_by_gzip: int | None
    frequent_pollers: tuple[Poller, ...]  # most frequent first


@dataclass(frozen=True, slots=True)
class Stats:
    feeds: tuple[DocumentStats, ...]  # widest first
    documents: tuple[DocumentStats, ...]  # archives, the OPML list, the home page
    days: tuple[date, ...]  # every day of the logs, in order
    other_answers: int  # requests with another method or status
    other_paths: int  # 200 and 304 answers for anything but a document


class _Poller:
    """A client of one document that has never been answered 304 there (so far)."""

    __slots__ = ("first", "key", "last", "requests")

    def __init__(self, key: str, day: date) -> None:
        self.key, self.first, self.last, self.requests = key, day, day, 0


@dataclass(slots=True)
class _Tally:
    requests: int = 0
    not_modified: int = 0
    excluded: int = 0
    bytes_sent: int = 0
    sized: int = 0
    # day -> aggregator key -> (name, largest count stated)
    aggregators: defaultdict[date, dict[str, tuple[str, int]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    # day -> the readers stating no count, as small numbers standing for the clients' hashes
    direct: defaultdict[date, set[int]] = field(default_factory=lambda: defaultdict(set))
    sizes: defaultdict[date, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    unchanged: Counter[date] = field(default_factory=Counter)  # 304s per day
    # client (an aggregator: its key, whatever address it polls from) -> its polling while
    # never answered 304; None once it has been (it validates)
    pollers: dict[int | str, _Poller | None] = field(default_factory=dict)


def count(hits: Iterable[Hit], partners: Mapping[str, str], since: date | None = None) -> Stats:
    """The figures of every document the records name. ``partners`` maps a token's SHA-256
    to its partner's name; records of days before ``since`` are left out."""
    tallies: dict[Document, _Tally] = {}
    documents: dict[str, Document | None] = {}
    agents: dict[str, Agent] = {}
    # Each client's hash once, as a small number: the sets of each day hold the same objects.
    clients: dict[bytes, int] = {}
    days: set[date] = set()
    other_answers = other_paths = 0
    # The loop runs once a record: names are local, and the common cases come first.
    for day, method, target, status, size, user_agent, client_hash in hits:
        if since is not None and day < since:
            continue
        days.add(day)
        if status not in COUNTED_STATUSES or method not in COUNTED_METHODS:
            other_answers += 1
            continue
        document = documents.get(target, _NOWHERE)
        if document is _NOWHERE:
            if len(documents) > _CACHE_LIMIT:
                documents.clear()
            document = documents[target] = attribute(target, partners)
        if document is None:
            other_paths += 1
            continue
        tally = tallies.get(document)
        if tally is None:
            tally = tallies[document] = _Tally()
        agent = agents.get(user_agent)
        if agent is None:
            if len(agents) > _CACHE_LIMIT:
                agents.clear()
            agent = agents[user_agent] = classify(user_agent)
        tally.requests += 1
        unchanged = status == 304
        if unchanged:
            tally.not_modified += 1
            tally.unchanged[day] += 1
        if size is not None:
            tally.bytes_sent += size
            tally.sized += 1
            if not unchanged and method == "GET":
                tally.sizes[day][size] += 1
        kind = agent.kind
        if kind == "excluded":
            tally.excluded += 1
            continue
        if kind == "aggregator":
            stated = tally.aggregators[day]
            known = stated.get(agent.key)
            if known is None or known[1] < agent.subscribers:
                stated[agent.key] = (agent.name, agent.subscribers)
            _poll(tally.pollers, agent.key, agent.key, day, unchanged)
        else:
            client = clients.get(client_hash)
            if client is None:
                client = clients[client_hash] = len(clients)
            tally.direct[day].add(client)
            _poll(tally.pollers, client, agent.key, day, unchanged)
    ordered = tuple(sorted(days))
    last = ordered[-1] if ordered else None
    stats = [_document_stats(d, t, ordered, last) for d, t in tallies.items()]
    feeds = [s for s in stats if s.kind == "feed"]
    feeds.sort(key=lambda s: (-s.subscribers, -s.requests, s.path))
    others = sorted((s for s in stats if s.kind != "feed"), key=lambda s: (-s.requests, s.path))
    return Stats(tuple(feeds), tuple(others), ordered, other_answers, other_paths)


_NOWHERE = Document("home", "", None)  # a sentinel: attribute() never returns it


def _poll(
    pollers: dict[int | str, _Poller | None],
    client: int | str,
    key: str,
    day: date,
    unchanged: bool,
) -> None:
    poller = pollers.get(client, _NEW)
    if poller is None:
        return  # this client validates: nothing more to learn about it
    if unchanged:
        pollers[client] = None
        return
    if poller is _NEW:
        poller = pollers[client] = _Poller(key, day)
    poller.requests += 1
    if day < poller.first:
        poller.first = day
    elif day > poller.last:
        poller.last = day


_NEW = _Poller("", date.min)  # a sentinel: a client not seen yet


def _document_stats(
    document: Document, tally: _Tally, days: tuple[date, ...], last: date | None
) -> DocumentStats:
    daily = {day: _subscribers(tally, day) for day in days}
    aggregators: Counter[str] = Counter()
    if last is not None:
        for name, stated in tally.aggregators.get(last, {}).values():
            aggregators[name] += stated
    sized = tally.sized > 0
    return DocumentStats(
        path=document.path,
        kind=document.kind,
        partner=document.partner,
        subscribers=daily.get(last, 0) if last is not None else 0,
        # Largest first, ties by name: the same figures whatever order the logs were read in.
        aggregators=dict(sorted(aggregators.items(), key=lambda item: (-item[1], item[0]))),
        direct=len(tally.direct.get(last, ())) if last is not None else 0,
        daily=daily,
        requests=tally.requests,
        not_modified=tally.not_modified,
        excluded=tally.excluded,
        bytes_sent=tally.bytes_sent if sized else None,
        saved_by_304=_saved_by_304(tally) if sized else None,
        saved_by_gzip=_saved_by_gzip(tally) if sized else None,
        frequent_pollers=_frequent_pollers(tally),
    )


def _subscribers(tally: _Tally, day: date) -> int:
    stated = sum(count for _, count in tally.aggregators.get(day, {}).values())
    return stated + len(tally.direct.get(day, ()))


def _saved_by_304(tally: _Tally) -> int:
    """Each 304 as the average 200 body of its day (of the whole log, on a day with none)."""
    every = Counter[int]()
    for sizes in tally.sizes.values():
        every.update(sizes)
    overall = _average(every)
    saved = 0
    for day, unchanged in tally.unchanged.items():
        that_day = tally.sizes.get(day)
        saved += unchanged * (_average(that_day) if that_day else overall)
    return saved


def _average(sizes: Counter[int]) -> int:
    total = sum(sizes.values())
    return sum(size * n for size, n in sizes.items()) // total if total else 0


def _saved_by_gzip(tally: _Tally) -> int:
    saved = 0
    for sizes in tally.sizes.values():
        whole = max(sizes)
        saved += sum((whole - size) * n for size, n in sizes.items() if size < whole * GZIP_RATIO)
    return saved


def _frequent_pollers(tally: _Tally) -> tuple[Poller, ...]:
    by_agent: dict[str, list[float]] = defaultdict(list)
    for poller in tally.pollers.values():
        if poller is not None and poller.requests > 1:
            span = (poller.last - poller.first).days + 1
            by_agent[poller.key].append(poller.requests / span)
    pollers = [
        Poller(agent, len(rates), max(rates))
        for agent, rates in by_agent.items()
        if max(rates) >= MIN_POLLS_PER_DAY
    ]
    pollers.sort(key=lambda p: (-p.requests_per_day, -p.clients, p.agent))
    return tuple(pollers[:TOP_POLLERS])

"""The figures of counting.py as a terminal table and as JSON (the HTML report is html.py).

Nothing here prints a client address: the figures hold none. User-Agents are printed, made
printable first (a hostile one could hold terminal escapes or undecodable bytes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .counting import DocumentStats, Poller, Stats
from .logs import LogFile

MAX_AGENT_CHARS = 100
DAY_COLUMNS = 6  # the widest feeds shown in the table of days
POLLER_ROWS = 20  # the table's most frequent pollers (--json has each feed's)
AGGREGATOR_NAMES = 3  # named in the table's row of a feed (--json has them all)


def printable(text: str, limit: int = MAX_AGENT_CHARS) -> str:
    """``text`` without control characters or undecodable bytes (each becomes U+FFFD),
    cut to ``limit`` characters."""
    clean = "".join(c if c.isprintable() else "\ufffd" for c in text[: limit + 1])
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def as_json(stats: Stats, files: Sequence[LogFile]) -> dict[str, Any]:
    """The JSON object of ``--json`` (README, "Subscriber counts")."""
    return {
        "feeds": [_feed_json(feed) for feed in stats.feeds],
        "days": {
            day.isoformat(): {feed.path: feed.daily[day] for feed in stats.feeds}
            for day in stats.days
        },
        "documents": [
            {
                "document": d.path,
                "kind": d.kind,
                "requests": d.requests,
                "not_modified": d.not_modified,
                "bytes_sent": d.bytes_sent,
            }
            for d in stats.documents
        ],
        "other_answers": stats.other_answers,
        "other_paths": stats.other_paths,
        "files": [
            {
                "file": f.name,
                "lines": f.lines,
                "unreadable": f.unreadable,
                "first_unreadable": f.first_unreadable,
                "problem": f.problem,
            }
            for f in files
        ],
        "unreadable": sum(f.unreadable for f in files),
    }


def frequent_pollers(stats: Stats) -> list[tuple[str, Poller]]:
    """Each feed's frequent pollers with the feed's path, the most frequent first."""
    pollers = [(f.path, p) for f in stats.feeds for p in f.frequent_pollers]
    pollers.sort(key=lambda pair: -pair[1].requests_per_day)
    return pollers


def _feed_json(feed: DocumentStats) -> dict[str, Any]:
    return {
        "feed": feed.path,
        "partner": feed.partner,
        "subscribers": feed.subscribers,
        "aggregators": {printable(name): n for name, n in feed.aggregators.items()},
        "direct": feed.direct,
        "requests": feed.requests,
        "not_modified": feed.not_modified,
        "excluded": feed.excluded,
        "bytes_sent": feed.bytes_sent,
        "saved_by_304": feed.saved_by_304,
        "saved_by_gzip": feed.saved_by_gzip,
        "frequent_pollers": [
            {
                "user_agent": printable(p.agent),
                "clients": p.clients,
                "requests_per_day": round(p.requests_per_day, 1),
            }
            for p in feed.frequent_pollers
        ],
    }


def dumps(stats: Stats, files: Sequence[LogFile]) -> str:
    return json.dumps(as_json(stats, files), indent=2, ensure_ascii=False) + "\n"


def table(stats: Stats, files: Sequence[LogFile]) -> str:
    """The terminal report: feeds widest first, each day, the clients that poll most without
    validators, the other documents, and what the logs held."""
    out: list[str] = []
    if stats.days:
        first, last = stats.days[0], stats.days[-1]
        out.append(f"Subscribers on {last} (UTC), logs from {first} to {last}")
    else:
        out.append("No requests in these logs.")
    if stats.feeds:
        out += ["", *_grid(_FEED_HEADINGS, [_feed_row(f) for f in stats.feeds])]
        out += ["", "Subscribers per day", *_days_grid(stats)]
    pollers = frequent_pollers(stats)[:POLLER_ROWS]
    if pollers:
        out += ["", "Polling most often, never answered 304 (no validator sent)"]
        rows = [
            [path, f"{p.requests_per_day:.1f}/day", f"{p.clients} client(s)", printable(p.agent)]
            for path, p in pollers
        ]
        out += _grid(["feed", "polls", "clients", "user agent"], rows)
    if stats.documents:
        rows = [
            [d.path, d.kind, f"{d.requests:,}", share(d), size(d.bytes_sent)]
            for d in stats.documents
        ]
        out += [
            "",
            "Other documents",
            *_grid(["document", "kind", "requests", "304", "sent"], rows),
        ]
    out += ["", *_footer(stats, files)]
    return "\n".join(out) + "\n"


_FEED_HEADINGS = [
    "feed", "subscribers", "direct", "aggregators", "requests", "304", "excluded", "sent",
    "saved by 304", "saved by gzip",
]  # fmt: skip


def _feed_row(feed: DocumentStats) -> list[str]:
    named = list(feed.aggregators.items())
    aggregators = ", ".join(f"{printable(name, 30)} {n:,}" for name, n in named[:AGGREGATOR_NAMES])
    if len(named) > AGGREGATOR_NAMES:
        others = sum(n for _, n in named[AGGREGATOR_NAMES:])
        aggregators += f", {len(named) - AGGREGATOR_NAMES} more {others:,}"
    return [
        feed.path,
        f"{feed.subscribers:,}",
        f"{feed.direct:,}",
        aggregators or "-",
        f"{feed.requests:,}",
        share(feed),
        f"{feed.excluded:,}",
        size(feed.bytes_sent),
        size(feed.saved_by_304),
        size(feed.saved_by_gzip),
    ]


def _days_grid(stats: Stats) -> list[str]:
    shown = stats.feeds[:DAY_COLUMNS]
    rows = [[day.isoformat(), *(f"{f.daily[day]:,}" for f in shown)] for day in stats.days]
    return _grid(["day", *(f.path for f in shown)], rows)


def _footer(stats: Stats, files: Sequence[LogFile]) -> list[str]:
    lines = sum(f.lines for f in files)
    unreadable = sum(f.unreadable for f in files)
    out = [
        f"{len(files)} file(s), {lines:,} lines, {unreadable:,} unreadable; "
        f"{stats.other_answers:,} answers other than 200 or 304 to GET or HEAD; "
        f"{stats.other_paths:,} for other addresses"
    ]
    for f in files:
        if f.unreadable:
            out.append(
                f"  {f.name}: {f.unreadable:,} unreadable, first at line {f.first_unreadable}"
            )
        if f.problem:
            out.append(f"  {f.name}: {f.problem}")
    return out


def _grid(headings: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [headings, *rows]) for i in range(len(headings))]

    # Text columns (the first, and the last of pollers) flush left, figures flush right.
    def line(row: list[str]) -> str:
        cells = [
            cell.ljust(w) if i == 0 or not _numeric(rows, i) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(headings), *(line(r) for r in rows)]


def _numeric(rows: list[list[str]], column: int) -> bool:
    cells = [r[column] for r in rows]
    return any(c[:1].isdigit() for c in cells) and all(c[:1].isdigit() or c == "-" for c in cells)


def share(document: DocumentStats) -> str:
    """The share of a document's requests answered 304, as a percentage."""
    if not document.requests:
        return "-"
    return f"{100 * document.not_modified / document.requests:.0f}%"


def size(n_bytes: int | None) -> str:
    """A byte count in decimal units ("-" when unknown)."""
    if n_bytes is None:
        return "-"
    value = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")

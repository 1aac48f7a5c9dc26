"""The HTML report of ``feedsvc stats --html``: one file that works offline.

Chart.js (vendor/, MIT) is inlined, as are the styles and the data; a Content-Security-Policy
forbids every load, so the page reaches nothing on the network. The figures are written by
Jinja2 with autoescaping; the chart data is JSON in a ``<script type="application/json">``,
with ``<``, ``>`` and ``&`` escaped so that no User-Agent or path can close the element.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape

from .counting import DocumentStats, Stats
from .logs import LogFile
from .report import DAY_COLUMNS, frequent_pollers, printable, share, size

CHART_FEEDS = 10  # lines in the chart of days: the widest feeds
_SOURCE_MAP = "//# sourceMappingURL="


def html_report(stats: Stats, files: Sequence[LogFile]) -> str:
    """The whole report as one HTML document."""
    environment = Environment(
        loader=PackageLoader("feedsvc.stats", "."),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    template = environment.get_template("report.html")
    public = [f for f in stats.feeds if f.partner is None]
    return template.render(
        feeds=stats.feeds,
        days=stats.days,
        day_feeds=stats.feeds[:DAY_COLUMNS],
        documents=stats.documents,
        files=files,
        pollers=frequent_pollers(stats),
        first_day=stats.days[0] if stats.days else None,
        last_day=stats.days[-1] if stats.days else None,
        total=sum(f.subscribers for f in stats.feeds),
        share=share,
        size=size,
        printable=printable,
        chart_data=_script_json(_chart_data(stats, public)),
        chart_js=_chart_js(),
    )


def _chart_data(stats: Stats, public: Sequence[DocumentStats]) -> dict[str, object]:
    shares: Counter[str] = Counter()
    for feed in stats.feeds:
        shares.update(feed.aggregators)
        shares["direct readers"] += feed.direct
    return {
        "days": [day.isoformat() for day in stats.days],
        "series": [
            {"feed": f.path, "counts": [f.daily[day] for day in stats.days]}
            for f in [*public, *(f for f in stats.feeds if f.partner is not None)][:CHART_FEEDS]
        ],
        "shares": [
            {"name": printable(name, 40), "count": count}
            for name, count in sorted(shares.items(), key=lambda item: (-item[1], item[0]))
            if count
        ],
    }


def _script_json(value: object) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _chart_js() -> str:
    script = (resources.files("feedsvc.stats") / "vendor" / "chart.umd.min.js").read_text("utf-8")
    # The source map is not shipped; a browser's developer tools would look for it.
    lines = [line for line in script.splitlines() if not line.startswith(_SOURCE_MAP)]
    text = "\n".join(lines)
    if "</script" in text.lower():
        raise ValueError("the vendored Chart.js would close its <script> element")
    return text

"""Shared helpers of the benchmark scripts: timing with repeats, and table printing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Seconds per call over repeated rounds: the median, the fastest and the slowest round."""

    median: float
    low: float
    high: float

    def ms(self) -> str:
        return f"{self.median * 1e3:.2f} ms ({self.low * 1e3:.2f}-{self.high * 1e3:.2f})"


def timed(action: Callable[[], object], *, rounds: int = 15, calls: int = 10) -> Timing:
    """Time ``action``: ``rounds`` rounds of ``calls`` calls, after one warm-up call."""
    action()
    per_call = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            action()
        per_call.append((time.perf_counter() - start) / calls)
    return Timing(statistics.median(per_call), min(per_call), max(per_call))


def summarize(values: Sequence[float]) -> Timing:
    return Timing(statistics.median(values), min(values), max(values))


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, as the README shows them."""
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines) + "\n"

"""Warm restart under the production server: from the start of ``deploy/granian.sh`` (2 workers)
to its first full /feeds/all.rss, on a state folder that an earlier run filled.

    python -m bench.restart [--sizes 10000,100000] [--stores DIR] [--rounds 3] [--workers 2]
                            [--page-cache warm|dropped|as-is]

For each size, a first granian (one worker) starts cold on a new state folder, serves
/feeds/all.rss and runs until every article file has its row in the state database (read
here, read-only, with sqlite3); then it is stopped. Each round then starts deploy/granian.sh
with FEEDSVC_WORKERS=2 on that folder and polls /feeds/all.rss (a new connection each time,
10 ms apart) until it answers 200 with the ETag the first run served: the full feed, the same
bytes (the determinism rule). The peer, in the same round on the same folder, is bench/store.py's
in-process restart (``create_app`` and one request in a new process, timed from its first
line, so without the interpreter's start). Rounds take turns between sizes and between the
two, so that the machine's drift falls on both; the load average is read before each start.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import free_port, start_granian, stop_process

from .common import summarize, table
from .servers import get
from .store import START_PROBE, ensure_store, prepare_page_cache, probe

# The state database's name in FEEDSVC_STATE_DIR (feedsvc/state.py, DATABASE_NAME).
DATABASE = "feedsvc.sqlite3"
FEED = "/feeds/all.rss"
POLL = 0.01  # seconds between attempts while the restarted server is not ready


def saved_files(state: Path) -> int:
    """How many file rows the state database holds (0 while it does not exist yet)."""
    path = state / DATABASE
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            (count,) = db.execute("SELECT count(*) FROM files").fetchone()
        return int(count)
    except sqlite3.Error:  # not created yet, or its schema not yet written
        return 0


def fill(store: Path, state: Path, log: Path, limit: float) -> str:
    """Run a first granian (one worker) on ``state`` until the state holds every article
    file; the ETag of the full /feeds/all.rss it served."""
    articles = sum(1 for _ in store.rglob("*.md"))
    port = free_port()
    with open(log, "ab") as errors:
        server = start_granian(
            store, state, port, env={"FEEDSVC_WORKERS": "1"}, stderr=errors
        )  # fmt: skip
        try:
            deadline = time.monotonic() + limit
            etag = None
            while etag is None:
                answer = _answer(port, server, deadline, log)
                etag = answer[1] if answer is not None and answer[0] == 200 else None
                time.sleep(POLL if etag is None else 0)
            while saved_files(state) < articles:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the state was not saved within {limit} s (see {log})")
                time.sleep(0.5)  # saved in the background, from the first request on
            return etag
        finally:
            stop_process(server)


def _answer(
    port: int, server: subprocess.Popen[bytes], deadline: float, log: Path
) -> tuple[int, str | None] | None:
    """The status and ETag of /feeds/all.rss now; None while nothing answers. RuntimeError when
    granian exited or ``deadline`` (monotonic) passed."""
    if server.poll() is not None or time.monotonic() > deadline:
        raise RuntimeError(f"granian exited or did not answer (see {log})")
    try:
        status, headers, _ = get(port, FEED, timeout=60)
    except OSError:
        return None
    return status, headers.get("ETag")


@dataclass
class Restart:
    """One restart: seconds to the first full feed, and what came before it."""

    seconds: float
    other_answers: int = 0  # answers before the full feed (503, or a feed that is not full)
    statuses: set[int] = field(default_factory=set)


def restart(store: Path, state: Path, expected: str, workers: int, log: Path) -> Restart:
    """Start deploy/granian.sh on the filled ``state``; time from the process's start to the
    first 200 of /feeds/all.rss carrying ``expected``."""
    port = free_port()
    with open(log, "ab") as errors:
        started = time.perf_counter()
        server = start_granian(
            store, state, port, env={"FEEDSVC_WORKERS": str(workers)}, stderr=errors
        )  # fmt: skip
        try:
            outcome = Restart(0.0)
            deadline = time.monotonic() + 300
            while True:
                answer = _answer(port, server, deadline, log)
                if answer == (200, expected):
                    outcome.seconds = time.perf_counter() - started
                    return outcome
                if answer is not None:
                    outcome.other_answers += 1
                    outcome.statuses.add(answer[0])
                time.sleep(POLL)
        finally:
            stop_process(server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument(
        "--stores", type=Path, default=Path(tempfile.gettempdir()) / "feedsvc-bench"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="granian workers at the restart")
    parser.add_argument(
        "--page-cache",
        choices=["as-is", "warm", "dropped"],
        default="warm",
        help="before each start, as bench/store.py does",
    )
    parser.add_argument(
        "--fill-limit", type=float, default=900, help="seconds the first run gets to save"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="feedsvc-restart-") as scratch:
        work = Path(scratch)
        log = work / "granian.log"
        stores, expected = {}, {}
        for size in sizes:
            stores[size] = ensure_store(args.stores, size)
            (work / f"state-{size}").mkdir()
            prepare_page_cache(stores[size], args.page_cache)
            expected[size] = fill(stores[size], work / f"state-{size}", log, args.fill_limit)
        served: dict[int, list[Restart]] = {size: [] for size in sizes}
        in_process: dict[int, list[float]] = {size: [] for size in sizes}
        loads: dict[int, list[float]] = {size: [] for size in sizes}
        try:
            for _ in range(args.rounds):
                for size in sizes:
                    store, state = stores[size], work / f"state-{size}"
                    prepare_page_cache(store, args.page_cache)
                    loads[size].append(os.getloadavg()[0])
                    served[size].append(restart(store, state, expected[size], args.workers, log))
                    prepare_page_cache(store, args.page_cache)
                    loads[size].append(os.getloadavg()[0])
                    in_process[size].append(float(probe(START_PROBE, store, state)["first_feed"]))
                    print(
                        f"{size:,}: granian {served[size][-1].seconds:.2f} s, in process "
                        f"{in_process[size][-1]:.2f} s, load average {loads[size][-2]:.2f}",
                        file=sys.stderr,
                    )
        except (RuntimeError, subprocess.CalledProcessError) as error:
            print(f"{error}\n{log.read_text(errors='replace')[-4000:]}", file=sys.stderr)
            return 2
    rows = []
    for size in sizes:
        granian = summarize([r.seconds for r in served[size]])
        peer = summarize(in_process[size])
        before = sum(r.other_answers for r in served[size])
        statuses = sorted(set().union(*(r.statuses for r in served[size])))
        rows.append(
            [
                f"{size:,}",
                f"{granian.median:.2f} s ({granian.low:.2f}-{granian.high:.2f})",
                f"{peer.median:.2f} s ({peer.low:.2f}-{peer.high:.2f})",
                f"{granian.median / peer.median:.1f}",
                f"{before}" + (f" ({', '.join(map(str, statuses))})" if statuses else ""),
                f"{statistics.median(loads[size]):.1f} ({min(loads[size]):.1f}-"
                f"{max(loads[size]):.1f})",
            ]
        )
    print(
        table(
            f"Warm restart to the first full feed, page cache {args.page_cache} (median of "
            f"{args.rounds}, min-max; targets: granian with {args.workers} workers <= 2 s at 10k "
            "and 100k, in process <= 1 s at 100k)",
            [
                "articles",
                f"deploy/granian.sh, {args.workers} workers, from the process's start",
                "in process (bench.store), from its first line",
                "ratio",
                "answers before the full feed",
                "load average (1 min) at the starts",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

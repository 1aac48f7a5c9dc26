"""Load and change together: the production servers under wrk while the store keeps changing.

Runs each production server with two workers on a copy of the sample store, on 127.0.0.1 only:
gunicorn with deploy/gunicorn.conf.py (the README's production command) and granian with
deploy/granian.sh, one after the other (``--server`` picks one; ``--rounds`` takes turns). For
a bounded time, against each:
- wrk drives it at 64 connections over every feed URL (bench/load.lua), which gives the
  latency percentiles;
- another process edits, adds and deletes articles, one change every ~0.2 s (some saves in
  place, so half-written files happen; some broken on purpose, then fixed); the same seeded
  sequence of changes for each server;
- a sampler fetches feeds (plain, gzip, conditional), parses each strictly by its format and
  checks that its ETag matches its bytes.
Then it measures how long after the last edit every feed, from every worker, reflects the
final store (the same bytes as a fresh instance renders from it).

    python bench/load.py [--server gunicorn|granian|both] [--seconds 30] [--connections 64]
                         [--rounds 1] [--edit-interval 0.2]

Prints one Markdown table, a column per server and the ratio granian / gunicorn; with several
rounds, medians (min-max) of the timings and sums of the counts. Exits 1 when, for any server,
an answer was not 200/304, a sampled response was malformed or had a mismatched ETag, or the
feeds did not converge within --converge seconds; timings never fail it (the issue's target,
p99 at most 5 times p50, is read in the table). Run it from a checkout with the dev extras
installed (it reads feeds as the tests do).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import summarize, table  # noqa: E402
from bench.servers import HOST, get  # noqa: E402
from feedsvc import create_app  # noqa: E402
from feedsvc.keeper import KeeperPolicy  # noqa: E402
from feedsvc.model import FEED_FORMATS  # noqa: E402
from feedsvc.service import Policy  # noqa: E402
from feedsvc.settings import load_settings  # noqa: E402
from tests.checks import check_document  # noqa: E402
from tests.servers import (  # noqa: E402
    free_port,
    start_granian,
    start_gunicorn,
    stop_process,
)

SERVERS = ("gunicorn", "granian")


def feed_paths(store: Path) -> list[str]:
    site = load_settings({"ARTICLES_DIR": str(store)}).site
    scopes = ["all", *(c.slug for c in site.categories)]
    return [f"/feeds/{scope}.{fmt}" for scope in scopes for fmt in FEED_FORMATS]


# --- the editor: another process that keeps changing the store ----------------------------

ARTICLE = """\
---
id: {id}
title: "{title}"
published: {published}
category: {category}
tags: [bench, load]
---
{body}
"""


def edit_store(
    store: str, seconds: float, interval: float, categories: list[str], result: dict[str, float]
) -> None:
    """Edit, add and delete articles, one change every ``interval`` seconds on average, until
    ``seconds`` have passed; record what was done. An interval of 0 changes nothing (the
    same load without edits, to compare with)."""
    rng = random.Random(5)
    root = Path(store) / "bench"
    root.mkdir(exist_ok=True)
    mine: list[Path] = []
    counts = {"edits": 0, "additions": 0, "deletions": 0, "broken saves": 0}
    deadline = time.monotonic() + seconds

    def text(n: int) -> str:
        day = rng.randint(1, 28)
        return ARTICLE.format(
            id=uuid.uuid4() if n < 0 else f"bench-{n}",
            title=f"Bench article {n} revision {rng.randint(0, 10**6)}",
            published=f"2025-02-{day:02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
            category=rng.choice(categories),
            body="Paragraph of the benchmark article. " * rng.randint(5, 80),
        )

    serial = 0
    while time.monotonic() < deadline and interval > 0:
        action = rng.random()
        if action < 0.3 or len(mine) < 5:
            serial += 1
            path = root / f"bench-{serial}.md"
            path.write_text(text(serial), encoding="utf-8")
            mine.append(path)
            counts["additions"] += 1
        elif action < 0.8:
            path = rng.choice(mine)
            n = int(path.stem.split("-")[1])
            if rng.random() < 0.5:  # in place: a reader may see it half-written
                with open(path, "w", encoding="utf-8") as f:
                    new = text(n)
                    f.write(new[: len(new) // 2])
                    f.flush()
                    time.sleep(0.002)
                    f.write(new[len(new) // 2 :])
            else:  # atomically, as careful editors do
                temporary = path.with_suffix(".tmp")
                temporary.write_text(text(n), encoding="utf-8")
                os.replace(temporary, path)
            counts["edits"] += 1
        elif action < 0.95:
            path = mine.pop(rng.randrange(len(mine)))
            path.unlink()
            counts["deletions"] += 1
        else:  # a broken save, fixed a moment later
            path = rng.choice(mine)
            n = int(path.stem.split("-")[1])
            path.write_text("---\nid: [broken\n", encoding="utf-8")
            time.sleep(0.05)
            path.write_text(text(n), encoding="utf-8")
            counts["broken saves"] += 1
        result["last_edit"] = time.time()
        time.sleep(rng.uniform(0.5, 1.5) * interval)
    if interval <= 0:
        time.sleep(seconds)
        result["last_edit"] = time.time()  # the catch-up is then timed from the load's end
    result.update(counts)


# --- the sampler: reads what is served as a client would ----------------------------------


@dataclass
class Samples:
    parsed: int = 0
    not_modified: int = 0
    malformed: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    bad_status: list[str] = field(default_factory=list)


def sample(port: int, paths: list[str], stop: threading.Event, samples: Samples) -> None:
    rng = random.Random(7)
    etags: dict[tuple[str, bool], str] = {}
    while not stop.is_set():
        path = rng.choice(paths)
        zipped = rng.random() < 0.5
        headers = {"Accept-Encoding": "gzip"} if zipped else {}
        if (path, zipped) in etags and rng.random() < 0.3:
            headers["If-None-Match"] = etags[(path, zipped)]
        try:
            status, answer, body = get(port, path, headers)
        except OSError as error:
            samples.bad_status.append(f"{path}: {error}")
            continue
        if status == 304:
            samples.not_modified += 1
            continue
        if status != 200:
            samples.bad_status.append(f"{path}: {status}")
            continue
        etag = answer.get("ETag", "")
        etags[(path, zipped)] = etag
        if answer.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
            expected = f'"{hashlib.sha256(body).hexdigest()[:32]}-gzip"'
        else:
            expected = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        if etag != expected:
            samples.mismatched.append(f"{path}: ETag {etag} for bytes that hash to {expected}")
        try:
            check_document(body, path.rsplit(".", 1)[1])
            samples.parsed += 1
        except Exception as error:  # anything a client would choke on
            samples.malformed.append(f"{path}: {error!r}")


# --- after the last edit: how long until every worker serves the final store --------------


def final_etags(store: Path, paths: list[str], scratch: Path) -> dict[str, str | None]:
    # It answers a few requests and goes, with its state folder: it never saves (a save after
    # the folder is removed would only log that it cannot).
    never_saves = Policy(keeper=KeeperPolicy(first_save_delay=86400.0))
    config = {"ARTICLES_DIR": str(store), "STATE_DIR": str(scratch), "TESTING": True}
    app = create_app(config, policy=never_saves)
    client = app.test_client()
    etags: dict[str, str | None] = {}
    for path in paths:
        response = client.get(path)
        etags[path] = response.headers["ETag"] if response.status_code == 200 else None
    return etags


def converged(port: int, expected: dict[str, str | None], rounds: int = 8) -> bool:
    # Each request opens a connection of its own, so that several rounds reach every worker.
    for _ in range(rounds):
        for path, etag in expected.items():
            status, answer, _ = get(port, path, {})
            if (answer.get("ETag") if status == 200 else None) != etag:
                return False
    return True


class SetupError(Exception):
    """A server or wrk did not run: nothing was measured."""


@dataclass
class Run:
    """One server's load with edits: wrk's totals, the samples, the changes made, the catch-up
    time (None: not within --converge) and the 1-minute load average before and after."""

    server: str
    load: dict[str, Any]
    samples: Samples
    changes: dict[str, float]
    settle: float | None
    load_average: tuple[float, float]

    @property
    def failures(self) -> int:
        return int(self.load["other"]) + len(self.samples.bad_status)

    @property
    def socket_errors(self) -> int:
        keys = ("connect_errors", "read_errors", "write_errors", "timeouts")
        return sum(int(self.load[k]) for k in keys)

    @property
    def correct(self) -> bool:
        return (
            self.failures == 0
            and not self.samples.malformed
            and not self.samples.mismatched
            and self.samples.parsed > 0
            and self.settle is not None
        )


def start(
    server: str, store: Path, work: Path, port: int, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    """The production server ``server`` with the production defaults (two workers, a rescan
    every 2 s); its access log (on, as by default) is dropped."""
    env = {"FEEDSVC_WORKERS": "2", "FEEDSVC_RESCAN_INTERVAL": "2"}
    if server == "gunicorn":
        return start_gunicorn(store, work, port, env=env, stderr=log)
    return start_granian(store, work / "state", port, env=env, stderr=log)


def measure(server: str, args: argparse.Namespace) -> Run:
    """Load with edits against a fresh ``server`` on a fresh copy of the sample store."""
    work = Path(tempfile.mkdtemp(prefix="feedsvc-load-"))
    store = work / "store"
    shutil.copytree(REPO / "articles", store)
    paths = feed_paths(store)
    categories = [p.split("/")[2].split(".")[0] for p in paths if "/all." not in p]
    port = free_port()
    before = os.getloadavg()[0]
    log_path = work / f"{server}.log"
    server_log = open(log_path, "wb")  # closed in the finally below
    process = start(server, store, work, port, server_log)
    editor: multiprocessing.Process | None = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(port, "/healthz")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SetupError(f"{server} did not start: {log_path.read_text()}") from None
                time.sleep(0.1)

        manager = multiprocessing.Manager()
        edits = manager.dict({"last_edit": time.time()})
        editor = multiprocessing.Process(
            target=edit_store,
            args=(str(store), args.seconds, args.edit_interval, sorted(set(categories)), edits),
        )
        samples = Samples()
        stop = threading.Event()
        sampler = threading.Thread(target=sample, args=(port, paths, stop, samples))
        editor.start()
        sampler.start()
        done = subprocess.run(
            [
                "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s",
                "--timeout", "10s", "-s", str(REPO / "bench" / "load.lua"),
                f"http://{HOST}:{port}", "--", *paths,
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        editor.join(timeout=args.seconds + 30)
        stop.set()
        sampler.join(timeout=60)
        wrk_lines = [line for line in done.stdout.splitlines() if line.startswith("WRK ")]
        if done.returncode != 0 or not wrk_lines:
            raise SetupError(f"wrk failed: {done.stdout} {done.stderr}")
        load = json.loads(wrk_lines[-1][4:])
        changes = dict(edits)
        manager.shutdown()

        expected = final_etags(store, paths, work / "check-state")
        settle: float | None = None
        start_time = time.time()
        while time.time() - start_time < args.converge:
            if converged(port, expected):
                settle = time.time() - changes["last_edit"]
                break
            time.sleep(0.1)
        after = os.getloadavg()[0]
    finally:
        if editor is not None and editor.is_alive():
            editor.terminate()
        stop_process(process)
        server_log.close()
        shutil.rmtree(work, ignore_errors=True)  # a SetupError carries the server's log
    return Run(server, load, samples, changes, settle, (before, after))


def _spread(values: list[float], unit: str = "", digits: int = 1) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}{unit}"
    t = summarize(values)
    return f"{t.median:.{digits}f}{unit} ({t.low:.{digits}f}-{t.high:.{digits}f})"


def report(runs: dict[str, list[Run]], args: argparse.Namespace) -> str:
    """One Markdown table: a row per measure, a column per server, the ratio granian/gunicorn
    for the timings."""
    servers = [s for s in SERVERS if runs.get(s)]

    def row(
        name: str,
        cell: Callable[[list[Run]], str],
        ratio: Callable[[list[Run]], float] | None = None,
    ) -> list[str]:
        cells = [cell(runs[s]) for s in servers]
        if len(servers) == 2:
            cells.append(f"{ratio(runs['granian']) / ratio(runs['gunicorn']):.2f}" if ratio else "")
        return [name, *cells]

    def median(key: str) -> Callable[[list[Run]], float]:
        return lambda rs: statistics.median(float(r.load[key]) for r in rs)

    def rate(rs: list[Run]) -> float:
        return statistics.median(float(r.load["requests"] / r.load["seconds"]) for r in rs)

    def changes(rs: list[Run]) -> str:
        kinds = ("edits", "additions", "deletions", "broken saves")
        return ", ".join(f"{sum(int(r.changes.get(k, 0)) for r in rs)} {k}" for k in kinds)

    def settle(rs: list[Run]) -> str:
        times = [r.settle for r in rs]
        if any(t is None for t in times):
            return f"not within {args.converge} s"
        since = "the last edit" if args.edit_interval > 0 else "the load (no edits)"
        return _spread([t for t in times if t is not None], " s") + f" after {since}"

    rows = [
        row("requests/s (wrk)", lambda rs: _spread(
            [r.load["requests"] / r.load["seconds"] for r in rs], digits=0), rate),
        row("requests served (wrk)", lambda rs: f"{sum(int(r.load['requests']) for r in rs)}"),
        row("of which 200 / 304", lambda rs: (
            f"{sum(int(r.load['ok']) for r in rs)} / "
            f"{sum(int(r.load['not_modified']) for r in rs)}")),
        row("latency p50", lambda rs: _spread([r.load["p50_ms"] for r in rs], " ms"),
            median("p50_ms")),
        row("latency p99", lambda rs: _spread([r.load["p99_ms"] for r in rs], " ms"),
            median("p99_ms")),
        row("p99 / p50 (target: at most 5)", lambda rs: _spread(
            [r.load["p99_ms"] / r.load["p50_ms"] for r in rs])),
        row("latency max", lambda rs: _spread([r.load["max_ms"] for r in rs], " ms"),
            median("max_ms")),
        row("answers not 2xx/304 (wrk + sampler)", lambda rs: f"{sum(r.failures for r in rs)}"),
        row("socket errors and timeouts (wrk)",
            lambda rs: f"{sum(r.socket_errors for r in rs)}"),
        row("store changes during the load", changes),
        row("responses sampled and parsed", lambda rs: (
            f"{sum(r.samples.parsed for r in rs)} "
            f"(+{sum(r.samples.not_modified for r in rs)} 304)")),
        row("malformed sampled responses",
            lambda rs: f"{sum(len(r.samples.malformed) for r in rs)}"),
        row("ETag/body mismatches", lambda rs: f"{sum(len(r.samples.mismatched) for r in rs)}"),
        row("every feed reflects the final store", settle),
        row("load average (1 min) before / after", lambda rs: ", ".join(
            f"{r.load_average[0]:.1f} / {r.load_average[1]:.1f}" for r in rs)),
    ]  # fmt: skip
    header = ["measure", *servers] + (["granian / gunicorn"] if len(servers) == 2 else [])
    rounds = f"{args.rounds} rounds taking turns, " if args.rounds > 1 else ""
    edits = (
        f"a store change every ~{args.edit_interval} s" if args.edit_interval > 0 else "no edits"
    )
    return table(
        f"Load {'with' if args.edit_interval > 0 else 'without'} edits: {rounds}{args.seconds} "
        f"s per server and round, {args.connections} "
        f"connections, wrk {args.threads} threads, {edits}",
        header,
        rows,
    )


def run(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package 'wrk')", file=sys.stderr)
        return 2
    chosen = SERVERS if args.server == "both" else (args.server,)
    runs: dict[str, list[Run]] = {server: [] for server in chosen}
    try:
        for _ in range(args.rounds):
            for server in chosen:  # rounds take turns, so that the machine's drift hits both
                runs[server].append(measure(server, args))
    except SetupError as error:
        print(error, file=sys.stderr)
        return 2
    print(report(runs, args))
    everything = [r for rs in runs.values() for r in rs]
    for r in everything:
        for problem in (r.samples.bad_status + r.samples.malformed + r.samples.mismatched)[:20]:
            print(f"problem ({r.server}): {problem}", file=sys.stderr)
    return 0 if all(r.correct for r in everything) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", choices=[*SERVERS, "both"], default="both")
    parser.add_argument(
        "--seconds", type=int, default=30, help="how long the load lasts, per server and round"
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, servers taking turns")
    parser.add_argument(
        "--edit-interval",
        type=float,
        default=0.2,
        help="mean seconds between store changes (0: none, the same load without edits)",
    )
    parser.add_argument(
        "--converge", type=float, default=60, help="seconds the feeds get to catch up"
    )
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())

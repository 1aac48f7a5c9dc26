"""Load and change together: the production server under wrk while the store keeps changing.

Starts the README's production command (gunicorn with deploy/gunicorn.conf.py) on a copy of
the sample store, on 127.0.0.1 only, and for a bounded time:
- wrk drives it at 64 connections over every feed URL (bench/load.lua);
- another process edits, adds and deletes articles continuously (some saves in place, so
  half-written files happen; some broken on purpose, then fixed);
- a sampler fetches feeds (plain, gzip, conditional), parses each strictly by its format and
  checks that its ETag matches its bytes.
Then it measures how long after the last edit every feed, from every worker, reflects the
final store (the same bytes as a fresh instance renders from it).

    python bench/load.py [--seconds 30] [--connections 64]

Prints a Markdown table; exits 1 when any answer was not 200/304, any sampled response was
malformed or had a mismatched ETag, or the feeds did not converge within --converge seconds.
Run it from a checkout with the dev extras installed (it reads feeds as the tests do).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from feedsvc import create_app  # noqa: E402
from feedsvc.model import FEED_FORMATS  # noqa: E402
from feedsvc.settings import load_settings  # noqa: E402
from tests.checks import check_document  # noqa: E402
from tests.servers import free_port, start_gunicorn  # noqa: E402

HOST = "127.0.0.1"  # never anything but this machine's loopback


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


def edit_store(store: str, seconds: float, categories: list[str], result: dict[str, float]) -> None:
    """Edit, add and delete articles until ``seconds`` have passed; record what was done."""
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
    while time.monotonic() < deadline:
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
        time.sleep(rng.uniform(0.005, 0.05))
    result.update(counts)


# --- the sampler: reads what is served as a client would ----------------------------------


@dataclass
class Samples:
    parsed: int = 0
    not_modified: int = 0
    malformed: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    bad_status: list[str] = field(default_factory=list)


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


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
    app = create_app({"ARTICLES_DIR": str(store), "STATE_DIR": str(scratch), "TESTING": True})
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


def run(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package 'wrk')", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="feedsvc-load-"))
    store = work / "store"
    shutil.copytree(REPO / "articles", store)
    paths = feed_paths(store)
    categories = [p.split("/")[2].split(".")[0] for p in paths if "/all." not in p]
    port = free_port()
    server_log = open(work / "gunicorn.log", "wb")  # closed in the finally below
    # The production defaults (two workers, a rescan every 2 s); the access log is dropped.
    server = start_gunicorn(
        store, work, port,
        env={"FEEDSVC_WORKERS": "2", "FEEDSVC_RESCAN_INTERVAL": "2"}, stderr=server_log,
    )  # fmt: skip
    editor: multiprocessing.Process | None = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(port, "/healthz", {})
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    print((work / "gunicorn.log").read_text(), file=sys.stderr)
                    return 2
                time.sleep(0.1)

        manager = multiprocessing.Manager()
        edits = manager.dict({"last_edit": time.time()})
        editor = multiprocessing.Process(
            target=edit_store, args=(str(store), args.seconds, sorted(set(categories)), edits)
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
            print(done.stdout, done.stderr, file=sys.stderr)
            return 2
        load = json.loads(wrk_lines[-1][4:])
        changes = dict(edits)

        expected = final_etags(store, paths, work / "check-state")
        settle: float | None = None
        start = time.time()
        while time.time() - start < args.converge:
            if converged(port, expected):
                settle = time.time() - changes["last_edit"]
                break
            time.sleep(0.1)
    finally:
        if editor is not None and editor.is_alive():
            editor.terminate()
        server.terminate()
        server.wait(timeout=60)
        server_log.close()

    socket_errors = sum(
        load[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    failures = load["other"] + len(samples.bad_status)
    rate = load["requests"] / load["seconds"]
    latency = f"{load['p50_ms']:.1f} / {load['p99_ms']:.1f} / {load['max_ms']:.1f} ms"
    rows = [
        ("load", f"{args.seconds} s, {args.connections} connections, wrk {args.threads} threads"),
        ("requests served (wrk)", f"{load['requests']} ({rate:.0f}/s)"),
        ("of which 200 / 304", f"{load['ok']} / {load['not_modified']}"),
        ("latency p50 / p99 / max", latency),
        ("answers not 2xx/304 (wrk + sampler)", f"{failures}"),
        ("socket errors and timeouts (wrk)", f"{socket_errors}"),
        ("store changes during the load", ", ".join(
            f"{int(changes.get(k, 0))} {k}"
            for k in ("edits", "additions", "deletions", "broken saves")
        )),
        ("responses sampled and parsed", f"{samples.parsed} (+{samples.not_modified} 304)"),
        ("malformed sampled responses", f"{len(samples.malformed)}"),
        ("ETag/body mismatches", f"{len(samples.mismatched)}"),
        ("every feed reflects the final store", (
            f"{settle:.1f} s after the last edit" if settle is not None
            else f"not within {args.converge} s"
        )),
    ]  # fmt: skip
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    for problem in (samples.bad_status + samples.malformed + samples.mismatched)[:20]:
        print(f"problem: {problem}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    ok = (
        failures == 0
        and not samples.malformed
        and not samples.mismatched
        and samples.parsed > 0
        and settle is not None
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=30, help="how long the load lasts")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--converge", type=float, default=60, help="seconds the feeds get to catch up"
    )
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())

"""`feedsvc stats` against GoAccess reading the same generated access log (README, Performance).

    python -m bench.stats [--lines 1000000] [--rounds 3] [--logs FOLDER]

The log, written in the combined format (nginx's default, Apache's, gunicorn's) and in
deploy/nginx.conf's feedsvc_cache format, holds a week of polling: aggregators stating counts
that change during the day, desktop and self-hosted readers with and without validators,
crawlers and monitors, the home page, the OPML list, archives, WordPress aliases, 404s and some
unreadable lines. Each is written once to ``--logs`` (default: the temporary folder; kept
between runs). Each program runs in its own process, in turns; the time is the wall time of
the whole run, the memory its peak resident set (os.wait4). GoAccess (Debian package goaccess,
installed by this script when missing) writes its JSON report; feedsvc stats its JSON.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .common import summarize, table

FEEDS = [
    f"/feeds/{scope}.{fmt}"
    for scope in ("all", "energy", "technology", "tag/chips", "author/ann-lee", "lang/de")
    for fmt in ("rss", "atom", "json")
]
AGGREGATORS = [
    "Feedly/1.0 (+http://www.feedly.com/fetcher.html; {n} subscribers; )",
    "Mozilla/5.0 (compatible; inoreader.com; {n} subscribers)",
    "NewsBlur Feed Fetcher - {n} subscribers - https://www.newsblur.com/site/{id}/x (Mozilla/5.0)",
    "Feedbin feed-id:{id} - {n} subscribers",
    "Mozilla/5.0 (compatible; theoldreader.com; {n} subscribers; feed-id={id})",
    "Mozilla/5.0 (compatible; BazQux/2.4; +https://bazqux.com/fetcher; {n} subscribers)",
]
READERS = [
    "NetNewsWire (RSS Reader; https://netnewswire.com/)",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.{v}",
    "newsboat/2.{v}.0 (Linux x86_64)",
    "Mozilla/5.0 (compatible; Miniflux/2.1.{v}; +https://miniflux.app)",
    "FreshRSS/1.24.{v} (Linux; https://freshrss.org)",
    "python-requests/2.{v}.0",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
]
OTHER_PATHS = ["/", "/feeds.opml", "/feeds/all/archive/2026-11.rss", "/feed/", "/robots.txt"]
START = datetime(2026, 11, 27, tzinfo=UTC)
UPSTREAM = " upstream=127.0.0.1:8000 upstream_status=200"
# GoAccess's reading of each format: its own COMBINED, and deploy/nginx.conf's feedsvc_cache
# (the cache and upstream fields skipped).
GOACCESS_FORMATS = {
    "combined": ["--log-format=COMBINED"],
    "nginx": [
        '--log-format=%h [%d:%t %^] "%r" %s %b %^ %^ %^ "%u"',
        "--date-format=%d/%b/%Y",
        "--time-format=%T",
    ],
}
FORMAT_NAMES = {"combined": "combined format", "nginx": "deploy/nginx.conf's format"}


def make_log(path: Path, lines: int, style: str = "combined", seed: int = 15) -> None:
    """Writes ``lines`` lines of a week of polling to ``path`` (deterministic for a seed), in
    the combined format or ("nginx") deploy/nginx.conf's feedsvc_cache."""
    rng = random.Random(seed)
    clients = [
        (f"198.51.{i // 250}.{i % 250}", rng.choice(READERS).format(v=rng.randrange(40)))
        for i in range(20_000)
    ]
    step = timedelta(days=7) / lines
    with path.open("w", encoding="utf-8") as out:
        for n in range(lines):
            moment = START + step * n
            stamp = moment.strftime("%d/%b/%Y:%H:%M:%S +0000")
            roll = rng.random()
            status, size = ("304", 0) if rng.random() < 0.6 else ("200", rng.choice((9120, 31480)))
            path_ = rng.choice(FEEDS)
            if roll < 0.2:
                which = rng.randrange(len(AGGREGATORS))
                subscribers = 50 * (which + 1) + moment.hour  # changes during the day
                agent = AGGREGATORS[which].format(n=subscribers, id=FEEDS.index(path_))
                address = f"203.0.113.{rng.randrange(1, 250)}"
            elif roll < 0.9:
                address, agent = rng.choice(clients)
            elif roll < 0.96:
                address, agent = (
                    f"66.249.{rng.randrange(64, 80)}.{rng.randrange(250)}",
                    rng.choice(BOTS),
                )
            else:
                address, agent = rng.choice(clients)
                path_ = rng.choice(OTHER_PATHS)
                status = rng.choice(("200", "301", "404"))
            if n % 10_000 == 9_999:
                out.write("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not a log line\n")
                continue
            request = f'"GET {path_} HTTP/1.1" {status} {size}'
            if style == "nginx":
                cache = "HIT upstream=- upstream_status=-" if status == "304" else "MISS" + UPSTREAM
                out.write(f'{address} [{stamp}] {request} cache={cache} "{agent}"\n')
            else:
                out.write(f'{address} - - [{stamp}] {request} "-" "{agent}"\n')


def run(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user and system) and peak RSS (bytes) of one run of
    ``command``, its output discarded."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {errors[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024  # Linux: kilobytes


def goaccess() -> str:
    found = shutil.which("goaccess")
    if found is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "goaccess"], check=True)
        found = shutil.which("goaccess")
    assert found is not None, "goaccess could not be installed"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--logs", type=Path, help="the folder of the generated logs (made once)")
    args = parser.parse_args()
    folder = args.logs or Path(tempfile.gettempdir())
    feedsvc = str(Path(sys.executable).parent / "feedsvc")
    peer = goaccess()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for style, options in GOACCESS_FORMATS.items():
            log = folder / f"feedsvc-bench-{style}-{args.lines}.log"
            if not log.exists():
                make_log(log, args.lines, style)
            commands = {
                f"feedsvc stats --json, {FORMAT_NAMES[style]}": [
                    feedsvc, "stats", str(log), "--json",
                ],
                f"GoAccess 1.7 (JSON report), {FORMAT_NAMES[style]}": [
                    peer, str(log), *options, "--no-progress", "-o", f"{scratch}/goaccess.json",
                ],
            }  # fmt: skip
            rows += measure(commands, args.rounds)
    print(
        table(
            f"`feedsvc stats` and GoAccess on one log of {args.lines:,} lines, in each format "
            f"({args.rounds} rounds)",
            ["program", "wall time (median, low-high)", "/ GoAccess", "CPU time", "/ GoAccess",
             "peak RSS"],
            rows,
        )
    )  # fmt: skip


def measure(commands: dict[str, list[str]], rounds: int) -> list[list[str]]:
    """Rows of the table: each command run ``rounds`` times, taking turns; ratios to the last."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, int] = dict.fromkeys(commands, 0)
    for _ in range(rounds):  # turns, so that both meet the same machine state
        for name, command in commands.items():
            elapsed, seconds, peak = run(command)
            times[name].append(elapsed)
            cpu[name].append(seconds)
            peaks[name] = max(peaks[name], peak)
    reference = list(commands)[-1]
    peer, peer_cpu = (summarize(series[reference]).median for series in (times, cpu))
    rows = []
    for name in commands:
        timing, cpu_timing = summarize(times[name]), summarize(cpu[name])
        rows.append(
            [
                name,
                f"{timing.median:.2f} s ({timing.low:.2f}-{timing.high:.2f})",
                f"{timing.median / peer:.2f}",
                f"{cpu_timing.median:.2f} s",
                f"{cpu_timing.median / peer_cpu:.2f}",
                f"{peaks[name] / 2**20:.0f} MB",
            ]
        )
    return rows


if __name__ == "__main__":
    main()

"""``feedsvc stats LOG...``: how many subscribers each feed has, and how they poll, from the
access logs (README, "Subscriber counts").

logs.py reads the files (the edge: addresses become keyed hashes there), paths.py and
agents.py say which document and who, counting.py makes the figures (pure), report.py and
html.py write them out.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from ..settings import env_config, read_partners_file
from .counting import count
from .html import html_report
from .logs import LogReader
from .report import dumps, table


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``stats`` command to the CLI's subcommands."""
    stats = commands.add_parser(
        "stats", help="subscribers per feed, and how they poll, from access logs"
    )
    stats.add_argument(
        "logs",
        nargs="+",
        type=Path,
        metavar="LOG",
        help="access logs, plain or gzip, in any order; - reads standard input",
    )
    stats.add_argument("--json", action="store_true", help="write JSON to stdout")
    stats.add_argument("--html", type=Path, metavar="REPORT.html", help="also write this report")
    stats.add_argument(
        "--since", type=_day, metavar="DATE", help="leave out days before DATE (YYYY-MM-DD, UTC)"
    )
    stats.add_argument(
        "--partners",
        type=Path,
        metavar="FILE",
        help="the partners file, to name partner feeds (default: FEEDSVC_PARTNERS_FILE)",
    )


def run(args: argparse.Namespace) -> int:
    """Runs ``feedsvc stats``: 0, or 1 when a file could not be read (to its end)."""
    partners_file = args.partners or env_config().get("PARTNERS_FILE")
    partners = {}
    if partners_file:
        partners = {p.token_sha256: p.name for p in read_partners_file(Path(str(partners_file)))}
    reader = LogReader()
    stats = count(reader.hits(args.logs), partners, args.since)
    if args.html is not None:
        args.html.write_text(html_report(stats, reader.files), encoding="utf-8")
    sys.stdout.write(dumps(stats, reader.files) if args.json else table(stats, reader.files))
    problems = [f for f in reader.files if f.problem]
    for f in problems:
        print(f"feedsvc stats: {f.name}: {f.problem}", file=sys.stderr)
    return 1 if problems else 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None

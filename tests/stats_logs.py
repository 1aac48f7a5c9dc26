"""Access-log lines with known answers, for the tests of `feedsvc stats`: each written as the
server writes it (the formats are those of deploy/ and of nginx's and Apache's combined)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedsvc.cli import main

DAY = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)

FEEDLY = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; {} subscribers; )"
NETNEWSWIRE = "NetNewsWire (RSS Reader; https://netnewswire.com/)"


def combined(
    target: str,
    agent: str,
    *,
    address: str = "203.0.113.9",
    status: int = 200,
    size: int | str = 4000,
    when: datetime = DAY,
    method: str = "GET",
) -> str:
    """A line of the combined format (nginx's and Apache's; gunicorn's default)."""
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S %z")
    return f'{address} - - [{stamp}] "{method} {target} HTTP/1.1" {status} {size} "-" "{agent}"'


def nginx_cache(
    target: str,
    agent: str,
    *,
    address: str = "203.0.113.9",
    status: int = 200,
    size: int = 4000,
    when: datetime = DAY,
) -> str:
    """A line of deploy/nginx.conf's feedsvc_cache format."""
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S %z")
    return (
        f'{address} [{stamp}] "GET {target} HTTP/1.1" {status} {size} cache=HIT '
        f'upstream=- upstream_status=- "{agent}"'
    )


def granian(
    target: str,
    agent: str,
    *,
    address: str = "203.0.113.9",
    status: int = 200,
    when: datetime = DAY,
) -> str:
    """A line of granian's access log as deploy/granian.sh configures it."""
    stamp = when.strftime("%Y-%m-%d %H:%M:%S %z")
    return f'{address} - - [{stamp}] "GET {target} HTTP/1.1" {status} - "-" "{agent}"'


def write_log(path: Path, lines: Sequence[str], *, compress: bool = False) -> Path:
    data = "".join(f"{line}\n" for line in lines).encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def stats_json(
    capsys: pytest.CaptureFixture[str], *arguments: str | Path, status: int = 0
) -> dict[str, Any]:
    """`feedsvc stats ... --json`, its exit status checked, its output parsed."""
    assert main(["stats", *map(str, arguments), "--json"]) == status
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def feed(result: dict[str, Any], path: str) -> dict[str, Any]:
    """The entry of one feed in ``--json`` output."""
    (found,) = [f for f in result["feeds"] if f["feed"] == path]
    assert isinstance(found, dict)
    return found

"""`feedsvc stats` reading logs: several files, gzip-rotated, any order; lines it cannot read
counted and reported, never fatal; client addresses never shown (issue 15)."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest

from feedsvc.cli import main
from feedsvc.stats.logs import LogReader

from .stats_logs import DAY, FEEDLY, NETNEWSWIRE, combined, feed, stats_json, write_log


def rotated_logs(folder: Path) -> list[Path]:
    """A week split as logrotate leaves it: access.log, access.log.1, then .2.gz, .3.gz..."""
    paths = []
    for age in range(5):
        when = DAY - timedelta(days=age)
        lines = [
            combined("/feeds/all.rss", FEEDLY.format(100 + age), when=when),
            combined("/feeds/all.rss", NETNEWSWIRE, address=f"198.51.100.{age}", when=when),
        ]
        name = "access.log" + (f".{age}" if age else "") + (".gz" if age >= 2 else "")
        paths.append(write_log(folder / name, lines, compress=age >= 2))
    return paths


def test_rotated_and_gzipped_files_in_any_order_give_the_same_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = rotated_logs(tmp_path)
    result = stats_json(capsys, *paths)
    assert feed(result, "/feeds/all.rss")["subscribers"] == 101  # the last day: Feedly 100 + 1
    assert (
        list(result["days"].values()) == [{"/feeds/all.rss": 101 + age} for age in range(5)][::-1]
    )
    shuffled = paths[:]
    random.Random(15).shuffle(shuffled)
    again = stats_json(capsys, *shuffled)
    assert (again["feeds"], again["days"]) == (result["feeds"], result["days"])
    assert sum(f["lines"] for f in again["files"]) == 10


def test_gzip_is_told_by_its_bytes_not_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    misnamed = write_log(
        tmp_path / "access.log.1", [combined("/feeds/all.rss", NETNEWSWIRE)], compress=True
    )
    assert feed(stats_json(capsys, misnamed), "/feeds/all.rss")["direct"] == 1


def test_hostile_lines_are_counted_and_never_fatal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = combined("/feeds/all.rss", NETNEWSWIRE).encode()
    hostile = [
        bytes(range(256)),  # binary, with a newline among it
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello sent to port 80
        b'203.0.113.9 - - [04/Dec/2026:09:30:00 +0000] "GET /feeds/all.rss HTTP/1.1 200 5',
        b'203.0.113.9 - - [31/Feb/2026:09:30:00 +0000] "GET /feeds/all.rss HTTP/1.1" 200 5 "-" "x"',
        b'203.0.113.9 - - [04/Foo/2026:09:30:00 +0000] "GET /feeds/all.rss HTTP/1.1" 200 5 "-" "x"',
        b"A" * 100_000,  # a 100 KB line
        good.replace(b"NetNewsWire", b"N" * 100_000),  # a 100 KB User-Agent
        b"",
    ]
    # Quotes inside the request and User-Agent (gunicorn does not escape them): still read.
    stamp = b"203.0.113.7 - - [04/Dec/2026:09:30:00 +0000]"
    quoted = stamp + b' "GET /feeds/all.rss?q="x" HTTP/1.1" 200 5 "-" "a "b" c"'
    # Escaped quotes, a terminal escape and a byte that is no UTF-8, polling twice unvalidated.
    escaped = stamp + b' "GET /feeds/all.rss HTTP/1.1" 200 5 "-" "d\\x22e\x1b[31m\xff"'
    log = tmp_path / "access.log"
    log.write_bytes(b"\n".join([good, *hostile, quoted, escaped, escaped, good]) + b"\n")
    result = stats_json(capsys, log)
    (summary,) = result["files"]
    assert summary["unreadable"] == 9  # two of the binary (it holds a newline), one each other
    assert summary["first_unreadable"] == 2
    assert feed(result, "/feeds/all.rss")["direct"] == 3  # the good line twice, one reader
    text = main_output(capsys, log)
    assert "d\\x22e\ufffd[31m\ufffd" in text  # in the pollers' table, made printable
    assert "\x1b" not in text
    assert "9 unreadable" in text


def main_output(capsys: pytest.CaptureFixture[str], *arguments: str | Path) -> str:
    status = main(["stats", *map(str, arguments)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


def test_a_line_without_end_is_read_in_bounded_memory(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    good = combined("/feeds/all.rss", NETNEWSWIRE).encode() + b"\n"
    with log.open("wb") as f:
        f.write(good)
        for _ in range(64):  # 64 MB without a newline, then a good line
            f.write(b"\xee" * (1 << 20))
        f.write(b"\n" + good + b"\x00" * (3 << 20))  # and 3 MB of NUL without a newline
    reader = LogReader()
    tracemalloc.start()
    try:
        hits = list(reader.hits([log]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [h.target for h in hits] == ["/feeds/all.rss", "/feeds/all.rss"]
    (summary,) = reader.files
    assert (summary.lines, summary.unreadable) == (4, 2)
    assert peak < 8 << 20  # a few blocks of CHUNK_BYTES, never the whole line


def test_a_cut_gzip_file_counts_what_it_holds_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        combined("/feeds/all.rss", NETNEWSWIRE, address=f"198.51.100.{n}") for n in range(2000)
    ]
    whole = gzip.compress("".join(f"{line}\n" for line in lines).encode())
    cut = tmp_path / "access.log.2.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    missing = tmp_path / "access.log.9.gz"
    result = stats_json(capsys, cut, missing, status=1)
    assert 0 < feed(result, "/feeds/all.rss")["direct"] < 2000
    problems = {f["file"]: f["problem"] for f in result["files"]}
    assert "cut short" in problems[str(cut)]
    assert problems[str(missing)] == "No such file or directory"
    assert main(["stats", str(missing)]) == 1
    assert f"feedsvc stats: {missing}: No such file or directory" in capsys.readouterr().err


def test_syslog_prefixes_and_granian_default_format_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        "Dec 04 09:30:00 web1 gunicorn[812]: " + combined("/feeds/all.rss", NETNEWSWIRE),
        "2026-12-04T09:30:00+0000 web1 gunicorn[812]: "
        + combined("/feeds/all.rss", "newsboat/2.36"),
        # granian's own format names no User-Agent: each address is one reader.
        '[2026-12-04 09:30:00 +0000] 198.51.100.1 - "GET /feeds/all.atom HTTP/1.1" 200 1.204',
        '[2026-12-04 09:30:00 +0000] 198.51.100.2 - "GET /feeds/all.atom HTTP/1.1" 304 0.310',
        '203.0.113.5 - - [04/Dec/2026:09:30:00 +0000] "GET /feeds/all.json HTTP/1.0" 200 1043',
    ]
    result = stats_json(capsys, write_log(tmp_path / "access.log", lines))
    assert feed(result, "/feeds/all.rss")["direct"] == 2
    atom = feed(result, "/feeds/all.atom")
    assert (atom["direct"], atom["not_modified"], atom["bytes_sent"]) == (2, 1, None)
    assert feed(result, "/feeds/all.json")["direct"] == 1  # the common format: no User-Agent
    assert result["unreadable"] == 0


def test_client_addresses_are_never_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    addresses = ["198.51.100.77", "2001:db8::1234", "203.0.113.250"]
    lines = [combined("/feeds/all.rss", "curl/8.5", address=a) for a in addresses for _ in range(3)]
    lines.append(combined("/feeds/all.rss", FEEDLY.format(5), address="192.0.2.99"))
    log = write_log(tmp_path / "access.log", lines)
    report = tmp_path / "report.html"
    shown = main_output(capsys, log, "--html", report) + str(stats_json(capsys, log))
    shown += report.read_text("utf-8")
    assert feed(stats_json(capsys, log), "/feeds/all.rss")["direct"] == 3
    for address in [*addresses, "192.0.2.99"]:
        assert address not in shown


def test_standard_input_is_read_as_a_log() -> None:
    """`journalctl -u feedsvc | feedsvc stats -`: gunicorn's lines behind journald's prefix."""
    lines = [
        f"Dec 04 09:30:0{n} web1 gunicorn[812]: " + combined("/feeds/all.rss", NETNEWSWIRE)
        for n in range(3)
    ]
    lines.append("Dec 04 09:30:05 web1 gunicorn[812]: [INFO] Booting worker with pid: 813")
    feedsvc = Path(sys.executable).parent / "feedsvc"
    data = "".join(f"{line}\n" for line in lines).encode()
    for piped in (data, gzip.compress(data)):
        result = subprocess.run(
            [str(feedsvc), "stats", "-", "--json"],
            input=piped, capture_output=True, check=True, timeout=60,
        )  # fmt: skip
        parsed = json.loads(result.stdout)
        assert feed(parsed, "/feeds/all.rss")["requests"] == 3
        assert parsed["files"] == [
            {"file": "-", "lines": 4, "unreadable": 1, "first_unreadable": 4, "problem": None}
        ]

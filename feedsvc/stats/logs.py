"""Access logs in, request records out: the edge of `feedsvc stats` that reads files.

One streaming pass over each file, plain or gzip (told by its first bytes, not its name), in
blocks of CHUNK_BYTES: memory is bounded by the block and MAX_LINE_BYTES, whatever the file
holds. A line no format reads (binary, cut, broken quoting, longer than MAX_LINE_BYTES) is
counted, never fatal, and never echoed (it may hold a client address).

The formats read, each a line of its own (the first that matches wins):
- the combined format of nginx and Apache (``%h %l %u [%t] "%r" %>s %b "%{Referer}i"
  "%{User-Agent}i"``), the common format (the same without the last two fields), and gunicorn's
  default access log, which is the combined format;
- deploy/nginx.conf's ``feedsvc_cache``: ``$remote_addr [$time_local] "$request" $status
  $body_bytes_sent cache=... upstream=... upstream_status=... "$http_user_agent"``;
- granian's access log as deploy/granian.sh configures it (the combined format with granian's
  ``2026-12-04 13:45:41 +0000`` times and no byte count) and granian's default format, which
  names no User-Agent;
- any of these behind a syslog or journald prefix (``Dec 04 13:45:41 host gunicorn[12]: ``).

Client addresses never leave this module: each record carries a keyed hash of (address,
User-Agent) instead, with a key drawn at random for each run, so that neither the report nor
anything kept can be traced back to an address.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import secrets
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

CHUNK_BYTES = 1 << 20
# Far above any real request line or User-Agent (nginx refuses header lines over 8 KB by
# default); a longer line is hostile or broken, and is counted unreadable without parsing it.
MAX_LINE_BYTES = 32 * 1024
GZIP_MAGIC = b"\x1f\x8b"
STDIN = "-"  # the file name that reads standard input
# Only these answers count (issue 15); other lines are read but carry no client hash.
COUNTED_STATUSES = frozenset((200, 304))


class Hit(NamedTuple):
    """One request as a log line tells it. A NamedTuple, not a dataclass: a million of these
    are made per run, and a tuple is made several times faster."""

    day: date  # UTC
    method: str
    target: str  # the request target as logged: percent-encoded, query included
    status: int
    size: int | None  # body bytes sent; None where the format does not say (granian)
    agent: str  # the User-Agent; "" where the format names none
    client: bytes  # keyed hash of (address, User-Agent); b"" unless the status counts


@dataclass(frozen=True, slots=True)
class LogFile:
    """What one file held."""

    name: str
    lines: int
    unreadable: int
    first_unreadable: int | None  # the line number of the first unreadable line
    problem: str | None  # why the file could not be read, or not to its end


# Fields in the order (address, time, request, status, size, agent) for each format.
# Each format's pattern, and which of its groups are (address, time, request, status, size,
# User-Agent). Where a format lacks a field, an empty group stands in for it.
_Fields = tuple[str, str, str, str, str | None, str | None]
_Format = tuple[re.Pattern[str], Callable[[tuple[str | Any, ...]], _Fields]]
_FORMATS: tuple[_Format, ...] = (
    (  # deploy/nginx.conf's feedsvc_cache (nginx escapes quotes in variables as \x22)
        re.compile(r'(\S+) \[([^\]]+)\] "(.*?)" (\d{3}) (\d+) cache=[^"]*"(.*)"\s*\Z'),
        itemgetter(0, 1, 2, 3, 4, 5),
    ),
    (  # combined / common, gunicorn's default, granian as deploy/granian.sh sets it. The
        # request is matched lazily up to the status, and the User-Agent greedily to the last
        # quote: a quote inside either (gunicorn does not escape them) does not lose the line.
        re.compile(r'(\S+) \S+ \S+ \[([^\]]+)\] "(.*?)" (\d{3}) (\d+|-)(?: "(.*?)" "(.*)")?\s*\Z'),
        itemgetter(0, 1, 2, 3, 4, 6),
    ),
    (  # granian's default: '[%(time)s] %(addr)s - "%(method)s %(path)s %(protocol)s" ...'
        re.compile(r'\[([^\]]+)\] (\S+) - "(.*?)" (\d{3}) [\d.]+()()\s*\Z'),
        itemgetter(1, 0, 2, 3, 4, 5),
    ),
)
_SYSLOG_PREFIX = re.compile(
    r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) \S+ [^\s:\[]+(?:\[\d+\])?: "
)
_APACHE_TIME = re.compile(r"(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):\d\d ([+-])(\d\d)(\d\d)")
_ISO_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):\d\d(?:\.\d+)? ?([+-])(\d\d):?(\d\d)"
)
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def utc_day(stamp: str) -> date | None:
    """The UTC day of a log time stamp (``04/Dec/2026:13:45:41 +0100`` or granian's
    ``2026-12-04 13:45:41 +0100``); None if it is neither."""
    match = _APACHE_TIME.fullmatch(stamp)
    if match is not None:
        day, month_name, year, hour, minute, sign, off_h, off_m = match.groups()
        month = _MONTHS.get(month_name)
        if month is None:
            return None
    else:
        match = _ISO_TIME.fullmatch(stamp)
        if match is None:
            return None
        year, month_text, day, hour, minute, sign, off_h, off_m = match.groups()
        month = int(month_text)
    offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
    try:
        local = datetime(int(year), month, int(day), int(hour), int(minute))  # noqa: DTZ001
    except ValueError:
        return None
    # Local wall time minus the offset it states is UTC (RFC 3339 5.6).
    return (local - offset).date()


class LogReader:
    """Reads access logs into Hits; keeps what each file held in ``files``."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self.files: list[LogFile] = []
        self._days: dict[str, date | None] = {}

    def hits(self, paths: Iterable[Path]) -> Iterator[Hit]:
        """Every readable line of every file, file after file."""
        for path in paths:
            yield from self._file_hits(path)

    def _file_hits(self, path: Path) -> Iterator[Hit]:
        counts = _Counts()
        problem = None
        try:
            with _open(path) as stream:
                yield from self._parse(_lines(stream, counts), counts)
        except (OSError, EOFError, zlib.error) as error:
            # A missing file, or a gzip file cut short (rotation under way): what was read
            # so far counts; the reason is reported.
            problem = _describe(error)
        self.files.append(
            LogFile(str(path), counts.lines, counts.unreadable, counts.first_unreadable, problem)
        )

    def _parse(self, lines: Iterator[str | None], counts: _Counts) -> Iterator[Hit]:
        # The loop runs once a line: names are local, the usual format is tried first.
        formats = list(_FORMATS)
        days = self._days
        key = self._key
        blake2b = hashlib.blake2b
        counted = COUNTED_STATUSES
        for line in lines:
            if line is None:
                continue  # too long: counted by _lines
            match = formats[0][0].match(line)
            fields: _Fields | None
            if match is not None:
                fields = formats[0][1](match.groups())
            else:
                fields = _match(line, formats)
                if fields is None:
                    prefix = _SYSLOG_PREFIX.match(line)
                    if prefix is not None:
                        fields = _match(line[prefix.end() :], formats)
                if fields is None:
                    counts.bad()
                    continue
            address, stamp, request, status_text, size_text, agent = fields
            minute = stamp[:-9] + stamp[-6:]  # seconds left out: one day look-up a minute
            day = days.get(minute, _UNKNOWN)
            if day is _UNKNOWN:
                if len(days) > 100_000:
                    days.clear()
                day = days[minute] = utc_day(stamp)
            if day is None:
                counts.bad()
                continue
            method, _, target = request.partition(" ")
            if " " in target:
                target = target.rpartition(" ")[0]  # the protocol left out
            status = int(status_text)
            if not agent or agent == "-":
                agent = ""
            size = int(size_text) if size_text and size_text != "-" else None
            client = b""
            if status in counted:
                material = f"{address}\0{agent}".encode("utf-8", "surrogateescape")
                client = blake2b(material, key=key, digest_size=16).digest()
            yield Hit(day, method, target, status, size, agent, client)


_UNKNOWN = date.min  # a sentinel: no time stamp maps to it


def _match(line: str, formats: list[_Format]) -> _Fields | None:
    """A line's fields, by the first format that reads it. That format moves to the front: a
    file keeps to one format."""
    for position, (pattern, fields) in enumerate(formats):
        match = pattern.match(line)
        if match is not None:
            if position:
                formats.insert(0, formats.pop(position))
            return fields(match.groups())
    return None


@dataclass
class _Counts:
    lines: int = 0
    unreadable: int = 0
    first_unreadable: int | None = None

    def bad(self) -> None:
        """The line just counted is unreadable."""
        self.unreadable += 1
        if self.first_unreadable is None:
            self.first_unreadable = self.lines


def _open(path: Path) -> io.BufferedIOBase:
    if str(path) == STDIN:
        # Standard input, e.g. `journalctl -u feedsvc -o cat | feedsvc stats -`: left open.
        stdin = io.BufferedReader(io.FileIO(sys.stdin.fileno(), "rb", closefd=False))
        return gzip.GzipFile(fileobj=stdin) if stdin.peek(2)[:2] == GZIP_MAGIC else stdin
    with path.open("rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else path.open("rb")


def _lines(stream: io.BufferedIOBase, counts: _Counts) -> Iterator[str | None]:
    """The lines of ``stream`` as text (undecodable bytes kept as surrogates), numbered into
    ``counts``; None for a line longer than MAX_LINE_BYTES, which is never held whole."""
    carry = b""  # the start of a line that continues in the next block
    skipping = False  # inside an over-long line: drop bytes until its end
    read: Callable[[int], bytes] = stream.read1  # what is there: a cut gzip file keeps its start
    while chunk := read(CHUNK_BYTES):
        end = chunk.rfind(b"\n")
        if end < 0:  # no line ends in this block
            if not skipping:
                carry += chunk
                if len(carry) > MAX_LINE_BYTES:
                    counts.lines += 1
                    counts.bad()
                    yield None
                    carry, skipping = b"", True
            continue
        block = chunk[: end + 1]
        if skipping:  # the over-long line ends in this block
            block = block[block.find(b"\n") + 1 :]
            skipping = False
        else:
            block = carry + block
        for line in block.decode("utf-8", "surrogateescape").split("\n")[:-1]:
            counts.lines += 1
            if len(line) > MAX_LINE_BYTES:
                counts.bad()
                yield None
            else:
                yield line
        carry = chunk[end + 1 :]
        if len(carry) > MAX_LINE_BYTES:
            counts.lines += 1
            counts.bad()
            yield None
            carry, skipping = b"", True
    if carry and not skipping:  # a last line without its newline
        counts.lines += 1
        yield carry.decode("utf-8", "surrogateescape")


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, EOFError | zlib.error):
        return f"compressed data cut short or corrupt ({error})"
    return str(error)

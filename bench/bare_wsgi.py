"""The framework floor for bench/serve.py: a bare WSGI callable returning the same bytes as
feedsvc (``BENCH_BODY`` and its gzip file ``BENCH_BODY``.gz), with the same headers, and a 304
when If-None-Match names its ETag. Nothing else: no routing, no framework."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_body = Path(os.environ["BENCH_BODY"]).read_bytes()
_gzip_body = Path(os.environ["BENCH_BODY"] + ".gz").read_bytes()
_etag = os.environ["BENCH_ETAG"]
_common = [
    ("Vary", "Accept-Encoding"),
    ("Cache-Control", "public, max-age=300"),
    ("Access-Control-Allow-Origin", "*"),
    ("X-Content-Type-Options", "nosniff"),
]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    gzipped = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
    etag = f'"{_etag}-gzip"' if gzipped else f'"{_etag}"'
    if environ.get("HTTP_IF_NONE_MATCH") == etag:
        start_response("304 Not Modified", [("ETag", etag), *_common])
        return []
    body = _gzip_body if gzipped else _body
    headers = [("Content-Type", "application/rss+xml; charset=utf-8"),
               ("Content-Length", str(len(body))), ("ETag", etag), *_common]  # fmt: skip
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    start_response("200 OK", headers)
    return [body]

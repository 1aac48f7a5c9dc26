"""The fast path: GET and HEAD of an existing feed document, answered before Flask.

Aggregators poll the same few URLs all day, and almost every answer is a cached body or a 304.
Flask's request and response objects, routing and hooks cost several times what looking up the
bytes and comparing validators costs (bench/serve.py), so this WSGI middleware answers those
requests itself, with exactly the headers and semantics of the Flask route in web.py (the tests
compare the two on every kind of request). Everything else (other methods, other paths, names
that match no document) goes on to Flask untouched.

Conditional requests use Werkzeug's own ``is_resource_modified`` on the WSGI environ, so
If-None-Match, If-Modified-Since and their precedence are decided as in the Flask route.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from werkzeug.http import http_date, is_resource_modified, parse_accept_header

from .catalog import link_header
from .model import FeedKey, parse_feed_path
from .service import FeedService, RenderedDocument
from .validators import corrected

_K = TypeVar("_K")
_V = TypeVar("_V")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_FEEDS_PREFIX = "/feeds/"
# Bounds of the small lookup tables below; when one is full it starts afresh.
_TABLE_SIZE = 4096


@dataclass(slots=True)
class _Prepared:
    """The fixed headers of one representation of one document version, formatted once. Holds
    no body: an evicted document's bytes must not stay alive here."""

    version: tuple[str, datetime]  # the rendered document's ETag and Last-Modified
    etag: str  # quoted
    content_headers: list[tuple[str, str]]  # Content-Type, -Length, -Encoding, ETag, Last-Modified
    link: list[tuple[str, str]]  # the WebSub Link header, when the document names hubs
    # The full header lists of a 200 and of a 304 for one max-age and Date: made again once a
    # second at most. Replaced whole (one assignment), so threads never see a mix.
    answers: tuple[tuple[int, str], list[tuple[str, str]], list[tuple[str, str]]] | None = None

    def headers(self, max_age: int, date: str, vary: str) -> tuple[
        list[tuple[str, str]], list[tuple[str, str]]
    ]:  # fmt: skip
        """The headers of a 200 and of a 304, as lists of their own (a server may add to them)."""
        answers = self.answers
        if answers is None or answers[0] != (max_age, date):
            common = [
                ("ETag", self.etag),
                ("Vary", vary),
                ("Cache-Control", f"public, max-age={max_age}"),
                ("Access-Control-Allow-Origin", "*"),
                *self.link,
                ("Date", date),
                ("X-Content-Type-Options", "nosniff"),
            ]
            # RFC 9110 15.4.5: a 304 carries the validators and caching fields, no content ones.
            answers = ((max_age, date), self.content_headers + common[1:], common)
            self.answers = answers
        return list(answers[1]), list(answers[2])


class FastPath:
    """WSGI middleware serving cached feed documents; ``app`` handles everything else."""

    def __init__(self, app: WSGIApp, service: FeedService) -> None:
        self.app = app
        self.service = service
        self._keys: dict[str, FeedKey | None] = {}
        self._gzip_accepted: dict[str, bool] = {}
        self._prepared: dict[tuple[FeedKey, bool], _Prepared] = {}
        self._date_second = -1
        self._date = ""
        # With partner feeds on, a Bearer token can change the answer (web.py).
        self._partners = service.settings.partners_file is not None
        self._vary = "Accept-Encoding, Authorization" if self._partners else "Accept-Encoding"

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if (method != "GET" and method != "HEAD") or not path.startswith(_FEEDS_PREFIX):
            return self.app(environ, start_response)
        if "HTTP_IF_MATCH" in environ:  # rare on feeds: the Flask route decides, 412 or not
            return self.app(environ, start_response)
        if self._partners and "HTTP_AUTHORIZATION" in environ:
            return self.app(environ, start_response)  # perhaps a partner: the route decides
        key = self._key(path)
        rendered = None if key is None else self.service.feed(key)
        if key is None or rendered is None:
            return self.app(environ, start_response)  # Flask answers the 404
        gzipped = self._accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        prepared = self._prepared.get((key, gzipped))
        if prepared is None or prepared.version != (rendered.etag, rendered.last_modified):
            prepared = _prepare(rendered, gzipped, link_header(self.service.settings.site, key))
            _remember(self._prepared, (key, gzipped), prepared)
        if "HTTP_IF_MODIFIED_SINCE" in environ:  # (the clock is read only when needed)
            environ = corrected(environ, self.service.now())
        modified = self._modified(environ, prepared, rendered.last_modified)
        ok, not_modified = prepared.headers(self.service.max_age(key), self._now(), self._vary)
        if not modified:
            start_response("304 NOT MODIFIED", not_modified)
            return []
        start_response("200 OK", ok)
        if method == "HEAD":
            return []
        return [rendered.gzip_body if gzipped else rendered.body]

    def _key(self, path: str) -> FeedKey | None:
        try:
            return self._keys[path]
        except KeyError:
            key = parse_feed_path(_decode_path(path[len(_FEEDS_PREFIX) :]))
            _remember(self._keys, path, key)
            return key

    @staticmethod
    def _modified(environ: dict[str, Any], prepared: _Prepared, last_modified: datetime) -> bool:
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match == prepared.etag:
            return False  # the usual revalidation, decided without parsing
        if if_none_match is None and "HTTP_IF_MODIFIED_SINCE" not in environ:
            return True
        etag = prepared.etag[1:-1]
        return is_resource_modified(environ, etag=etag, last_modified=last_modified)

    def _accepts_gzip(self, header: str) -> bool:
        # Few distinct Accept-Encoding values exist; parse each once.
        accepted = self._gzip_accepted.get(header)
        if accepted is None:
            accepted = parse_accept_header(header)["gzip"] > 0
            _remember(self._gzip_accepted, header, accepted)
        return accepted

    def _now(self) -> str:
        second = int(time.time())
        if second != self._date_second:
            self._date, self._date_second = http_date(second), second
        return self._date


def _prepare(rendered: RenderedDocument, gzipped: bool, link: str | None) -> _Prepared:
    body = rendered.gzip_body if gzipped else rendered.body
    etag = f'"{rendered.gzip_etag if gzipped else rendered.etag}"'
    headers = [("Content-Type", rendered.content_type), ("Content-Length", str(len(body)))]
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("ETag", etag))
    headers.append(("Last-Modified", http_date(rendered.last_modified)))
    links = [("Link", link)] if link is not None else []
    return _Prepared((rendered.etag, rendered.last_modified), etag, headers, links)


def _remember(table: dict[_K, _V], key: _K, value: _V) -> None:
    if len(table) >= _TABLE_SIZE:
        table.clear()  # odd paths or headers by the thousand: start again rather than grow
    table[key] = value


def _decode_path(path: str) -> str:
    """PEP 3333 hands the path over as latin-1; it is UTF-8, as Werkzeug decodes it."""
    if path.isascii():
        return path
    return path.encode("latin-1").decode("utf-8", "replace")

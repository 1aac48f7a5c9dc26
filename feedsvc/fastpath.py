"""The fast path: GET and HEAD of an existing feed document, answered before Flask.

Aggregators poll the same few URLs all day, and almost every answer is a cached body or a 304.
Flask's request and response objects, routing and hooks cost several times what looking up the
bytes and comparing validators costs (bench/serve.py), so this WSGI middleware answers those
requests itself, with the semantics of the Flask route in web.py and the headers both build
with headers.document_headers (the tests compare the two on every kind of request). Everything
else (other methods, other paths, names that match no document) goes on to Flask untouched.

Conditional requests use Werkzeug's own ``is_resource_modified`` on the WSGI environ, so
If-None-Match, If-Modified-Since and their precedence are decided as in the Flask route.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.http import is_resource_modified, parse_accept_header

from .catalog import link_header
from .headers import VARY, VARY_AUTHORIZATION, DocumentHeaders, corrected, document_headers
from .model import FeedKey, parse_feed_path
from .service import FeedService

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_FEEDS_PREFIX = "/feeds/"
# Paths parsed and headers prepared, kept for this many at most.
_TABLE_SIZE = 4096


@dataclass(slots=True)
class _Prepared:
    """The headers of one representation of one document version (headers.document_headers),
    kept for the second they name. Holds no body: an evicted document's bytes must not stay
    alive here."""

    version: tuple[str, datetime]  # the rendered document's ETag and Last-Modified
    link: str | None  # the WebSub Link header, when the document names hubs
    # The full header lists of a 200 and of a 304 for one max-age and second (the Date): made
    # again once a second at most. Replaced whole (one assignment), so threads never see a mix.
    answers: tuple[tuple[int, int], DocumentHeaders] | None = None


class FastPath:
    """WSGI middleware serving cached feed documents; ``app`` handles everything else."""

    def __init__(self, app: WSGIApp, service: FeedService) -> None:
        self.app = app
        self.service = service
        self._prepared: dict[tuple[FeedKey, bool], _Prepared] = {}
        # With partner feeds on, a Bearer token can change the answer (web.py).
        self._partners = service.settings.partners_file is not None
        self._vary = VARY_AUTHORIZATION if self._partners else VARY

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if (method != "GET" and method != "HEAD") or not path.startswith(_FEEDS_PREFIX):
            return self.app(environ, start_response)
        if "HTTP_IF_MATCH" in environ:  # rare on feeds: the Flask route decides, 412 or not
            return self.app(environ, start_response)
        if self._partners and "HTTP_AUTHORIZATION" in environ:
            return self.app(environ, start_response)  # perhaps a partner: the route decides
        key = _feed_key(path)
        rendered = None if key is None else self.service.feed(key)
        if key is None or rendered is None:
            return self.app(environ, start_response)  # Flask answers the 404
        gzipped = _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        prepared = self._prepared.get((key, gzipped))
        if prepared is None or prepared.version != (rendered.etag, rendered.last_modified):
            link = link_header(self.service.settings.site, key)
            prepared = _Prepared((rendered.etag, rendered.last_modified), link)
            if len(self._prepared) >= _TABLE_SIZE:
                self._prepared.clear()  # more documents polled than that: start again
            self._prepared[key, gzipped] = prepared
        max_age, second = self.service.max_age(key), int(time.time())
        answers = prepared.answers
        if answers is None or answers[0] != (max_age, second):
            headers = document_headers(
                rendered,
                gzipped=gzipped,
                max_age=max_age,
                private=False,
                cross_origin=True,
                vary=self._vary,
                link=prepared.link,
                date=datetime.fromtimestamp(second, UTC),
            )
            answers = prepared.answers = ((max_age, second), headers)
        headers = answers[1]
        if "HTTP_IF_MODIFIED_SINCE" in environ:  # (the clock is read only when needed)
            environ = corrected(environ, self.service.now())
        # The lists are the server's own to add to: copies of the shared tuples.
        if not self._modified(environ, headers.etag, rendered.last_modified):
            start_response("304 NOT MODIFIED", list(headers.not_modified))
            return []
        start_response("200 OK", list(headers.ok))
        if method == "HEAD":
            return []
        return [rendered.gzip_body if gzipped else rendered.body]

    @staticmethod
    def _modified(environ: dict[str, Any], etag: str, last_modified: datetime) -> bool:
        """``etag`` quoted, as sent."""
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match == etag:
            return False  # the usual revalidation, decided without parsing
        if if_none_match is None and "HTTP_IF_MODIFIED_SINCE" not in environ:
            return True
        return is_resource_modified(environ, etag=etag[1:-1], last_modified=last_modified)


@functools.lru_cache(maxsize=_TABLE_SIZE)
def _feed_key(path: str) -> FeedKey | None:
    """The document a /feeds/ path names, parsed once per distinct path. (PEP 3333 hands the
    path over as latin-1; it is UTF-8, as Werkzeug decodes it.)"""
    name = path[len(_FEEDS_PREFIX) :].encode("latin-1").decode("utf-8", "replace")
    return parse_feed_path(name)


@functools.lru_cache(maxsize=256)
def _accepts_gzip(header: str) -> bool:
    # Few distinct Accept-Encoding values exist: each is parsed once.
    return parse_accept_header(header)["gzip"] > 0

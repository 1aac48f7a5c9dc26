"""What the Flask routes (web.py) and the fast path (fastpath.py) share, so that both answer
alike: a served document's response headers, and the request validators corrected. Pure: the
request's choices, the date and now are passed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from werkzeug.http import http_date, parse_date

from .service import RenderedDocument

Header = tuple[str, str]
# The Vary values: the answer depends on the encoding asked for (gzip or identity) always, and
# on the Authorization field where a Bearer token can change it (partner feeds on).
VARY = ("Accept-Encoding",)
VARY_AUTHORIZATION = ("Accept-Encoding", "Authorization")


@dataclass(frozen=True, slots=True)
class DocumentHeaders:
    """The header lists of one representation of a document: its 200 and its 304."""

    etag: str  # quoted, as sent: the strong ETag of this representation
    ok: tuple[Header, ...]
    not_modified: tuple[Header, ...]


def document_headers(
    rendered: RenderedDocument,
    *,
    gzipped: bool,
    max_age: int,
    private: bool,
    cross_origin: bool,
    vary: Sequence[str],
    link: str | None,
    date: datetime,
) -> DocumentHeaders:
    """The headers of the gzip (``gzipped``) or identity representation of ``rendered``.

    ``private``: only the client may keep it (partner documents), else any cache may;
    ``cross_origin``: readable by pages of any origin; ``vary``: the request headers the
    answer depends on; ``link``: the WebSub Link value, if any; ``date``: the Date field.
    The 304 carries the validator and the caching fields, no content fields; the order of
    the fields is the one Werkzeug gives the Flask route, so both paths send the same bytes.
    """
    body = rendered.gzip_body if gzipped else rendered.body
    # Each representation has its own strong ETag, so a 304 answers the one the client holds.
    etag = f'"{rendered.gzip_etag if gzipped else rendered.etag}"'
    content: list[Header] = [
        ("Content-Type", rendered.content_type),
        ("Content-Length", str(len(body))),
    ]
    if gzipped:
        content.append(("Content-Encoding", "gzip"))
    caching: list[Header] = [
        ("Vary", ", ".join(vary)),
        ("Cache-Control", f"{'private' if private else 'public'}, max-age={max_age}"),
    ]
    if cross_origin:
        # Web-based feed readers fetch public feeds cross-origin.
        caching.append(("Access-Control-Allow-Origin", "*"))
    if link is not None:
        # WebSub 4: subscribers discover the hubs and the topic URL from the headers too.
        caching.append(("Link", link))
    caching.append(("Date", http_date(date)))
    caching.append(("X-Content-Type-Options", "nosniff"))
    last_modified = ("Last-Modified", http_date(rendered.last_modified))
    ok = (*content, ("ETag", etag), last_modified, *caching)
    # RFC 9110 15.4.5: a 304 carries the fields a 200 would have that describe caching and the
    # validator (ETag, Cache-Control, Vary, Date), not the content ones.
    not_modified = (("ETag", etag), *caching)
    return DocumentHeaders(etag, ok, not_modified)


def corrected(environ: dict[str, Any], now: datetime) -> dict[str, Any]:
    """``environ`` without the validators a server must ignore; the same object when none.

    - ``If-Match: *`` matches any current representation (RFC 9110 13.1.1); Werkzeug's
      make_conditional answers it with 412.
    - An ``If-Modified-Since`` later than now is ignored: a client whose clock runs far ahead
      would otherwise get 304 for every later version (RFC 2616 14.25).
    """
    drop = []
    if environ.get("HTTP_IF_MATCH", "").strip() == "*":
        drop.append("HTTP_IF_MATCH")
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since is not None:
        moment = parse_date(since)
        if moment is not None and moment > now:
            drop.append("HTTP_IF_MODIFIED_SINCE")
    if not drop:
        return environ
    return {name: value for name, value in environ.items() if name not in drop}

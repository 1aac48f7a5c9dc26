"""Which document a logged request target names, by feedsvc's own URL rules (model.py):
``parse_feed_path`` for /feeds/..., ``wordpress_feed_key`` for the WordPress-style addresses
web.py redirects, the OPML list and the home page. Query strings are ignored, as feedsvc
ignores them on feeds (only ``/?feed=`` names a feed).

A partner path ``/partners/<token>/feeds/...`` is reported under the partner's name: the
token is hashed (SHA-256, as the partners file keeps it) and looked up, and never kept.
Servers set up as in deploy/ log such paths with ``[redacted]`` for the token; those
requests count under the name REDACTED_PARTNER, a token no partner has (revoked since) under
UNKNOWN_PARTNER. Neither can collide with a partner's name (model.PARTNER_NAME_PATTERN).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from ..model import FeedKey, parse_feed_path, wordpress_feed_key
from ..partners import PARTNERS_PREFIX, hash_token
from ..redact import REDACTED

DocumentKind = Literal["feed", "archive", "opml", "home"]
REDACTED_PARTNER = REDACTED  # "[redacted]"
UNKNOWN_PARTNER = "[unknown]"
FEEDS_PREFIX = "/feeds/"
_NGINX_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")


class Document(NamedTuple):
    kind: DocumentKind
    path: str  # canonical: /feeds/all.rss, /partners/<name>/feeds/all.rss, /feeds.opml, /
    partner: str | None  # the partner's name for a partner document


def attribute(target: str, partners: Mapping[str, str]) -> Document | None:
    """The document a request target names (a path or an absolute URL, percent-encoded, as
    logged); None for any other address. ``partners`` maps token SHA-256 to partner name."""
    if not target.startswith("/"):
        if not target.startswith(("http://", "https://")):
            return None
        parts = urlsplit(target)  # absolute-form (RFC 9112 3.2.2)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if "\\x" in target:
        # nginx logs a byte outside printable ASCII as \xHH: the byte the client sent.
        target = _NGINX_ESCAPE.sub(r"%\1", target)
    raw_path, _, query = target.partition("?")
    path = unquote(raw_path, errors="replace")
    if path.startswith(FEEDS_PREFIX):
        return _feed_document(parse_feed_path(path[len(FEEDS_PREFIX) :]), None)
    if path.startswith(PARTNERS_PREFIX):
        token, slash, rest = path[len(PARTNERS_PREFIX) :].partition("/")
        if not slash or not rest.startswith("feeds/"):
            return None
        if token == REDACTED:
            name = REDACTED_PARTNER
        else:
            name = partners.get(hash_token(token), UNKNOWN_PARTNER)
        return _feed_document(parse_feed_path(rest[len("feeds/") :]), name)
    if path == "/feeds.opml":
        return Document("opml", path, None)
    feed_query = parse_qs(query).get("feed", [None])[-1] if path == "/" and query else None
    alias = wordpress_feed_key(path, feed_query)
    if alias is not None:
        return _feed_document(alias, None)
    if path in ("/", "/index.html"):
        return Document("home", "/", None)
    return None


def _feed_document(key: FeedKey | None, partner: str | None) -> Document | None:
    if key is None:
        return None
    prefix = FEEDS_PREFIX if partner is None else f"{PARTNERS_PREFIX}{partner}{FEEDS_PREFIX}"
    return Document("feed" if key.archive is None else "archive", prefix + key.path, partner)

"""Request validators that Werkzeug decides wrongly for feeds, corrected once for the Flask
routes (web.py) and the fast path (fastpath.py) alike. Pure: ``now`` is passed in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from werkzeug.http import parse_date


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

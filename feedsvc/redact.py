"""Partner tokens never reach a log: a logging filter that blanks them out of every record of
the servers' access and error logs (Werkzeug's development server, gunicorn, granian) and of
feedsvc's own, whatever format the server writes."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
# A token in a partner path, and a Bearer credential in a logged header.
_PARTNER_PATH = re.compile(r"(/partners/)[^/\s?#\"']+")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")

# The loggers that carry request lines or headers: the servers' access and error logs, and
# the app's own ("feedsvc" is also Flask's app logger, which logs the path of a failed request).
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "granian.access", "feedsvc")


def redact(text: str) -> str:
    """``text`` with every partner token replaced by [redacted]."""
    if "/partners/" not in text and "earer" not in text:
        return text  # the usual line: nothing to do
    text = _PARTNER_PATH.sub(rf"\g<1>{REDACTED}", text)
    return _BEARER.sub(rf"\g<1>{REDACTED}", text)


class TokenRedactor(logging.Filter):
    """Rewrites a record's message without its tokens; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the handler reports it, as without this filter
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install(names: Iterable[str] = REQUEST_LOGGERS) -> None:
    """Put one TokenRedactor on each named logger (once: calling again adds none). Filters
    on a logger see the records logged to it directly, which is where servers log requests."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactor) for f in logger.filters):
            logger.addFilter(TokenRedactor())

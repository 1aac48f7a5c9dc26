"""Partner feeds: tokens, the partners file as the service sees it, and a partner's view.

A partner holds a random token (``secrets.token_urlsafe(32)``: 256 bits) and presents it in
the path (``/partners/<token>/feeds/...``) or as ``Authorization: Bearer <token>``. The
partners file keeps only the token's SHA-256. A plain hash is enough because the token is
high-entropy: nobody can search 2**256 tokens for one whose hash matches, so neither a salt
nor a slow password hash (which would cost CPU on every request) adds anything, and a keyed
hash would need a secret key kept somewhere else for no gain.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from .errors import ConfigError
from .model import Partner, Site
from .settings import format_partners_file, read_partners_file
from .timeline import Timeline

log = logging.getLogger(__name__)

TOKEN_BYTES = 32
PARTNERS_PREFIX = "/partners/"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 (hex) kept for a token. Any text hashes (a path may hold anything)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def find_partner(partners: Iterable[Partner], token: str) -> Partner | None:
    """The partner whose token this is, or None. Every partner's hash is compared, in
    constant time, whatever matched before: the answer's timing tells nothing about which
    partner, or how much of a hash, matched."""
    digest = hash_token(token)
    found = None
    for partner in partners:
        if hmac.compare_digest(digest, partner.token_sha256):
            found = partner
    return found


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (RFC 6750 2.1); None for any
    other header or scheme."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def partner_timeline(timeline: Timeline, partner: Partner) -> Timeline:
    """The published articles a partner may read. ``timeline`` is already the visible one:
    drafts and articles not yet due never reach a partner either."""
    return replace(timeline, articles=tuple(a for a in timeline.articles if partner.admits(a)))


def partner_site(site: Site, partner: Partner, url_token: str | None) -> Site:
    """The site as a partner reads it: full text as agreed, its own Atom ids (from its name,
    never its token: content differs from the public feed's), and feed links (self, archives)
    under its own URL when it reads by URL, under /feeds/ when it sends a Bearer token."""
    feeds_path = site.feeds_path if url_token is None else f"/partners/{url_token}/feeds"
    return replace(
        site,
        full_content=partner.full_text,
        feeds_path=feeds_path,
        feed_id_path=f"/partners/{partner.name}/feeds",
        # No WebSub: partner documents are never announced, and a subscriber would hand the
        # hub a topic URL holding the token.
        hub_urls=(),
    )


class PartnerRegistry:
    """The partners of the partners file, reloaded when the file changes: its stamp is looked
    at no more often than once per ``check_interval`` seconds, not on every request."""

    def __init__(self, path: Path, check_interval: float) -> None:
        self.path = path
        self._interval = check_interval
        self._lock = threading.Lock()
        self._stamp = _stamp(path)
        self._partners = read_partners_file(path)  # ConfigError at start-up: refuse to start
        self._checked = time.monotonic()
        self._bad_stamp: tuple[int, int, int] | None = None

    def find(self, token: str) -> Partner | None:
        return find_partner(self.partners(), token)

    def partners(self) -> tuple[Partner, ...]:
        if time.monotonic() - self._checked >= self._interval and self._lock.acquire(False):
            try:
                self._reload_if_changed()
            finally:
                self._lock.release()
        return self._partners

    def _reload_if_changed(self) -> None:
        self._checked = time.monotonic()
        stamp = _stamp(self.path)
        if stamp == self._stamp or stamp == self._bad_stamp:
            return
        try:
            partners = read_partners_file(self.path)
        except ConfigError as error:
            # Keep serving the partners last read; say so once per bad version of the file.
            log.error("partners file not reloaded, the previous partners stay: %s", error)
            self._bad_stamp = stamp
            return
        self._partners, self._stamp, self._bad_stamp = partners, stamp, None
        log.info("%s: %d partners", self.path, len(partners))


def _stamp(path: Path) -> tuple[int, int, int]:
    """What changes when the file is replaced or edited; zeros when it is missing."""
    try:
        status = path.stat()
    except OSError:
        return (0, 0, 0)
    return (status.st_ino, status.st_mtime_ns, status.st_size)


@contextlib.contextmanager
def editing(path: Path) -> Iterator[dict[str, Partner]]:
    """The partners of ``path`` by name, to change in place; written back atomically (a
    temporary file renamed over it) when the block ends without error. Two editors take
    turns (a lock file beside it), so neither loses the other's change."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        partners = {p.name: p for p in read_partners_file(path)}
        yield partners
        _write_atomically(path, format_partners_file(partners.values()))


def _write_atomically(path: Path, text: str) -> None:
    # mkstemp creates the file readable by its owner only: the hashes are nobody else's
    # business. A file that exists keeps its mode (the service's user must still read it).
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.fchmod(descriptor, path.stat().st_mode & 0o777)
        with os.fdopen(descriptor, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise

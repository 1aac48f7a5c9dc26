"""Static export: every document the service serves, written as files a static server or CDN
can host with no Python running (``feedsvc build OUT``).

The bytes come from a FeedService, the same object that answers HTTP, so an exported file is
the body the service would send, and its ``.gz`` sibling the service's gzip body. Each file's
mtime is the document's Last-Modified, so a static server sends the same date. The clock is
read once, to decide what is published; a build never changes a document's bytes by itself.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from .catalog import Catalog, document_keys, feed_url
from .errors import ExportError
from .model import (
    SITE_SCOPE,
    WORDPRESS_QUERY_FEEDS,
    FeedKey,
    wordpress_paths,
)
from .opml import CONTENT_TYPE as OPML_CONTENT_TYPE
from .render import CONTENT_TYPES
from .service import INDEX_CONTENT_TYPE, INDEX_NAME, OPML_NAME, FeedService, RenderedDocument
from .settings import Settings
from .state import State

# The nginx snippet, written beside the documents; the snippet itself answers 404 for it.
SNIPPET_NAME = "feedsvc-nginx.conf"
GZIP_SUFFIX = ".gz"
# Characters that would end or change an nginx configuration token if a URL held them.
_NGINX_UNSAFE = set("\"\\$;{}'") | {" ", "\t", "\n", "\r"}


@dataclass(frozen=True, slots=True)
class ExportedDocument:
    path: str  # below the export folder, with forward slashes, not percent-encoded
    rendered: RenderedDocument


def exported_documents(service: FeedService) -> Iterator[ExportedDocument]:
    """Every document the service serves now: the home page, the OPML list, and every feed
    and archive document of every scope in every format."""
    yield ExportedDocument(INDEX_NAME, service.index())
    yield ExportedDocument(OPML_NAME, service.opml())
    for key in document_keys(service.catalog()):
        rendered = service.feed(key)
        if rendered is not None:  # cannot happen within one view: the keys come from it
            yield ExportedDocument(f"feeds/{key.path}", rendered)


def build(
    settings: Settings,
    out: Path,
    *,
    now: datetime,
    state_dir: Path | None = None,
    precompress: bool = True,
) -> int:
    """Write the export to ``out`` (created, or replaced if it holds an earlier export) and
    return how many documents it holds. ``now`` decides what is published. Last-Modified
    comes from the ledger in ``state_dir`` (kept across builds, it moves forward when bytes
    change, as the service's does); without one, a document's date is its newest item's."""
    out = out.absolute()
    _check_target(out)
    # One moment and one store scan for the whole build: every document from one view.
    frozen = replace(settings, rescan_interval=math.inf)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    scratch = tempfile.TemporaryDirectory(prefix="feedsvc-build-")
    try:
        state = State(state_dir if state_dir is not None else Path(scratch.name))
        service = FeedService(frozen, clock=lambda: now, state=state)
        count = 0
        for document in exported_documents(service):
            _write(staging, document, precompress=precompress)
            count += 1
        snippet = staging / SNIPPET_NAME
        snippet.write_text(nginx_snippet(settings, service.catalog()), "utf-8")
        stamp = service.catalog().updated.timestamp()
        os.utime(snippet, (stamp, stamp))
        # mkdtemp makes the folder private; a static server must be able to read it.
        staging.chmod(0o755)
        _replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        scratch.cleanup()
    return count


def _write(root: Path, document: ExportedDocument, *, precompress: bool) -> None:
    path = root / document.path
    # Slugs hold letters, digits and hyphens only, but a path must never leave the export.
    if not path.resolve().is_relative_to(root.resolve()) or ".." in document.path.split("/"):
        raise ExportError(f"refusing to write {document.path!r} outside the export folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = document.rendered.last_modified.timestamp()
    path.write_bytes(document.rendered.body)
    os.utime(path, (stamp, stamp))
    if precompress:
        zipped = path.with_name(path.name + GZIP_SUFFIX)
        zipped.write_bytes(document.rendered.gzip_body)
        os.utime(zipped, (stamp, stamp))


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / SNIPPET_NAME).is_file():
        raise ExportError(
            f"{out} is not empty and holds no earlier export ({SNIPPET_NAME}): "
            "choose an empty or new folder"
        )


def _replace(staging: Path, out: Path) -> None:
    """Put the new tree in place of the old one, so that files of feeds that no longer exist
    go away; the old tree is removed only once the new one is in place."""
    if not out.exists():
        os.rename(staging, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
    os.rename(out, old / out.name)
    os.rename(staging, out)
    shutil.rmtree(old)


def nginx_snippet(settings: Settings, catalog: Catalog) -> str:
    """nginx directives for the ``server`` block whose ``root`` is the export folder: the
    content types (and charset) feedsvc sends, the precompressed files, the headers of the
    service, and the WordPress-style redirects (web.py) of the scopes that exist."""
    site = settings.site
    # Each extension written, and the content type feedsvc sends with it.
    sent = [*CONTENT_TYPES.items(), ("opml", OPML_CONTENT_TYPE), ("html", INDEX_CONTENT_TYPE)]
    types = {content_type.split(";")[0]: extension for extension, content_type in sent}
    with_charset = [
        content_type.split(";")[0]
        for _, content_type in sent
        # text/html is always in charset_types
        if "charset=utf-8" in content_type and not content_type.startswith("text/html")
    ]
    max_age = settings.max_age
    lines = [
        "# Generated by `feedsvc build`: serves this folder with the bytes, content types and",
        "# caching headers feedsvc sends. Include it in the server block whose root is this",
        "# folder:  root /srv/feeds;  include /srv/feeds/feedsvc-nginx.conf;",
        "types {",
        *(f"    {media} {extension};" for media, extension in types.items()),
        "}",
        "default_type application/octet-stream;",
        "charset utf-8;",
        "# JSON Feed takes no charset parameter (RFC 8259), as feedsvc sends it.",
        f"charset_types {' '.join(with_charset)};",
        "index index.html;",
        "# The .gz files are feedsvc's own gzip bytes: send them, never compress again.",
        "gzip off;",
        "gzip_static on;",
        "gzip_vary on;",
        "",
        f"location = /{SNIPPET_NAME} {{",
        "    return 404;",
        "}",
        "location /feeds/ {",
        *_headers(max_age, cross_origin=True),
        "}",
        "location = /feeds.opml {",
        *_headers(max_age, cross_origin=True),
        "}",
        "location = /index.html {",
        *_headers(max_age, cross_origin=False),
        "}",
        "# WordPress /?feed= subscriptions.",
        "location = / {",
    ]
    for value, fmt in WORDPRESS_QUERY_FEEDS.items():
        target = _nginx_url(feed_url(site, FeedKey(SITE_SCOPE, fmt)))
        lines.append(f'    if ($arg_feed = "{value}") {{ return 301 "{target}"; }}')
    lines.append("}")
    lines.append("# WordPress-style feed addresses of the feeds that exist.")
    for entry in catalog.entries():
        for path, fmt in wordpress_paths(entry.scope):
            target = _nginx_url(feed_url(site, FeedKey(entry.scope, fmt)))
            for variant in (path, path.rstrip("/")):  # feedsvc takes both spellings
                lines.append(f'location = "{variant}" {{ return 301 "{target}"; }}')
    return "\n".join(lines) + "\n"


def _headers(max_age: int, *, cross_origin: bool) -> list[str]:
    lines = [
        f'    add_header Cache-Control "public, max-age={max_age}";',
        "    add_header X-Content-Type-Options nosniff;",
    ]
    if cross_origin:
        lines.append('    add_header Access-Control-Allow-Origin "*";')
    return lines


def _nginx_url(url: str) -> str:
    if _NGINX_UNSAFE & set(url):
        raise ExportError(
            f"{url!r} holds a character nginx reads as syntax ($, quotes, braces, ';' or "
            "white space): percent-encode it in base_url"
        )
    return url

"""Pure: one WordPress post (an ``Item`` of the export) to one article file of the store.

The rules are issue 14's: which items and statuses are imported, the GUID kept verbatim, a
stable id, dates in the site zone, the slug, the permalink kept where it differs from the
store's derived link, the primary category, tags, author, summary, featured image, content.
"""

from __future__ import annotations

import json
import mimetypes
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from ..model import SLUG_PATTERN, article_slug_problem, slug_path
from ..sanitize import html_to_text
from ..store.parse import slugify
from .content import markdown_body, post_html
from .filters import capital_p_dangit_title
from .texturize import texturize
from .wxr import Item

IMPORTED_TYPE = "post"
DRAFT_STATUSES = frozenset({"draft", "pending", "private"})  # never served: draft: true
SERVED_STATUSES = frozenset({"publish", "future"})  # a future post appears when due
_ZERO_DATE = "0000-00-00 00:00:00"
_WP_DATE = "%Y-%m-%d %H:%M:%S"
# The longest file name most file systems take is 255 bytes; ".md" and a "-<post id>" suffix
# must still fit.
_MAX_NAME_BYTES = 200


@dataclass(frozen=True, slots=True)
class Attachment:
    """What a featured image needs of an attachment item."""

    url: str
    alt: str


@dataclass(frozen=True, slots=True)
class ExportIndex:
    """The small records the mapping looks up, collected in a first pass over the export."""

    authors: Mapping[str, str]  # login -> display name
    categories: Mapping[str, str]  # term id -> category nicename
    attachments: Mapping[str, Attachment]  # post id -> attachment


@dataclass(frozen=True, slots=True)
class Skipped:
    """An item that is not imported, and why (a short reason the report counts by)."""

    reason: str


@dataclass(frozen=True, slots=True)
class MappedPost:
    """An article file's text (without the importer's marker line) and what it needs."""

    post_id: str
    article_id: str
    folder: str  # "<yyyy>/<mm>", the month of publication in the site zone
    name: str  # the file name's stem: the slug, percent-decoded
    text: str
    category: tuple[str, str]  # (slug, WordPress's name), for site.toml
    guid: str
    link: str  # the link the article will have (given or derived)
    removed_shortcodes: tuple[str, ...]


def map_post(
    item: Item, index: ExportIndex, *, base_url: str, zone: ZoneInfo, id_prefix: str
) -> MappedPost | Skipped:
    """The article file for a post item, or why it is skipped."""
    if item.post_type != IMPORTED_TYPE:
        return Skipped(f"type {item.post_type or '(none)'}")
    if item.status == "trash":
        return Skipped("status trash")
    if item.status not in DRAFT_STATUSES | SERVED_STATUSES:
        return Skipped(f"status {item.status or '(none)'}")
    # As WordPress's feed shows it: the_title's wptexturize and capital_P_dangit, no tags,
    # no entities.
    title = html_to_text(capital_p_dangit_title(texturize(item.title)))
    if not title:
        return Skipped("no title")
    if not item.post_id.isdigit():
        return Skipped("no post id")
    published = _utc(item.post_date_gmt, zone) or _local(item.post_date, zone)
    if published is None:
        return Skipped("no date")
    updated = _utc(item.modified_gmt, zone) or _local(item.modified, zone) or published
    updated = max(updated, published)  # never before published (the store's rule)

    name = _file_name(unquote(item.post_name)) or slugify(title) or f"post-{item.post_id}"
    slug = _slug(name) or f"post-{item.post_id}"
    folder = f"{published.year:04}/{published.month:02}"
    link = f"{base_url}/{folder}/{slug_path(slug)}/"
    given_link = ""
    served = item.status in SERVED_STATUSES and not item.has_password
    if served and _http_url(item.link) and item.link != link:
        given_link = link = item.link

    category, tags = _categories(item, index)
    html = post_html(item.content)
    lines = [
        f"id: {id_prefix}{item.post_id}",
        f"title: {_quoted(title)}",
        f"published: {published.isoformat(' ')}",
    ]
    if updated != published:
        lines.append(f"updated: {updated.isoformat(' ')}")
    lines.append(f"category: {category[0]}")
    if tags:
        lines.append(f"tags: [{', '.join(_quoted(tag) for tag in tags)}]")
    author = index.authors.get(item.creator, item.creator)
    if author.strip():
        lines.append(f"author: {_quoted(author)}")
    if slug != slugify(name):  # the store's default: the file name, folded to ASCII
        lines.append(f"slug: {_quoted(slug)}")
    summary = markdown_body(item.excerpt.strip())
    if summary:
        lines.append(f"summary: {_quoted(summary)}")
    image = index.attachments.get(item.meta_value("_thumbnail_id"))
    if image is not None and _http_url(image.url):
        lines.append(f"image: {_image(image)}")
    if item.status in DRAFT_STATUSES:
        lines.append(f"draft: true  # WordPress status: {item.status}")
    elif item.has_password:  # feeds have no password: never served, like a private post
        lines.append("draft: true  # protected by a password in WordPress")
    if item.guid:
        lines.append(f"guid: {_quoted(item.guid)}")
    if given_link:
        lines.append(f"link: {_quoted(given_link)}")
    front = "\n".join(lines)
    return MappedPost(
        post_id=item.post_id,
        article_id=f"{id_prefix}{item.post_id}",
        folder=folder,
        name=name,
        text=f"---\n{front}\n---\n{markdown_body(html.html)}",
        category=category,
        guid=item.guid,
        link=link,
        removed_shortcodes=html.removed_shortcodes,
    )


def _utc(text: str, zone: ZoneInfo) -> datetime | None:
    if not text or text == _ZERO_DATE:
        return None
    try:
        return datetime.strptime(text, _WP_DATE).replace(tzinfo=UTC).astimezone(zone)
    except ValueError:
        return None


def _local(text: str, zone: ZoneInfo) -> datetime | None:
    if not text or text == _ZERO_DATE:
        return None
    try:
        return datetime.strptime(text, _WP_DATE).replace(tzinfo=zone)
    except ValueError:
        return None


def _slug(name: str) -> str:
    """The article slug for a decoded post name: the name itself in lower case (any script,
    as WordPress keeps it), else folded to ASCII."""
    lower = unicodedata.normalize("NFC", name.lower())  # as the store reads a slug
    return slugify(name) if article_slug_problem(lower) else lower


def _file_name(name: str) -> str:
    """A decoded slug as a file name's stem: no folder separators or control characters,
    not hidden, and short enough for any file system."""
    cleaned = "".join(c for c in name if c.isprintable() and c not in "/\\").strip(". ")
    while len(cleaned.encode()) > _MAX_NAME_BYTES:
        cleaned = cleaned[:-1]
    return cleaned


def category_slug(nicename: str, name: str) -> str:
    """The store's slug for a WordPress category: its nicename when that is one, else made
    from it (non-ASCII nicenames are percent-encoded in the export)."""
    decoded = unquote(nicename)
    if SLUG_PATTERN.fullmatch(decoded):
        return decoded
    return slugify(decoded) or slugify(unescape(name)) or "uncategorized"


def _categories(item: Item, index: ExportIndex) -> tuple[tuple[str, str], list[str]]:
    """The primary category (slug, name) and the tags (post tags, then other categories)."""
    categories = [
        (nice, unescape(name)) for domain, nice, name in item.terms if domain == "category"
    ]
    tags = [unescape(name) for domain, _, name in item.terms if domain == "post_tag"]
    primary_nicename = index.categories.get(item.meta_value("_yoast_wpseo_primary_category"))
    chosen = next((c for c in categories if c[0] == primary_nicename), None)
    if chosen is None:
        chosen = categories[0] if categories else ("uncategorized", "Uncategorized")
    tags += [name for nice, name in categories if nice != chosen[0]]
    unique = [tag for tag in dict.fromkeys(" ".join(t.split()) for t in tags) if tag]
    return (category_slug(*chosen), chosen[1]), unique


def _http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and url.isascii()


def _image(image: Attachment) -> str:
    fields = [f"url: {_quoted(image.url)}"]
    alt = " ".join(unescape(image.alt).split())
    if alt:
        fields.append(f"alt: {_quoted(alt)}")
    mime_type, _ = mimetypes.guess_type(urlsplit(image.url).path, strict=False)
    if mime_type is not None:  # WXR has no MIME type for attachments: the file's extension
        fields.append(f"type: {mime_type}")
    return "{" + ", ".join(fields) + "}"


def _quoted(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar: any text round-trips.
    return json.dumps(text, ensure_ascii=False)

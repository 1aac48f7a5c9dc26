"""Parsing one article file (pure): its bytes in, a validated record and its text out.

An article is read in two steps, because a store of 100,000 articles needs only front matter
to decide what every feed holds: ``read_article`` validates the front matter into an
``Article`` (about 0.1 ms), and ``article_text`` renders and sanitizes the body and summary
(about 2 ms) when a document first shows that version. ``Article.version`` names the version
(a digest of the file's bytes), so that a text is rendered once per version and machine.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ..errors import ArticleError
from ..frontmatter import load_front_matter
from ..model import (
    ID_PATTERN,
    LANGUAGE_PATTERN,
    SLUG_PATTERN,
    Article,
    ArticleText,
    Site,
    article_slug_problem,
    slug_path,
)
from ..sanitize import excerpt_html, html_to_text, markdown_to_safe_html, xml_safe
from .fields import Fields, one_line, shown

# What a record or a text is made of changes with this module, fields.py, frontmatter.py and
# sanitize.py: bump this number with any change to what they give for the same file, and the
# records and texts kept in the state database are made again (state.py).
PARSER_VERSION = 5

# Larger files are rejected unread: no article needs a megabyte, and a runaway export must not
# exhaust memory.
MAX_FILE_BYTES = 1024 * 1024
MAX_ID_LENGTH = 200
MAX_TITLE_LENGTH = 1000
MAX_GUID_LENGTH = 2000

# Any absolute IRI (RFC 3987): a scheme, a colon and no white space.
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
# A URL as feeds carry it: printable ASCII, no spaces (non-ASCII percent-encoded).
_URL = re.compile(r"[!-~]+")
# Line breaks other than "\n" that str.splitlines() also splits on.
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def split_front_matter(text: str) -> tuple[str, str]:
    """The YAML between the opening and closing ``---`` lines, and the body after them."""
    if text.startswith("---\n"):
        # The usual file: "\n"-only lines, closed by a bare "---" line. Found without
        # splitting the whole body into lines; anything else takes the general way below.
        close = text.find("\n---\n", 3)
        if close >= 0 and not _OTHER_BREAKS.search(text, 0, close):
            return text[4 : close + 1], text[close + 5 :]
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        raise ValueError("does not start with a '---' line (YAML front matter)")
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    raise ValueError("the front matter has no closing '---' line")


def version_of(raw: bytes) -> str:
    """The name of one version of a file: a digest of its bytes."""
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def read_article(raw: bytes, *, path: str, site: Site) -> Article:
    """The record of one article file's bytes, from its front matter (the body is checked to
    be UTF-8, but not rendered). Raises ArticleError naming the field and the reason."""
    header, _ = read_front_matter(raw, path)
    return parse_front_matter(header, path=path, site=site, version=version_of(raw))


def article_text(raw: bytes, article: Article) -> ArticleText:
    """The sanitized text of the version of ``article`` whose bytes are ``raw``. Raises
    ArticleError (an invalid body or summary)."""
    header, body = read_front_matter(raw, article.path)
    # The summary as written is read again here rather than kept in every record: 0.1 ms
    # beside the 2 ms of rendering, where keeping it costs memory and restart time.
    summary = _summary(_front_matter_data(header, article.path), article.path)
    return render_text(body, summary, article.link, article.path)


def read_article_bytes(raw: bytes, *, path: str, site: Site) -> tuple[Article, ArticleText]:
    """An article file's bytes as its record and its rendered text: the whole path from a file
    to what a feed shows, pure. Raises ArticleError when the file is too large, not UTF-8 (a
    BOM is allowed) or invalid."""
    article = read_article(raw, path=path, site=site)
    return article, article_text(raw, article)


def parse_article(text: str, *, path: str, site: Site) -> tuple[Article, ArticleText]:
    """An article file's text as its record and its rendered text, exactly as the service
    reads the file holding it (UTF-8). Raises ArticleError naming the field and the reason."""
    return read_article_bytes(text.encode("utf-8", "surrogatepass"), path=path, site=site)


_BOM = b"\xef\xbb\xbf"


def read_front_matter(raw: bytes, path: str) -> tuple[str, str]:
    """An article file's front matter and body, decoded (a UTF-8 BOM is allowed). Raises
    ArticleError when the file is too large, not UTF-8 or has no front matter."""
    if len(raw) > MAX_FILE_BYTES:
        raise ArticleError(path, f"larger than {MAX_FILE_BYTES} bytes")
    start = len(_BOM) if raw.startswith(_BOM) else 0
    try:
        return split_front_matter(raw[start:].decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ArticleError(path, f"not UTF-8 text (byte {start + e.start})") from None
    except ValueError as e:
        raise ArticleError(path, str(e)) from None


def parse_front_matter(header: str, *, path: str, site: Site, version: str) -> Article:
    """The record of the file version ``version`` from its front matter.

    Raises ArticleError naming the field and the reason.
    """
    data = _front_matter_data(header, path)
    fields = Fields(data, path)

    article_id = fields.text("id", required=True)
    if len(article_id) > MAX_ID_LENGTH or not ID_PATTERN.fullmatch(article_id):
        raise ArticleError(
            path, f"{shown(article_id)} must match [A-Za-z0-9._:-]+ (at most {MAX_ID_LENGTH})",
            "id",
        )  # fmt: skip
    title = " ".join(
        xml_safe(fields.text("title", required=True, max_length=MAX_TITLE_LENGTH)).split()
    )
    if not title:
        raise ArticleError(path, "is empty", "title")
    if len(title) > MAX_TITLE_LENGTH:
        raise ArticleError(path, f"is longer than {MAX_TITLE_LENGTH} characters", "title")
    published = fields.datetime("published", site, required=True)
    assert published is not None
    updated = fields.datetime("updated", site) or published
    if updated < published:
        raise ArticleError(path, "is earlier than published", "updated")
    category = fields.text("category", required=True)
    if not SLUG_PATTERN.fullmatch(category):
        raise ArticleError(path, f"{shown(category)} must match [a-z0-9-]+", "category")
    if site.category(category) is None:
        raise ArticleError(
            path, f"unknown category {category!r}: declare [categories.{category}] in site.toml",
            "category",
        )  # fmt: skip
    language = fields.text("language") or site.language
    if not LANGUAGE_PATTERN.fullmatch(language):
        raise ArticleError(path, f"{shown(language)} is not a language tag like 'en'", "language")
    # One spelling per slug: a decomposed "ü" (as macOS writes it) links as the composed one.
    slug = unicodedata.normalize("NFC", fields.text("slug")) or slugify(Path(path).stem)
    if problem := article_slug_problem(slug):
        raise ArticleError(path, f"{shown(slug)} {problem}", "slug")
    guid = fields.text("guid", max_length=MAX_GUID_LENGTH)
    if guid and (not _IRI.fullmatch(guid) or xml_safe(guid) != guid):
        raise ArticleError(path, f"{shown(guid)} is not an absolute IRI", "guid")

    link = fields.text("link", max_length=MAX_GUID_LENGTH)
    if link:  # the spec's `link`: an imported article's old permalink, used verbatim
        if not _URL.fullmatch(link) or not _absolute_http_url(link):
            raise ArticleError(path, f"{shown(link)} is not an absolute http(s) URL", "link")
    else:
        link = f"{site.base_url}/{published.year:04}/{published.month:02}/{slug_path(slug)}/"
    _summary(data, path)  # checked now: a record is never listed with a summary of no use
    authors = fields.text_list("authors", split=False) or fields.text_list("author", split=False)
    return Article(
        id=article_id,
        guid=guid or site.tag_uri(article_id),
        path=path,
        title=title,
        published=published,
        updated=updated,
        category=category,
        tags=tuple(dict.fromkeys(fields.text_list("tags"))),
        authors=authors,
        language=language,
        slug=slug,
        link=link,
        image=fields.image("image", link),
        sources=fields.text_list("sources"),
        draft=fields.boolean("draft"),
        version=version,
    )


def _absolute_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed "[" of an IPv6 address, for instance
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _front_matter_data(header: str, path: str) -> Mapping[object, object]:
    try:
        data = load_front_matter(header)
    except yaml.YAMLError as e:
        raise ArticleError(path, f"invalid YAML front matter: {one_line(e)}") from None
    except RecursionError:  # pure-Python PyYAML (no libyaml) composes nested values recursively
        raise ArticleError(path, "invalid YAML front matter: nested too deeply") from None
    if not isinstance(data, Mapping):
        raise ArticleError(path, "the front matter is not a mapping of keys to values")
    return data


def _summary(data: Mapping[object, object], path: str) -> str:
    """The front-matter summary as written (Markdown or HTML), or "" for an excerpt."""
    return Fields(data, path).text("summary", max_length=MAX_FILE_BYTES)


def render_text(body: str, summary: str, link: str, path: str) -> ArticleText:
    """An article's Markdown body and summary as sanitized HTML (the costly part: about 2 ms
    for a 1,000-word body). Raises ArticleError."""
    content_html = _safe_html(body, link, path, "body")
    summary_html = _safe_html(summary, link, path, "summary") if summary else ""
    if not summary_html:
        summary_html = excerpt_html(content_html, link)
    return ArticleText(
        content_html=content_html,
        summary_html=summary_html,
        summary_text=html_to_text(summary_html),
    )


def _safe_html(markdown: str, link: str, path: str, field: str) -> str:
    try:
        return markdown_to_safe_html(markdown, link)
    except ValueError as e:
        raise ArticleError(path, str(e), field) from None


def slugify(name: str) -> str:
    """A file name or title as a slug: ASCII lowercase letters, digits and hyphens."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")

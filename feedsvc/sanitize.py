"""Markdown to safe HTML, and excerpts. Pure; the only module that imports nh3.

Every HTML fragment that reaches a feed passes ``sanitize_html``: nh3 (the Rust ammonia
sanitizer) with the allowlist below. bleach is not used: its 6.4.0 release is its last and it
gets no more security fixes.
"""

from __future__ import annotations

import re
from html import escape, unescape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import nh3
from markdown_it import MarkdownIt

# Formatting a news article needs, and nothing that runs, loads or styles anything.
ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dfn",
        "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp",
        "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "time", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "*": frozenset({"lang", "title"}),  # explicit: nh3 would otherwise add its own defaults
    "a": frozenset({"href", "title", "hreflang"}),
    "abbr": frozenset({"title"}),
    "blockquote": frozenset({"cite"}),
    "del": frozenset({"cite", "datetime"}),
    "dfn": frozenset({"title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "ins": frozenset({"cite", "datetime"}),
    "ol": frozenset({"start", "reversed"}),
    "q": frozenset({"cite"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "time": frozenset({"datetime"}),
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
# Removed together with everything inside them, so no script text is left behind as prose.
REMOVED_WITH_CONTENT = frozenset(
    {
        "applet", "audio", "button", "canvas", "embed", "form", "frame", "frameset", "head",
        "iframe", "math", "noembed", "noframes", "noscript", "object", "plaintext", "script",
        "select", "style", "svg", "template", "textarea", "title", "video", "xmp",
    }
)  # fmt: skip

# XML 1.0 section 2.2: the characters a document may hold. Everything else is removed.
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (controls, lone surrogates, U+FFFE/F)."""
    return _XML_INVALID.sub("", text)


def sanitize_html(html: str, base_url: str) -> str:
    """Allowlisted, XML-safe HTML with every URL absolute against ``base_url``."""

    def absolute_url(tag: str, attribute: str, value: str) -> str | None:
        if attribute not in URL_ATTRIBUTES:
            return value
        # urljoin strips the whitespace and control characters browsers ignore in URLs,
        # so "java\tscript:" is seen as the javascript: URL it is.
        url = urljoin(base_url, value.strip())
        return url if urlsplit(url).scheme in URL_SCHEMES else None

    cleaned = nh3.clean(
        xml_safe(html),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(REMOVED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=absolute_url,
        url_schemes=set(URL_SCHEMES),
        link_rel=None,
        strip_comments=True,
    )
    return xml_safe(cleaned).strip()


def html_to_text(html: str) -> str:
    """The text of a sanitized fragment, markup dropped and white space collapsed."""
    text = nh3.clean(html, tags=set(), clean_content_tags=set(REMOVED_WITH_CONTENT))
    return xml_safe(" ".join(unescape(text).split()))


def markdown_to_safe_html(text: str, base_url: str) -> str:
    """Markdown (or HTML) to sanitized HTML: the path of every summary and body.

    Raises ValueError for HTML nested deeper than MAX_HTML_DEPTH (see ``nesting_depth``).
    """
    html: str = _markdown.render(text)  # CommonMark, raw HTML allowed: not safe yet
    if nesting_depth(html) > MAX_HTML_DEPTH:
        raise ValueError(f"its HTML is nested more than {MAX_HTML_DEPTH} elements deep")
    return sanitize_html(html, base_url)


# No article nests elements this deep; nh3's time grows with the square of the depth (a
# megabyte of "<div>" takes minutes), so deeper HTML is refused before it reaches nh3.
MAX_HTML_DEPTH = 256
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)[^>]*?(/?)>")
# Elements that close themselves implicitly (HTML's optional end tags) or have no content.
_UNCOUNTED = frozenset(
    {
        "area", "base", "br", "caption", "col", "colgroup", "dd", "dt", "embed", "hr", "img",
        "input", "li", "link", "meta", "option", "optgroup", "p", "param", "rb", "rp", "rt",
        "rtc", "source", "tbody", "td", "tfoot", "th", "thead", "tr", "track", "wbr",
    }
)  # fmt: skip


def nesting_depth(html: str) -> int:
    """How deep ``html``'s elements nest, counted on its tags (an estimate that never needs
    a parser, so it is fast on any input); elements with optional end tags are not counted."""
    depth = deepest = 0
    for closing, tag, self_closing in _TAG.findall(html):
        if tag.lower() in _UNCOUNTED or self_closing:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


EXCERPT_WORDS = 60
# A block is cut only if at least this many of its words fit; else the excerpt ends before it.
_MIN_CUT_WORDS = 12
_EXCERPT_BLOCKS = frozenset({"p", "blockquote", "ul", "ol", "dl", "div"})
_VOID = frozenset({"br", "hr", "img"})
_DROPPED_IN_EXCERPT = frozenset({"img", "figure", "table", "pre"})
_ELLIPSIS = "\u2026"
_WORD = re.compile(r"\S+")


def excerpt_html(html: str, base_url: str, words: int = EXCERPT_WORDS) -> str:
    """The first paragraph(s) of sanitized ``html``, up to about ``words`` words.

    Cut at a word boundary, never inside a tag or an entity, every open tag closed, with an
    ellipsis when anything was left out. Headings before the first paragraph are skipped.
    """
    splitter = _BlockSplitter()
    splitter.feed(html)
    splitter.close()
    blocks = splitter.blocks
    out: list[str] = []
    budget = words
    for index, block in enumerate(blocks):
        if block.tag in _EXCERPT_BLOCKS and block.words:
            if block.words <= budget:
                out.append(block.html(None))
                budget -= block.words
                continue
            if not out or budget >= _MIN_CUT_WORDS:
                out.append(block.html(budget))  # carries its own ellipsis
                return sanitize_html("".join(out), base_url)
        elif not out:
            continue  # a heading or a picture before the first paragraph
        if any(b.has_text for b in blocks[index:]):
            out[-1] = _append_ellipsis(out[-1])
        break
    return sanitize_html("".join(out), base_url)


_Token = tuple[str, str, list[tuple[str, str | None]]]


class _Block:
    """One top-level element of a sanitized fragment, as parser tokens."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.tokens: list[_Token] = []

    @property
    def has_text(self) -> bool:
        return any(kind == "text" and value.strip() for kind, value, _ in self.tokens)

    @property
    def words(self) -> int:
        return sum(len(_WORD.findall(value)) for kind, value, _ in self._kept() if kind == "text")

    def _kept(self) -> list[_Token]:
        """The tokens an excerpt keeps: all but those of dropped elements (img, table...)."""
        kept: list[_Token] = []
        skipping = 0
        for token in self.tokens:
            kind, tag, _ = token
            if kind == "start" and (skipping or tag in _DROPPED_IN_EXCERPT):
                skipping += tag not in _VOID
            elif kind == "end" and skipping:
                skipping -= 1
            elif not skipping:
                kept.append(token)
        return kept

    def html(self, limit: int | None) -> str:
        """Serialize, cut after ``limit`` words (None: whole) with open tags closed."""
        parts: list[str] = []
        open_tags: list[str] = []
        count = 0
        for kind, value, attrs in self._kept():
            if kind == "start":
                parts.append(_start_tag(value, attrs))
                if value not in _VOID:
                    open_tags.append(value)
            elif kind == "end":
                if open_tags and open_tags[-1] == value:
                    open_tags.pop()
                    parts.append(f"</{value}>")
            else:
                ends = [m.end() for m in _WORD.finditer(value)]
                if limit is not None and count + len(ends) >= limit:
                    head = value[: ends[limit - count - 1]] if limit > count else ""
                    head = head.rstrip().rstrip(",;:-\u2013\u2014")
                    parts.append(escape(head, quote=False) + _ELLIPSIS)
                    parts.extend(f"</{tag}>" for tag in reversed(open_tags))
                    return "".join(parts)
                count += len(ends)
                parts.append(escape(value, quote=False))
        return "".join(parts)


def _append_ellipsis(html: str) -> str:
    """Put an ellipsis before the closing tags at the end of ``html``."""
    match = re.search(r"(?:\s*</[a-z0-9]+>)*\s*$", html)
    at = match.start() if match else len(html)
    return f"{html[:at]} {_ELLIPSIS}{html[at:]}"


def _start_tag(tag: str, attrs: list[tuple[str, str | None]]) -> str:
    rendered = "".join(f' {name}="{escape(value or "", quote=True)}"' for name, value in attrs)
    return f"<{tag}{rendered}>"


class _BlockSplitter(HTMLParser):
    """Splits a sanitized fragment into its top-level elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[_Block] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.blocks.append(_Block(tag))
        self.blocks[-1].tokens.append(("start", tag, attrs))
        if tag not in _VOID:
            self.depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.blocks.append(_Block(tag))
        self.blocks[-1].tokens.append(("start", tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in _VOID:
            self.depth -= 1
            self.blocks[-1].tokens.append(("end", tag, []))

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.blocks[-1].tokens.append(("text", data, []))
        elif data.strip():
            # Bare text at the top level reads as a paragraph of its own.
            block = _Block("p")
            block.tokens = [("start", "p", []), ("text", data, []), ("end", "p", [])]
            self.blocks.append(block)

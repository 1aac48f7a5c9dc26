"""Pure: a WordPress post's stored content to the HTML its feed shows, as a store body.

WordPress makes ``content:encoded`` from the stored text with filters on ``the_content``:
embeds (priority 8), blocks (9), ``wptexturize`` and then ``wpautop`` (10, the latter skipped
for block-editor content), ``capital_P_dangit`` and shortcodes (11) and ``convert_smilies``
(20). ``post_html`` follows that order (but for the shortcodes: see there); the typography is
texturize.py's, the last two filters filters.py's. ``wpautop`` is a line-by-line port of
WordPress 6.1's (wp-includes/formatting.php, GPL-2.0-or-later), with its PCRE patterns read
as ASCII: PHP's ``\\s`` does not match a no-break space, which WordPress content holds often.

``markdown_body`` then shapes the HTML so that CommonMark passes it through untouched: one HTML
block (CommonMark 4.6, kind 6) that starts with ``<div>`` and has no blank line, so a line of
text starting with ``1.``, ``#`` or ``*`` stays text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from .filters import capital_p_dangit, convert_smilies
from .texturize import WORDPRESS_SHORTCODES, texturize

_A = re.ASCII
_ALLBLOCKS = (
    r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre"
    r"|form|map|area|blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend|section"
    r"|article|aside|hgroup|header|footer|nav|figure|figcaption|details|menu|summary)"
)
# WordPress's get_html_split_regex(): comments, CDATA, and anything else from "<" to ">".
_HTML_SPLIT = re.compile(r"(<(?:!--.*?(?:-->|\Z)|!\[CDATA\[.*?(?:\]\]>|\Z)|[^>]*>?))", re.S)

_AUTOP_STEPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<br\s*/?>\s*<br\s*/?>", _A), "\n\n"),
    (re.compile(rf"(<{_ALLBLOCKS}[\s/>])", _A), "\n\n\\1"),
    (re.compile(rf"(</{_ALLBLOCKS}>)", _A), "\\1\n\n"),
    (re.compile(r"(<hr\s*?/?>)", _A), "\\1\n\n"),
)
_AFTER_PARAGRAPHS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<p>\s*</p>", _A), ""),
    (re.compile(r"<p>([^<]+)</(div|address|form)>", _A), "<p>\\1</p></\\2>"),
    (re.compile(rf"<p>\s*(</?{_ALLBLOCKS}[^>]*>)\s*</p>", _A), "\\1"),
    (re.compile(r"<p>(<li.+?)</p>", _A), "\\1"),
    (re.compile(r"<p><blockquote([^>]*)>", _A | re.I), "<blockquote\\1><p>"),
)
_UNWRAP_BLOCK_TAGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"<p>\s*(</?{_ALLBLOCKS}[^>]*>)", _A), "\\1"),
    (re.compile(rf"(</?{_ALLBLOCKS}[^>]*>)\s*</p>", _A), "\\1"),
)
_KEEP_NEWLINES = re.compile(r"<(script|style|svg).*?</\1>", re.S)
_NEWLINE_TO_BR = re.compile(r"(?<!<br />)\s*\n", _A)
_BR_AFTER_BLOCK = re.compile(rf"(</?{_ALLBLOCKS}[^>]*>)\s*<br />", _A)
_BR_BEFORE_BLOCK = re.compile(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)", _A)


def wpautop(text: str, br: bool = True) -> str:
    """WordPress's wpautop: paragraphs from blank lines, ``<br />`` from single line breaks."""
    if not text.strip():
        return ""
    text += "\n"
    pre_tags: dict[str, str] = {}
    if "<pre" in text:  # <pre> blocks are set aside and put back untouched at the end
        *parts, last = text.split("</pre>")
        text = ""
        for part in parts:
            start = part.find("<pre")
            if start < 0:  # malformed HTML
                text += part
                continue
            name = f"<pre wp-pre-tag-{len(pre_tags)}></pre>"
            pre_tags[name] = part[start:] + "</pre>"
            text += part[:start] + name
        text += last
    for pattern, replacement in _AUTOP_STEPS:
        text = pattern.sub(replacement, text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _replace_in_tags(text, "\n", " <!-- wpnl --> ")
    if "<option" in text:
        text = re.sub(r"\s*<option", "<option", text, flags=_A)
        text = re.sub(r"</option>\s*", "</option>", text, flags=_A)
    if "</object>" in text:
        text = re.sub(r"(<object[^>]*>)\s*", "\\1", text, flags=_A)
        text = re.sub(r"\s*</object>", "</object>", text, flags=_A)
        text = re.sub(r"\s*(</?(?:param|embed)[^>]*>)\s*", "\\1", text, flags=_A)
    if "<source" in text or "<track" in text:
        text = re.sub(r"([<\[](?:audio|video)[^>\]]*[>\]])\s*", "\\1", text, flags=_A)
        text = re.sub(r"\s*([<\[]/(?:audio|video)[>\]])", "\\1", text, flags=_A)
        text = re.sub(r"\s*(<(?:source|track)[^>]*>)\s*", "\\1", text, flags=_A)
    if "<figcaption" in text:
        text = re.sub(r"\s*(<figcaption[^>]*>)", "\\1", text, flags=_A)
        text = re.sub(r"</figcaption>\s*", "</figcaption>", text, flags=_A)
    text = re.sub(r"\n\n+", "\n\n", text)
    paragraphs = [p for p in re.split(r"\n\s*\n", text, flags=_A) if p]
    text = "".join(f"<p>{p.strip(chr(10))}</p>\n" for p in paragraphs)
    for pattern, replacement in _AFTER_PARAGRAPHS:
        text = pattern.sub(replacement, text)
    text = text.replace("</blockquote></p>", "</p></blockquote>")
    for pattern, replacement in _UNWRAP_BLOCK_TAGS:
        text = pattern.sub(replacement, text)
    if br:
        text = _KEEP_NEWLINES.sub(lambda m: m[0].replace("\n", "<WPPreserveNewline />"), text)
        text = text.replace("<br>", "<br />").replace("<br/>", "<br />")
        text = _NEWLINE_TO_BR.sub("<br />\n", text)
        text = text.replace("<WPPreserveNewline />", "\n")
    text = _BR_AFTER_BLOCK.sub("\\1", text)
    text = _BR_BEFORE_BLOCK.sub("\\1", text)
    text = re.sub(r"\n</p>$", "</p>", text)
    for name, pre in pre_tags.items():
        text = text.replace(name, pre)
    if "<!-- wpnl -->" in text:
        text = text.replace(" <!-- wpnl --> ", "\n").replace("<!-- wpnl -->", "\n")
    return text


def _replace_in_tags(text: str, needle: str, replacement: str) -> str:
    """WordPress's wp_replace_in_html_tags: ``needle`` replaced inside tags and comments only."""
    parts = _HTML_SPLIT.split(text)
    for index in range(1, len(parts), 2):
        parts[index] = parts[index].replace(needle, replacement)
    return "".join(parts)


# WordPress's get_shortcode_regex() with any name: [name attrs], [name attrs /],
# [name attrs]content[/name], and [[name]] (escaped: shown as [name]).
_SHORTCODE_SHAPE = (
    r"\[(\[?)(NAME)(?![\w-])([^\]/]*(?:/(?!\])[^\]/]*)*?)"
    r"(?:(/)\]|\](?:([^\[]*+(?:\[(?!/\2\])[^\[]*+)*+)\[/\2\])?)(\]?)"
)
_SHORTCODE = re.compile(_SHORTCODE_SHAPE.replace("NAME", r"[A-Za-z][\w-]*"), _A)
_EMBED_SHORTCODE = re.compile(_SHORTCODE_SHAPE.replace("NAME", "embed"), _A)
_ATTRIBUTES = re.compile(
    r"""([\w-]+)\s*=\s*"([^"]*)"(?:\s|$)|([\w-]+)\s*=\s*'([^']*)'(?:\s|$)"""
    r"""|([\w-]+)\s*=\s*([^\s'"]+)(?:\s|$)|"([^"]*)"(?:\s|$)|'([^']*)'(?:\s|$)|(\S+)(?:\s|$)"""
)
# Shortcodes of WordPress itself; other bracketed words count as shortcodes only when they
# look like one (attributes, a closing tag, a '-' or '_' in the name): "[sic]" stays text.
_CORE_SHORTCODES = WORDPRESS_SHORTCODES
# img_caption_shortcode(): the image (maybe in a link), then the caption text.
_CAPTIONED = re.compile(r"((?:<a [^>]+>\s*)?<img [^>]+>(?:\s*</a>)?)(.*)", re.I | re.S)
# WP_Embed::autoembed(): a URL alone on its line, or alone in a paragraph.
_URL_LINE = re.compile(r"^(\s*)(https?://[^\s<>\"]+)(\s*)$", re.I | re.M | _A)
_TAG_BREAK = "<!-- wp-line-break -->"
_URL_PARAGRAPH = re.compile(r"(<p(?: [^>]*)?>\s*)(https?://[^\s<>\"]+)(\s*</p>)", re.I | _A)
# Gutenberg's block delimiters (serialized blocks, "<!-- wp:name {json} -->").
_BLOCK_COMMENT = re.compile(r"<!--\s+/?wp:[a-z][a-z0-9_/-]*\s.*?-->", re.S)


@dataclass(frozen=True, slots=True)
class PostHtml:
    """A post's HTML as WordPress's feed shows it, and the shortcodes that were removed."""

    html: str
    removed_shortcodes: tuple[str, ...]


def post_html(content: str) -> PostHtml:
    """The stored content of a post as its feed's HTML: embeds as links, block comments
    dropped, typography as ``wptexturize`` makes it, ``wpautop`` for classic content,
    ``[caption]`` as a figure, other shortcodes removed (named in ``removed_shortcodes``),
    "Wordpress" as "WordPress" and smiley codes as emoji."""
    text = content.replace("\r\n", "\n").replace("\r", "\n")
    removed: list[str] = []
    text = _embed_shortcodes(_link_embeds(text), removed)
    has_blocks = "<!-- wp:" in text
    text = _BLOCK_COMMENT.sub("", text)
    # Shortcode tags keep their text (attributes stay straight-quoted for _attributes), as
    # the registered ones do in WordPress: its own, and those the importer will remove.
    text = texturize(text, _CORE_SHORTCODES | _shortcode_names(text))
    # Shortcodes first: a [caption] becomes a <figure>, which wpautop leaves unwrapped as
    # WordPress's shortcode_unautop does for the shortcode.
    text = _shortcodes(text, removed)
    if not has_blocks:  # WordPress skips wpautop for block-editor content (do_blocks)
        text = wpautop(text)
    # WordPress runs capital_P_dangit before its shortcodes: a "Wordpress" right after a
    # shortcode's "]" or opening a caption="..." stays as written in its feed, and may be
    # changed here, where the shortcodes are already gone.
    text = convert_smilies(capital_p_dangit(text))
    return PostHtml(text.strip("\n"), tuple(removed))


def _link_embeds(text: str) -> str:
    def link(match: re.Match[str]) -> str:
        url = match[2]
        return f'{match[1]}<a href="{escape(url)}">{escape(url)}</a>{match[3]}'

    # As WP_Embed::autoembed(): a line break inside a tag does not make a line.
    text = _replace_in_tags(text, "\n", _TAG_BREAK)
    text = _URL_PARAGRAPH.sub(link, _URL_LINE.sub(link, text))
    return text.replace(_TAG_BREAK, "\n")


def _shortcodes(text: str, removed: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        escaped_open, name, attributes, _closing, inner, escaped_close = match.groups()
        if escaped_open == "[" and escaped_close == "]":
            return match[0][1:-1]
        if not _is_shortcode(name, attributes, inner):
            return match[0][:1] + _shortcodes(match[0][1:], removed)
        inner = _shortcodes(inner or "", removed)
        if name in ("caption", "wp_caption"):
            return escaped_open + _figure(_attributes(attributes), inner) + escaped_close
        removed.append(name)
        return escaped_open + inner + escaped_close  # enclosed text is kept; the tags go

    return _SHORTCODE.sub(replace, text)


def _embed_shortcodes(text: str, removed: list[str]) -> str:
    """``[embed]URL[/embed]`` as a link, before the typography (WP_Embed::run_shortcode runs
    at priority 8, before wptexturize, which would change the URL's "--" or "...")."""

    def replace(match: re.Match[str]) -> str:
        escaped_open, _, _, _, inner, escaped_close = match.groups()
        if escaped_open == "[" and escaped_close == "]":
            return match[0]  # "[[embed]]": _shortcodes shows it as text
        removed.append("embed")
        url = escape((inner or "").strip())
        return escaped_open + (f'<a href="{url}">{url}</a>' if url else "") + escaped_close

    return _EMBED_SHORTCODE.sub(replace, text)


def _shortcode_names(text: str) -> frozenset[str]:
    """The names of the (outermost) shortcodes in ``text``, as ``_shortcodes`` tells them."""
    return frozenset(
        match[2]
        for match in _SHORTCODE.finditer(text)
        if _is_shortcode(match[2], match[3], match[5])
    )


def _is_shortcode(name: str, attributes: str, inner: str | None) -> bool:
    return (
        name in _CORE_SHORTCODES
        or inner is not None
        or bool(attributes.strip().rstrip("/").strip())
        or "-" in name
        or "_" in name
    )


def _attributes(text: str) -> dict[str, str]:
    """shortcode_parse_atts(): name="value" pairs (names lowercased)."""
    found: dict[str, str] = {}
    for match in _ATTRIBUTES.finditer(text.replace("\xa0", " ")):
        for name_group in (1, 3, 5):
            if match[name_group]:
                found[match[name_group].lower()] = match[name_group + 1]
    return found


def _figure(attributes: dict[str, str], inner: str) -> str:
    caption = attributes.get("caption", "")
    media = inner.strip()
    if not caption:
        match = _CAPTIONED.match(media)
        if match is not None:
            media, caption = match[1], match[2].strip()
    if not caption:
        return media  # WordPress shows a caption shortcode without a caption as its content
    return f"<figure>{media}<figcaption>{caption}</figcaption></figure>"


# Lines that hold only white space: a blank line ends an HTML block in CommonMark.
_BLANK_LINE = re.compile(r"\n[ \t]*(?=\n)")
_BLANK_LINE_IN_PRE = re.compile(r"\n([ \t]*)\n")
_PRESERVED = re.compile(r"(<(pre|textarea|script|style)\b.*?</\2\s*>)", re.I | re.S)


def markdown_body(html: str) -> str:
    """HTML as a Markdown body that CommonMark passes through as it is: one HTML block,
    opened by ``<div>``, with no blank line (inside ``<pre>`` an empty line's break is written
    as ``&#10;``, which is the same text)."""
    parts = _PRESERVED.split(html.replace("\r\n", "\n").replace("\r", "\n"))
    out: list[str] = []
    index = 0
    while index < len(parts):
        out.append(_BLANK_LINE.sub("", parts[index]))
        if index + 1 < len(parts):
            out.append(_until_stable(_BLANK_LINE_IN_PRE, "\n\\1&#10;", parts[index + 1]))
        index += 3  # the split also returns the tag name group
    body = "".join(out).strip("\n")
    return f"<div>\n{body}\n</div>\n" if body else ""


def _until_stable(pattern: re.Pattern[str], replacement: str, text: str) -> str:
    replaced: Callable[[str], str] = lambda value: pattern.sub(replacement, value)  # noqa: E731
    previous, text = text, replaced(text)
    while text != previous:
        previous, text = text, replaced(text)
    return text

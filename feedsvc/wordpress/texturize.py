"""Pure: WordPress's ``wptexturize``, the typography its feeds show in titles and content.

Straight quotes become curly ones (or primes after a digit: 9' and 9"), ``---`` and a ``--``
between spaces an em dash, other ``--`` and a ``-`` between spaces an en dash, ``...`` an
ellipsis, ``1x2`` a multiplication sign, ``(tm)`` a trademark sign, and a bare ``&``
``&#038;``. Text inside ``<pre>``, ``<code>``, ``<kbd>``, ``<style>``, ``<script>``, ``<tt>``
and a registered ``[code]`` shortcode, HTML comments, and the text of tags and of registered
shortcode tags stay as they are.

A port of WordPress 6.1's ``wptexturize`` and ``wptexturize_primes`` (wp-includes/formatting.php,
GPL-2.0-or-later), with the English (en_US) characters, no plugin filters, and PHP's PCRE
patterns read as byte patterns are: ASCII ``\\d`` and ``\\b``. Python's look-behinds take one
width each, so WordPress's alternations of assertions are written as several assertions.
The output uses WordPress's numeric entities (``&#8220;``), as its feed does.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_A = re.ASCII
OPEN_QUOTE, CLOSE_QUOTE = "&#8220;", "&#8221;"
OPEN_SINGLE, CLOSE_SINGLE = "&#8216;", "&#8217;"
APOSTROPHE, PRIME, DOUBLE_PRIME = "&#8217;", "&#8242;", "&#8243;"
EN_DASH, EM_DASH = "&#8211;", "&#8212;"
# WordPress's defaults for the no_texturize_tags and no_texturize_shortcodes filters.
NO_TEXTURIZE_TAGS = frozenset({"pre", "code", "kbd", "style", "script", "tt"})
NO_TEXTURIZE_SHORTCODES = frozenset({"code"})
# The shortcodes WordPress 6.1 itself registers (a plugin's are known by their look: content.py).
WORDPRESS_SHORTCODES = frozenset(
    {"audio", "caption", "embed", "gallery", "playlist", "video", "wp_caption"}
)

_OPEN_Q_FLAG, _OPEN_SQ_FLAG, _APOS_FLAG = "<!--oq-->", "<!--osq-->", "<!--apos-->"
_PRIME_FLAG = "<!--wp-prime-or-quote-->"

# Words whose leading apostrophe is no opening quote ("'til we have enough of 'em").
_COCKNEY = ("'tain't", "'twere", "'twas", "'tis", "'twill", "'til", "'bout", "'nuff", "'round",
            "'cause", "'em")  # fmt: skip
_STATIC: tuple[tuple[str, str], ...] = (
    ("...", "&#8230;"),
    ("``", OPEN_QUOTE),
    ("''", CLOSE_QUOTE),
    (" (tm)", " &#8482;"),
    *((word, word.replace("'", APOSTROPHE)) for word in _COCKNEY),
)

# wp_spaces_regexp(): [\r\n\t ]|\xC2\xA0|&nbsp; as assertions (after, not after, before).
_AFTER_SPACE = r"(?:(?<=[\r\n\t \xa0])|(?<=&nbsp;))"
_NOT_AFTER_SPACE = r"(?<![\r\n\t \xa0])(?<!&nbsp;)"
_SPACE = r"(?:[\r\n\t \xa0]|&nbsp;)"
_END = r"\n?\Z"  # PCRE's \Z also matches before a final line break
_CLOSING_CONTEXT = rf"(?={_END}|[.,:;!?)}}\-\]]|&gt;|{_SPACE})"

_APOS_STEPS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, _A), replacement)
    for pattern, replacement in (
        # '99' and '99" are ambiguous among other patterns: an abbreviated year at the end
        # of a quotation.
        (rf"'(\d\d)'{_CLOSING_CONTEXT}", rf"{_APOS_FLAG}\1{CLOSE_SINGLE}"),
        (rf"'(\d\d)\"{_CLOSING_CONTEXT}", rf"{_APOS_FLAG}\1{CLOSE_QUOTE}"),
        # '99 '99s '99's (apostrophe), but never '9 or '99% or '999 or '99.0.
        (rf"'(?=\d\d(?:{_END}|(?![%\d]|[.,]\d)))", _APOS_FLAG),
        # Quoted numbers like '0.42'.
        (rf"(?:\A|{_AFTER_SPACE})'(\d[.,\d]*)'", rf"{_OPEN_SQ_FLAG}\1{CLOSE_SINGLE}"),
        # At the start, or after (, {, <, [, ", - or a space.
        (rf"(?:\A|(?<=[(\[{{\"\-])|(?<=&lt;)|{_AFTER_SPACE})'", _OPEN_SQ_FLAG),
        # In a word: no space before, no space, quote or punctuation after.
        (rf"{_NOT_AFTER_SPACE}'(?!{_END}|[.,:;!?\"'(){{}}\[\]\-]|&[lg]t;|{_SPACE})", _APOS_FLAG),
    )
)
_QUOTE_STEPS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, _A), replacement)
    for pattern, replacement in (
        (rf"(?:\A|{_AFTER_SPACE})\"(\d[.,\d]*)\"", rf"{_OPEN_Q_FLAG}\1{CLOSE_QUOTE}"),
        (rf"(?:\A|(?<=[(\[{{\-])|(?<=&lt;)|{_AFTER_SPACE})\"(?!{_SPACE})", _OPEN_Q_FLAG),
    )
)
_DASH_STEPS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, _A), replacement)
    for pattern, replacement in (
        (r"---", EM_DASH),
        (rf"(?:^|{_AFTER_SPACE})--(?=$|{_SPACE})", EM_DASH),
        (r"(?<!xn)--", EN_DASH),  # not in punycode ("xn--")
        (rf"(?:^|{_AFTER_SPACE})-(?=$|{_SPACE})", EN_DASH),
    )
)
_TIMES_HINT = re.compile(r"(?<=\d)x\d", _A)
# 9x9, but never 0x9999 (WordPress's conditional "(?(?<=0)[\d.,]+|[\d.,]*)").
_TIMES = re.compile(r"\b(0[\d.,]+|[1-9][\d.,]*)x(\d[\d.,]*)\b", _A)
_BARE_AMPERSAND = re.compile(r"&(?!#(?:\d+|x[a-f0-9]+);|[a-z1-4]{1,8};)", re.I | _A)

# _get_wptexturize_split_regex(): a comment, or anything from "<" to ">".
_HTML = r"<(?:(?=!--)!(?:-(?!->)[^\-]*+)*+(?:-->)?|(?!!--)[^>]*>?)"
_SHORTCODE_NAME = re.compile(r"\[/?([^<>&/\[\]\x00-\x20=]++)")
_PHP_TRIM = " \t\n\r\0\x0b"


def texturize(text: str, shortcodes: Collection[str] = WORDPRESS_SHORTCODES) -> str:
    """``wptexturize``: ``text`` (HTML) with typographic quotes, dashes, ellipses and signs.
    ``shortcodes`` are the names WordPress has registered: their tags are left alone, and
    the content of ``[code]`` too."""
    if not text:
        return text
    names = [name for name in dict.fromkeys(_SHORTCODE_NAME.findall(text)) if name in shortcodes]
    shortcode = _shortcode_pattern(names) if names else ""
    split = re.compile(f"({_HTML}|{shortcode})" if shortcode else f"({_HTML})", _A)
    whole_shortcode = re.compile(shortcode, _A) if shortcode else None
    tags_stack: list[str] = []
    shortcodes_stack: list[str] = []
    parts = [part for part in split.split(text) if part]
    for index, part in enumerate(parts):
        if part[0] == "<":
            if part.startswith("<!--"):
                continue
            parts[index] = _BARE_AMPERSAND.sub("&#038;", part)
            _push_or_pop(parts[index], tags_stack, NO_TEXTURIZE_TAGS)
        elif not part.strip(_PHP_TRIM):
            continue
        elif part[0] == "[" and whole_shortcode is not None and whole_shortcode.fullmatch(part):
            if not part.startswith("[[") and not part.endswith("]]"):  # not an escaped one
                _push_or_pop(part, shortcodes_stack, NO_TEXTURIZE_SHORTCODES)
        elif not tags_stack and not shortcodes_stack:
            parts[index] = _texturize_text(part)
    return "".join(parts)


def _shortcode_pattern(names: list[str]) -> str:
    """_get_wptexturize_shortcode_regex(): a shortcode tag of one of ``names``."""
    alternatives = "|".join(re.escape(name) for name in names)
    return rf"\[[/\[]?(?:{alternatives})(?=[\s\]/])(?:[^\[\]<>]+|<[^\[\]>]*>)*+\]\]?"


def _texturize_text(text: str) -> str:
    for old, new in _STATIC:
        text = text.replace(old, new)
    if "'" in text:
        for pattern, replacement in _APOS_STEPS:
            text = pattern.sub(replacement, text)
        text = _primes(text, "'", PRIME, _OPEN_SQ_FLAG, CLOSE_SINGLE)
        text = text.replace(_APOS_FLAG, APOSTROPHE).replace(_OPEN_SQ_FLAG, OPEN_SINGLE)
    if '"' in text:
        for pattern, replacement in _QUOTE_STEPS:
            text = pattern.sub(replacement, text)
        text = _primes(text, '"', DOUBLE_PRIME, _OPEN_Q_FLAG, CLOSE_QUOTE)
        text = text.replace(_OPEN_Q_FLAG, OPEN_QUOTE)
    if "-" in text:
        for pattern, replacement in _DASH_STEPS:
            text = pattern.sub(replacement, text)
    if _TIMES_HINT.search(text):
        text = _TIMES.sub(r"\1&#215;\2", text)
    return _BARE_AMPERSAND.sub("&#038;", text)


def _primes(text: str, needle: str, prime: str, open_quote: str, close_quote: str) -> str:
    """wptexturize_primes(): whether 7' is seven feet or the end of a quotation, per run of
    text after each opening quote."""
    quote = re.compile(rf"{re.escape(needle)}{_CLOSING_CONTEXT}", _A)
    after_digit = re.compile(rf"(?<=\d){re.escape(needle)}", _A)
    flag_after_digit = re.compile(rf"(?<=\d){_PRIME_FLAG}", _A)
    flag_no_digit = re.compile(rf"(?<!\d){_PRIME_FLAG}", _A)
    sentences = text.split(open_quote)
    for key, sentence in enumerate(sentences):
        if needle not in sentence:
            continue
        if key != 0 and close_quote not in sentence:
            sentence, count = quote.subn(_PRIME_FLAG, sentence)
            if count > 1:  # several closing quotes: "Vulcan logic", as WordPress calls it
                sentence, count2 = flag_no_digit.subn(close_quote, sentence)
                if count2 == 0:
                    # A quote before a period ends the quotation, else the rightmost one.
                    position = sentence.rfind(f"{_PRIME_FLAG}.")
                    if position < 0:
                        position = sentence.rfind(_PRIME_FLAG)
                    end = position + len(_PRIME_FLAG)
                    sentence = sentence[:position] + close_quote + sentence[end:]
                sentence = after_digit.sub(prime, sentence)
                sentence = flag_after_digit.sub(prime, sentence)
                sentence = sentence.replace(_PRIME_FLAG, close_quote)
            elif count == 1:  # one closing quote candidate: it wins over primes
                sentence = sentence.replace(_PRIME_FLAG, close_quote)
                sentence = after_digit.sub(prime, sentence)
            else:
                sentence = after_digit.sub(prime, sentence)
        else:
            sentence = quote.sub(close_quote, after_digit.sub(prime, sentence))
        if needle == '"':
            sentence = sentence.replace('"', close_quote)
        sentences[key] = sentence
    return open_quote.join(sentences)


def _push_or_pop(tag: str, stack: list[str], disabled: frozenset[str]) -> None:
    """_wptexturize_pushpop_element(): an opening tag of a disabled element is pushed, its
    closing tag pops it (only when it is the innermost)."""
    opening = len(tag) > 1 and tag[1] != "/"
    if not opening and not stack:
        return
    offset = 1 if opening else 2
    space = tag.find(" ")
    # PHP's substr($tag, $offset, $length): up to the first space, else all but the last
    # character; a length of 0 or less than the offset's is an empty name.
    name = tag[offset:-1] if space < 0 else tag[offset:space] if space > offset else ""
    if name in disabled:
        if opening:
            stack.append(name)
        elif stack[-1] == name:
            stack.pop()

"""Pure: the last two filters WordPress's feed applies after the typography and paragraphs:
``capital_P_dangit`` (titles and content) and ``convert_smilies`` (content).

Ports of WordPress 6.1's ``capital_P_dangit``, ``convert_smilies``, ``translate_smiley`` and
the smiley table of ``smilies_init`` (wp-includes/formatting.php and functions.php,
GPL-2.0-or-later), with the English (en_US) quote and no plugin filters. ``use_smilies`` is on,
WordPress's default (a WXR export does not carry the option).
"""

from __future__ import annotations

import re

from .texturize import OPEN_QUOTE

# capital_P_dangit() on the_content: only after a space, an opening curly quote, a tag or a
# parenthesis, so that a URL or a file name ("wordpress.org/Wordpress-x") keeps its letters.
_DANGIT_CONTEXTS = (" ", "&#8216;", OPEN_QUOTE, ">", "(")


def capital_p_dangit_title(title: str) -> str:
    """``capital_P_dangit`` as the_title runs it: every "Wordpress" becomes "WordPress"."""
    return title.replace("Wordpress", "WordPress")


def capital_p_dangit(html: str) -> str:
    """``capital_P_dangit`` as the_content runs it: "Wordpress" becomes "WordPress" after a
    space, ``&#8216;``, ``&#8220;``, ``>`` or ``(`` (anywhere in the HTML, tags included)."""
    for before in _DANGIT_CONTEXTS:
        html = html.replace(f"{before}Wordpress", f"{before}WordPress")
    return html


# smilies_init()'s table: a code to its emoji. WordPress's one image smiley, ":mrgreen:"
# (wp-includes/images/smilies/mrgreen.png), has no emoji: its code stays text here, as an
# image on the WordPress being left would not last.
SMILIES: dict[str, str] = {
    ":neutral:": "\U0001f610", ":twisted:": "\U0001f608", ":arrow:": "\u27a1",
    ":shock:": "\U0001f62f", ":smile:": "\U0001f642", ":???:": "\U0001f615",
    ":cool:": "\U0001f60e", ":evil:": "\U0001f47f", ":grin:": "\U0001f600",
    ":idea:": "\U0001f4a1", ":oops:": "\U0001f633", ":razz:": "\U0001f61b",
    ":roll:": "\U0001f644", ":wink:": "\U0001f609", ":cry:": "\U0001f625",
    ":eek:": "\U0001f62e", ":lol:": "\U0001f606", ":mad:": "\U0001f621",
    ":sad:": "\U0001f641", "8-)": "\U0001f60e", "8-O": "\U0001f62f", ":-(": "\U0001f641",
    ":-)": "\U0001f642", ":-?": "\U0001f615", ":-D": "\U0001f600", ":-P": "\U0001f61b",
    ":-o": "\U0001f62e", ":-x": "\U0001f621", ":-|": "\U0001f610", ";-)": "\U0001f609",
    "8O": "\U0001f62f", ":(": "\U0001f641", ":)": "\U0001f642", ":?": "\U0001f615",
    ":D": "\U0001f600", ":P": "\U0001f61b", ":o": "\U0001f62e", ":x": "\U0001f621",
    ":|": "\U0001f610", ";)": "\U0001f609", ":!:": "\u2757", ":?:": "\u2753",
}  # fmt: skip
_CODES = "|".join(re.escape(code) for code in sorted(SMILIES, reverse=True))  # longest first
# smilies_init()'s $wp_smiliessearch: a code between white space (wp_spaces_regexp: also a
# no-break space and "&nbsp;") or line ends. (The first look-ahead only makes it fail fast.)
_SMILEY = re.compile(
    rf"(?=[:;8])(?:(?<=[\r\n\t \xa0])|(?<=&nbsp;)|^)({_CODES})(?=[\r\n\t \xa0]|&nbsp;|$)", re.M
)
_ANY_CODE = re.compile(_CODES)  # most posts have none: they are returned as they are
# convert_smilies()'s split: anything from "<" to the nearest ">" on the same line.
_TAG = re.compile(r"(<.*?>)")
# Elements whose text keeps its codes; WordPress matches the opening tag by its prefix
# ("<codex>" too) and waits for the exact closing tag (not nested).
_IGNORED_ELEMENT = re.compile(r"<(code|pre|style|script|textarea)[^>]*>")


def convert_smilies(html: str) -> str:
    """``convert_smilies``: smiley codes such as ``:)`` or ``;-)`` between white space become
    emoji, outside tags and outside ``<code>``, ``<pre>``, ``<style>``, ``<script>`` and
    ``<textarea>``.

    WordPress writes the emoji character too; its feed then turns every emoji into an
    ``<img>`` loaded from s.w.org (``wp_staticize_emoji`` on the_content_feed). feedsvc
    keeps the character: an image from s.w.org would have every reader fetch each emoji from
    a third party's server, and readers show the character themselves."""
    if _ANY_CODE.search(html) is None:
        return html
    parts = _TAG.split(html)
    ignored = ""
    for index, part in enumerate(parts):
        if not ignored:
            opening = _IGNORED_ELEMENT.match(part)
            if opening is not None:
                ignored = opening[1]
        if not ignored and part and part[0] != "<":
            parts[index] = _SMILEY.sub(_emoji, part)
        if ignored and part == f"</{ignored}>":
            ignored = ""
    return "".join(parts)


def _emoji(match: re.Match[str]) -> str:
    return SMILIES.get(match[1], match[1])

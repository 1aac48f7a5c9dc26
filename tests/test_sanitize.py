"""Sanitizing and excerpts, on the pure functions."""

from __future__ import annotations

import re

import pytest

from feedsvc.sanitize import excerpt_html, markdown_to_safe_html, sanitize_html, xml_safe

from .checks import parse_xml

BASE = "https://news.example.com/2025/03/story/"


@pytest.mark.parametrize(
    ("hostile", "forbidden"),
    [
        ("<script>alert(1)</script>", ["script", "alert"]),
        ("<SCRIPT SRC=//evil.example/x.js></SCRIPT>", ["script", "evil"]),
        ("<style>body{display:none}</style>", ["style", "display"]),
        ('<iframe src="https://evil.example/">frame text</iframe>', ["iframe", "frame text"]),
        ('<object data="x.swf">fallback</object><embed src="x.swf">', ["object", "embed", "swf"]),
        ('<form action="https://evil.example/"><input name=p></form>', ["form", "input"]),
        ("<svg><script>alert(1)</script></svg>", ["svg", "alert"]),
        ("<math><mtext><script>alert(1)</script></mtext></math>", ["math", "alert"]),
        ('<img src=x onerror="alert(1)">', ["onerror", "alert"]),
        ('<a href="javascript:alert(1)">x</a>', ["javascript", "alert"]),
        ('<a href="jav&#x61;script:alert(1)">x</a>', ["script:", "alert"]),
        ('<a href="&#106;avascript&#58;alert(1)">x</a>', ["script", "alert"]),
        ('<a href=" java\tscript:alert(1)">x</a>', ["script", "alert"]),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', ["data:"]),
        ('<p style="background:url(javascript:alert(1))">x</p>', ["style", "alert"]),
        ('<blockquote cite="javascript:alert(1)">q</blockquote>', ["javascript", "alert"]),
        ('<p onclick="alert(1)" onmouseover="alert(2)">x</p>', ["onclick", "onmouseover"]),
        (
            '<div><meta http-equiv="refresh" content="0;url=https://evil.example/"></div>',
            ["meta", "evil"],
        ),
        ("<noscript><p>hidden</p></noscript>", ["noscript", "hidden"]),
        ("<!-- a comment --><p>x</p>", ["comment"]),
        ('<base href="https://evil.example/"><a href="x">x</a>', ["evil"]),
    ],
)
def test_hostile_html_is_removed_with_its_content(hostile: str, forbidden: list[str]) -> None:
    for source in (hostile, f"Text before.\n\n{hostile}\n\nText after."):
        cleaned = markdown_to_safe_html(source, BASE)
        for needle in forbidden:
            assert needle not in cleaned.lower(), (source, cleaned)


def test_ordinary_formatting_survives() -> None:
    markdown = (
        'A *light* and **strong** [link](https://example.org/a "t") and `code`.\n\n'
        "- one\n- two\n\n1. first\n\n> quoted\n\n"
        "<p>raw <em>html</em> <a href='mailto:x@example.org'>m</a></p>\n"
    )
    cleaned = markdown_to_safe_html(markdown, BASE)
    for fragment in [
        "<em>light</em>",
        "<strong>strong</strong>",
        '<a href="https://example.org/a" title="t">link</a>',
        "<code>code</code>",
        "<ul>\n<li>one</li>",
        "<ol>\n<li>first</li>",
        "<blockquote>\n<p>quoted</p>\n</blockquote>",
        "<p>raw <em>html</em>",
        '<a href="mailto:x@example.org">m</a>',
    ]:
        assert fragment in cleaned


def test_relative_urls_become_absolute_against_the_article() -> None:
    cleaned = markdown_to_safe_html(
        '[up](../other/) [root](/about) ![pic](img/a.png) <a href="//cdn.example/x">p</a>', BASE
    )
    assert 'href="https://news.example.com/2025/03/other/"' in cleaned
    assert 'href="https://news.example.com/about"' in cleaned
    assert 'src="https://news.example.com/2025/03/story/img/a.png"' in cleaned
    assert 'href="https://cdn.example/x"' in cleaned


def test_xml_forbidden_characters_are_removed() -> None:
    text = "a\x00b\x01c\x0bd\x1fe\ufffef\uffffg\ud800h\tline\nok\U0001f600"
    assert xml_safe(text) == "abcdefgh\tline\nok\U0001f600"
    cleaned = sanitize_html(f"<p>{text} &#1; &#x0B;</p>", BASE)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", cleaned)
    parse_xml(f"<x>{cleaned.replace('&nbsp;', ' ')}</x>".encode())


def test_cdata_terminator_is_harmless_text() -> None:
    cleaned = markdown_to_safe_html("x ]]> y <![CDATA[ z ]]>", BASE)
    assert "]]>" not in cleaned


# --- excerpts --------------------------------------------------------------------------


def words(n: int, prefix: str = "w") -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def test_excerpt_takes_whole_short_paragraphs() -> None:
    body = markdown_to_safe_html(f"{words(10, 'a')}\n\n{words(10, 'b')}", BASE)
    assert excerpt_html(body, BASE) == f"<p>{words(10, 'a')}</p><p>{words(10, 'b')}</p>"


def test_excerpt_cuts_a_long_paragraph_at_a_word_boundary_with_an_ellipsis() -> None:
    body = markdown_to_safe_html(words(100), BASE)
    assert excerpt_html(body, BASE) == f"<p>{words(60)}\u2026</p>"


def test_excerpt_marks_left_out_paragraphs() -> None:
    body = markdown_to_safe_html(f"{words(55, 'a')}\n\n{words(40, 'b')}", BASE)
    assert excerpt_html(body, BASE) == f"<p>{words(55, 'a')} \u2026</p>"


def test_excerpt_skips_a_leading_heading_and_stops_at_the_next() -> None:
    body = markdown_to_safe_html("## Heading\n\nFirst.\n\n## Next\n\nSecond.", BASE)
    assert excerpt_html(body, BASE) == "<p>First. \u2026</p>"


def test_excerpt_never_cuts_inside_a_tag_or_entity_and_closes_every_tag() -> None:
    body = markdown_to_safe_html(
        "Fish &amp; chips " + "**bold [linked " + words(80) + "](https://example.org/)** tail", BASE
    )
    excerpt = excerpt_html(body, BASE)
    assert excerpt.startswith('<p>Fish &amp; chips <strong>bold <a href="https://example.org/">')
    assert excerpt.endswith("\u2026</a></strong></p>")
    parse_xml(f"<x>{excerpt}</x>".encode())  # every tag is closed
    assert len(re.sub("<[^>]+>", "", excerpt).split()) == 60


def test_excerpt_counts_words_of_non_latin_scripts_and_drops_images() -> None:
    body = markdown_to_safe_html("![a big picture](/p.jpg)\n\nÜber " + words(70) + " Größe", BASE)
    excerpt = excerpt_html(body, BASE)
    assert "img" not in excerpt
    assert excerpt.startswith("<p>Über w0")


def test_excerpt_of_an_empty_body_is_empty() -> None:
    assert excerpt_html("", BASE) == ""


def test_excerpt_cuts_the_next_paragraph_when_enough_words_are_left() -> None:
    # 40 words taken, 20 left: at least 12 (the minimum cut), so the next paragraph is cut.
    body = markdown_to_safe_html(f"{words(40, 'a')}\n\n{words(40, 'b')}", BASE)
    assert excerpt_html(body, BASE) == f"<p>{words(40, 'a')}</p><p>{words(20, 'b')}\u2026</p>"


DROPPED = {
    "figure": "<figure><img src='/p.jpg' alt=''><figcaption>caption words</figcaption></figure>",
    "table": "<table><tr><td>cell one</td><td>cell two</td></tr></table>",
    "pre": "<pre><code>print('code words')</code></pre>",
}


@pytest.mark.parametrize("dropped", DROPPED.values(), ids=DROPPED.keys())
def test_excerpt_skips_a_leading_figure_table_or_code_block_and_ends_at_the_next(
    dropped: str,
) -> None:
    body = sanitize_html(f"{dropped}<p>Lead words.</p>{dropped}<p>After.</p>", BASE)
    assert excerpt_html(body, BASE) == "<p>Lead words. \u2026</p>"


@pytest.mark.parametrize("dropped", DROPPED.values(), ids=DROPPED.keys())
def test_excerpt_leaves_out_a_figure_table_or_code_block_inside_a_block(dropped: str) -> None:
    body = sanitize_html(f"<div>Before {dropped} after</div>", BASE)
    assert excerpt_html(body, BASE) == "<div>Before  after</div>"


def test_only_allowlisted_attributes_survive() -> None:
    cleaned = sanitize_html(
        '<p lang="de" title="t" dir="rtl" class="c" id="i" data-x="1">x</p>', BASE
    )
    assert cleaned == '<p lang="de" title="t">x</p>'

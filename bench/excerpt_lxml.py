"""Could ``excerpt_html`` split its blocks with lxml? The same block and cut rules on an lxml
tree, compared with feedsvc.sanitize's html.parser version on what the product feeds it (the
output of ``markdown_to_safe_html``), and timed against it in the same run. Two ways to build
the tree: lxml.html (libxml2's HTML parser, which re-nests elements by HTML 4's rules) and
libxml2's XML parser on nh3's output with its void tags closed (which normalizes white space in
attribute values, XML 1.0 section 3.3.3).

    python -m bench.excerpt_lxml [--examples 5000] [--shown 5]

Prints, per corpus and tree builder, how many inputs were compared and how many excerpts
differ, with the shortest differing ones, then a table of times per call (each lxml version
with its ratio to html.parser, measured in turn).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from html import escape
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from feedsvc.cli import main as feedsvc_main
from feedsvc.sanitize import (
    _DROPPED_IN_EXCERPT,
    _ELLIPSIS,
    _EXCERPT_BLOCKS,
    _MIN_CUT_WORDS,
    _VOID,
    _WORD,
    EXCERPT_WORDS,
    _append_ellipsis,
    excerpt_html,
    markdown_to_safe_html,
    sanitize_html,
)
from feedsvc.store.parse import split_front_matter

from .common import table, timed

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://news.example.com/2025/03/story/"


# --- the candidate: the same rules, on an lxml tree --------------------------------------


Element = etree._Element


def excerpt_html_lxml(
    html: str,
    base_url: str,
    words: int = EXCERPT_WORDS,
    split: Callable[[str], list[Element]] | None = None,
) -> str:
    """``feedsvc.sanitize.excerpt_html`` with lxml splitting the fragment: lxml.html
    (libxml2's HTML parser) unless ``split`` says otherwise."""
    blocks = (split or _top_level_blocks)(html)
    out: list[str] = []
    budget = words
    for index, block in enumerate(blocks):
        count = _word_count(block)
        if block.tag in _EXCERPT_BLOCKS and count:
            if count <= budget:
                out.append(_serialize(block))
                budget -= count
                continue
            if not out or budget >= _MIN_CUT_WORDS:
                out.append(_serialize(_cut(block, budget)))
                return sanitize_html("".join(out), base_url)
        elif not out:
            continue
        if any(text.strip() for b in blocks[index:] for text in b.itertext()):
            out[-1] = _append_ellipsis(out[-1])
        break
    return sanitize_html("".join(out), base_url)


def _top_level_blocks(html: str) -> list[Element]:
    if not html.strip():
        return []
    blocks: list[Element] = []
    for piece in lxml_html.fragments_fromstring(html):
        if isinstance(piece, str):
            blocks.append(_paragraph(piece))
            continue
        tail, piece.tail = piece.tail, None
        blocks.append(piece)
        if tail and tail.strip():  # bare text at the top level reads as a paragraph
            blocks.append(_paragraph(tail))
    return blocks


_VOID_TAG = re.compile(r"<(br|hr|img)\b([^>]*)>")


def _top_level_blocks_xml(html: str) -> list[Element]:
    """The other way: nh3's output read as XML, once its void tags are closed and its one
    named entity (&nbsp;) is spelled as a number: libxml2's XML parser repairs nothing."""
    closed = _VOID_TAG.sub(r"<\1\2/>", html.replace("&nbsp;", "&#160;"))
    root = etree.fromstring(f"<x>{closed}</x>")
    blocks: list[Element] = []
    if root.text and root.text.strip():
        blocks.append(_paragraph(root.text))
    for piece in root:
        tail, piece.tail = piece.tail, None
        blocks.append(piece)
        if tail and tail.strip():
            blocks.append(_paragraph(tail))
    return blocks


def _paragraph(text: str) -> Element:
    paragraph: Element = etree.Element("p")
    paragraph.text = text
    return paragraph


def _texts(element: Element) -> Iterator[tuple[Element, str]]:
    """(element, "text" or "tail") of each text an excerpt keeps, in document order."""
    yield element, "text"
    for child in element:
        if isinstance(child.tag, str) and child.tag not in _DROPPED_IN_EXCERPT:
            yield from _texts(child)
        yield child, "tail"


def _word_count(block: Element) -> int:
    return sum(len(_WORD.findall(getattr(e, a) or "")) for e, a in _texts(block))


def _cut(block: Element, limit: int) -> Element:
    """A copy of ``block`` cut after ``limit`` words, with an ellipsis."""
    block = deepcopy(block)
    count = 0
    for element, attribute in list(_texts(block)):
        value: str = getattr(element, attribute) or ""
        ends = [m.end() for m in _WORD.finditer(value)]
        if count + len(ends) < limit:
            count += len(ends)
            continue
        head = value[: ends[limit - count - 1]] if limit > count else ""
        setattr(element, attribute, head.rstrip().rstrip(",;:-\u2013\u2014") + _ELLIPSIS)
        node = element
        if attribute == "text":
            for child in list(element):
                element.remove(child)
        while node is not block:  # everything after the cut goes
            parent = node.getparent()
            assert parent is not None
            for sibling in list(node.itersiblings()):
                parent.remove(sibling)
            if node is not element or attribute == "text":
                node.tail = None
            node = parent
        break
    return block


def _serialize(element: Element) -> str:
    """HTML of ``element`` without its dropped descendants. Not lxml.html.tostring: libxml2
    percent-encodes href and src values, which would change the URLs."""
    tag = element.tag
    attributes = "".join(
        f' {name!s}="{escape(str(value), quote=True)}"' for name, value in element.items()
    )
    parts = [f"<{tag}{attributes}>", escape(element.text or "", quote=False)]
    for child in element:
        if isinstance(child.tag, str) and child.tag not in _DROPPED_IN_EXCERPT:
            parts.append(_serialize(child))
        parts.append(escape(child.tail or "", quote=False))
    if tag not in _VOID:
        parts.append(f"</{tag}>")
    return "".join(parts)


# --- corpora: what the product feeds excerpt_html ----------------------------------------

HTML_PIECES = [
    "<p>", "</p>", "<b>", "</b>", "<em>", "</em>", "<i>", "</i>", "<small>", "</small>",
    '<a href="https://x.example/é?q=1&amp;r=2">', "</a>", '<a title="say &quot;hi&quot;">',
    "<ul><li>", "</li></ul>", "<ol><li>", "</li></ol>", "<li>", "</li>", "<dl><dt>", "<dd>",
    "</dl>", "<blockquote>", "</blockquote>", "<div>", "</div>", "<span>", "</span>", "<br>",
    "<br/>", "<hr>", "<h1>", "</h1>", "<h2>", "</h2>", "<h3>", "</h3>", '<img src="/a.png">',
    "<figure>", "<figcaption>cap</figcaption>", "</figure>", "<pre>", "</pre>", "<code>",
    "</code>", "<table><tr><td>", "</td><td>", "</td></tr></table>", "<table>", "</table>",
    "<caption>", "<marquee>", "</marquee>", "<center>", "<font>", "<q>", "</q>",
    "&amp;", "&lt;", "&gt;", "&nbsp;", "&quot;", "&#x1F600;", "&eacute;", "&", "<", ">",
    "\n\n", "\n", " ", "  ", "\t", "\U0001f600", "e\u0301", "Über", "слово", "词", "—", ",",
    "<!-- c -->", "<script>x</script>", "<style>p{}</style>", "# ", "## ", "> ", "- ", "1. ",
    "* ", "    ", "```\n", "`", "**", "_", "![pic](/p.jpg)", "[link](/l)", "| a | b |\n|---|---|\n",
    "| c | d |\n", "x" * 80, "\n  - ", "\n    1. ", "\n- ", "<center>", "<u>", "<s>", "<sup>",
]  # fmt: skip
WORD = st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True)
MARKDOWN = st.lists(
    st.one_of(st.sampled_from(HTML_PIECES), WORD, WORD, WORD, st.text(max_size=5)), max_size=150
).map(" ".join) | st.lists(
    st.one_of(st.sampled_from(HTML_PIECES), WORD, WORD, WORD), max_size=150
).map("".join)


# Article-like Markdown: blocks of the kinds writers use, with inline markup and no raw HTML.
INLINE = st.lists(
    st.one_of(
        WORD,
        WORD,
        WORD,
        st.sampled_from(
            ["Über", "слово", "词", "Fish &amp; chips", "a&nbsp;b", "«q»", "—", "x" * 90]
        ),
        WORD.map(lambda w: f"*{w}*"),
        WORD.map(lambda w: f"**{w} {w}**"),
        WORD.map(lambda w: f"`{w}`"),
        WORD.map(lambda w: f'[{w}](https://example.org/{w}?a=1&b="2" "t\'it")'),
        WORD.map(lambda w: f"![{w}](/img/{w}é.png)"),
        WORD.map(lambda w: f'[{w}](/n/{w} "a title\non two lines")'),  # CommonMark allows it
        st.just("  \n"),  # a hard line break: <br>
    ),
    min_size=1,
    max_size=40,
).map(" ".join)
BLOCK = st.one_of(
    INLINE,
    INLINE,
    INLINE.map(lambda t: f"## {t}"),
    INLINE.map(lambda t: f"# {t}"),
    INLINE.map(lambda t: f"> {t}"),
    st.lists(INLINE, min_size=1, max_size=4).map(lambda items: "\n".join(f"- {i}" for i in items)),
    st.tuples(INLINE, INLINE, INLINE).map(lambda t: f"1. {t[0]}\n   - {t[1]}\n   - {t[2]}"),
    st.tuples(INLINE, INLINE).map(lambda t: f"| {t[0]} | x |\n|---|---|\n| {t[1]} | y |"),
    INLINE.map(lambda t: f"```\n{t}\n```"),
    INLINE.map(lambda t: f'<figure><img src="/f.jpg"><figcaption>{t}</figcaption></figure>'),
    INLINE.map(lambda t: f"<div>{t}</div>"),
    st.just("![lead picture](/lead.jpg)"),
)
ARTICLE = st.lists(BLOCK, min_size=1, max_size=12).map("\n\n".join)


def generated(
    examples: int, words: st.SearchStrategy[int], markdown: st.SearchStrategy[str] = MARKDOWN
) -> list[Case]:
    """Hypothesis-generated sanitized bodies (Markdown/HTML mixes) and word budgets."""
    found: list[Case] = []

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(markdown, words)
    def collect(markdown: str, budget: int) -> None:
        try:
            found.append(Case(markdown, markdown_to_safe_html(markdown, BASE), budget))
        except ValueError:  # nested too deep: refused before any excerpt
            pass

    collect()
    return found


@dataclass(frozen=True)
class Case:
    """One input of excerpt_html: the Markdown, its sanitized HTML, the word budget."""

    markdown: str
    html: str
    words: int = EXCERPT_WORDS


def store_bodies(store: Path) -> list[Case]:
    bodies = []
    for path in sorted(store.rglob("*.md")):
        _, body = split_front_matter(path.read_text(encoding="utf-8"))
        bodies.append(Case(body, markdown_to_safe_html(body, BASE)))
    return bodies


WORDPRESS_SITE = """\
title = "Fixture Blog"
base_url = "https://blog.example.com"
timezone = "Europe/Berlin"
tag_authority = "blog.example.com"
tag_date = "2024-01-01"
"""


def wordpress_bodies() -> list[Case]:
    """Every post of the WordPress fixture export, imported as ``feedsvc import`` does."""
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder)
        (store / "site.toml").write_text(WORDPRESS_SITE, encoding="utf-8")
        export = ROOT / "tests" / "fixtures" / "wordpress" / "export.xml"
        status = feedsvc_main(["import", "wordpress", str(export), "--store", str(store)])
        assert status == 0, status
        return store_bodies(store)


def wordpress_case_texts() -> list[Case]:
    """Every string of the WordPress fixture case files (wpautop, wptexturize, filters: their
    inputs and WordPress's outputs), read as a body."""
    texts: list[str] = []

    def strings(value: object) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list | tuple):
            for item in value:
                strings(item)
        elif isinstance(value, dict):
            for item in value.values():
                strings(item)

    for path in sorted((ROOT / "tests" / "fixtures" / "wordpress").glob("*.json")):
        strings(json.loads(path.read_text(encoding="utf-8")))
    return [Case(text, markdown_to_safe_html(text, BASE)) for text in dict.fromkeys(texts)]


def test_bodies() -> list[Case]:
    """The Markdown of tests/test_sanitize.py's excerpt tests."""

    def words(n: int, prefix: str = "w") -> str:
        return " ".join(f"{prefix}{i}" for i in range(n))

    sources = [
        f"{words(10, 'a')}\n\n{words(10, 'b')}",
        words(100),
        f"{words(55, 'a')}\n\n{words(40, 'b')}",
        "## Heading\n\nFirst.\n\n## Next\n\nSecond.",
        "Fish &amp; chips **bold [linked " + words(80) + "](https://example.org/)** tail",
        "![a big picture](/p.jpg)\n\nÜber " + words(70) + " Größe",
        "",
    ]
    return [Case(source, markdown_to_safe_html(source, BASE)) for source in sources]


# Each is a difference found by the generated inputs, in its shortest form, or a plausible
# article that has it.
HAND_PICKED = [
    # An inline element (b, i, u, s, small...) around paragraphs: libxml2 closes it at <p>.
    "<small>\n\nA note on sources, in small print.\n\n</small>\n\nThe story begins here.",
    "<b>\n\n<p>one two</p>\n\n</b>\n\nafter",
    # A list in a definition term: libxml2 closes the <dt>.
    "<dl><dt>term<dl><dt>inner</dt></dl></dt></dl>",
    # <marquee> (unwrapped by nh3) keeps a <p> open around blocks in the html5 tree.
    "<p>lead <marquee><ul><li>item</li></ul></marquee> more</p>",
    "Lead<marquee>\n\nSecond",
    # A link title over two lines: XML normalizes the line break in an attribute to a space.
    'A [link](/u "two\nlines") in a sentence.',
    '<abbr title="tab\there">T</abbr> words',
]


# --- the comparison and the timing -------------------------------------------------------


def compare(name: str, cases: list[Case], shown: int) -> int:
    """Print how many of ``cases`` differ, and the ``shown`` shortest of those."""
    split = _top_level_blocks_xml if name.endswith("XML parser") else _top_level_blocks

    def candidate(case: Case) -> str:
        return excerpt_html_lxml(case.html, BASE, case.words, split)

    differing = [
        case for case in cases if excerpt_html(case.html, BASE, case.words) != candidate(case)
    ]
    print(f"{name}: {len(cases)} inputs compared, {len(differing)} differ")
    for case in sorted(differing, key=lambda case: len(case.markdown))[:shown]:
        print(f"  Markdown {case.markdown!r}, words={case.words}")
        print(f"    sanitized:   {case.html!r}")
        print(f"    html.parser: {excerpt_html(case.html, BASE, case.words)!r}")
        print(f"    lxml:        {candidate(case)!r}")
    return len(differing)


def thousand_words() -> str:
    paragraphs = []
    for n in range(20):
        sentence = " ".join(f"word{n}x{i}" for i in range(50))
        paragraphs.append(f"Some *emphasis* and a [link](/p/{n}) in paragraph {n}: {sentence}.")
    return markdown_to_safe_html("## A heading\n\n" + "\n\n".join(paragraphs), BASE)


def timing_rows(name: str, bodies: list[str], turns: int = 3) -> list[list[str]]:
    """Time the three versions on ``bodies`` in turn, ``turns`` times; a row per turn."""

    def run(split: Callable[[str], list[Element]] | None) -> Callable[[], None]:
        def call_all() -> None:
            for body in bodies:
                if split is None:
                    excerpt_html(body, BASE)
                else:
                    excerpt_html_lxml(body, BASE, EXCERPT_WORDS, split)

        return call_all

    rows = []
    for turn in range(1, turns + 1):
        old, html, xml = (
            timed(run(split), rounds=41, calls=20)
            for split in (None, _top_level_blocks, _top_level_blocks_xml)
        )
        rows.append(
            [
                f"{name}, turn {turn}",
                f"{old.median / len(bodies) * 1e3:.3f} ms",
                f"{html.median / len(bodies) * 1e3:.3f} ms ({html.median / old.median:.2f})",
                f"{xml.median / len(bodies) * 1e3:.3f} ms ({xml.median / old.median:.2f})",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--shown", type=int, default=5, help="differing examples shown per corpus")
    args = parser.parse_args()
    articles = store_bodies(ROOT / "articles")
    small = st.integers(min_value=1, max_value=20)
    corpora = {
        "hypothesis, words 1-20": generated(args.examples, small),
        "hypothesis, words 60": generated(args.examples, st.just(EXCERPT_WORDS)),
        "hypothesis article-like, words 60": generated(
            args.examples, st.just(EXCERPT_WORDS), ARTICLE
        ),
        "hypothesis article-like, words 5-80": generated(
            args.examples, st.integers(min_value=5, max_value=80), ARTICLE
        ),
        "articles/": articles,
        "WordPress fixture export": wordpress_bodies(),
        "WordPress fixture cases": wordpress_case_texts(),
        "tests/test_sanitize.py": test_bodies(),
        "hand-picked": [
            Case(markdown, markdown_to_safe_html(markdown, BASE)) for markdown in HAND_PICKED
        ],
    }
    for name in list(corpora):  # the same inputs, split the other way
        corpora[f"{name}, XML parser"] = corpora[name]
    total = differ = 0
    for name, cases in corpora.items():
        differ += compare(name, cases, args.shown)
        total += len(cases)
    print(f"all: {total} comparisons, {differ} differ\n")
    rows = timing_rows("articles/, per article", [case.html for case in articles])
    rows += timing_rows("a 1,000-word body", [thousand_words()])
    header = ["input", "html.parser (now)", "lxml.html (ratio)", "lxml XML parser (ratio)"]
    print(table("excerpt_html, per call", header, rows))


if __name__ == "__main__":
    main()

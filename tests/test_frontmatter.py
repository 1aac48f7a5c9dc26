"""The fast front-matter reader answers exactly what PyYAML answers, or leaves the text to it."""

from __future__ import annotations

import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.frontmatter import FrontMatterLoader, load_front_matter, parse_simple

EXAMPLES = int(os.environ.get("FEEDSVC_HYPOTHESIS_EXAMPLES", "400"))


def pyyaml(text: str) -> object:
    return yaml.load(text, Loader=FrontMatterLoader)


TYPICAL = """\
id: 7d9c1b2e-2a55-4c4e-9d1f-0c9f6a2b1e11   # required
title: "Chip research: a \\"two-to-one\\" lead"
published: 2025-03-10 09:30
category: technology
tags: [semiconductors, research, "Elektromobilität", 'it''s']
author: Jane Doe
language: no
summary: A <em>short</em> summary, with commas and a colon:inside
image: {url: "https://example.org/a.jpg", alt: "A picture", type: image/jpeg, length: 12345}
sources:
  - Guancha
  - "Wccftech"
draft: false
empty:
"""


def test_typical_front_matter_is_read_without_pyyaml() -> None:
    simple = parse_simple(TYPICAL)
    assert simple is not None
    assert simple == pyyaml(TYPICAL)
    assert simple["language"] == "no"  # no implicit typing, as with PyYAML here
    assert simple["image"] == {
        "url": "https://example.org/a.jpg",
        "alt": "A picture",
        "type": "image/jpeg",
        "length": "12345",
    }


@pytest.mark.parametrize(
    "text",
    [
        "title: >\n  folded\n  text\n",  # block scalar
        "title: one\n  continued\n",  # multi-line plain scalar
        "a: &x 1\nb: *x\n",  # anchors: PyYAML refuses them
        "a: !!python/object:os.system x\n",  # tags
        'a: "\\x41\\u00e9"\n',  # escapes beyond JSON's
        "a: b\na: c\n",  # duplicate key
        "a: [1,\n 2]\n",  # flow over two lines
        "a: b: c\n",  # a nested mapping on one line
        "a: [x, ]\n",  # trailing comma
        "a:\tb\n",  # a tab
        "nested:\n  key: value\n",
    ],
)
def test_anything_else_is_left_to_pyyaml(text: str) -> None:
    assert parse_simple(text) is None


def test_load_front_matter_falls_back_and_keeps_pyyaml_errors() -> None:
    assert load_front_matter("title: >\n  folded\n") == {"title": "folded\n"}
    with pytest.raises(yaml.YAMLError):
        load_front_matter("a: &x 1\nb: *x\n")
    with pytest.raises(yaml.YAMLError):
        load_front_matter("a: [unclosed\n")


# Text built from the pieces front matter is made of, with the characters that give YAML trouble.
_piece = st.sampled_from(
    [
        " ",
        "  ",
        ":",
        ": ",
        " #",
        "#",
        ",",
        ", ",
        "[",
        "]",
        "{",
        "}",
        "'",
        "''",
        '"',
        "\\",
        "\\n",
        "\\\\",
        "-",
        "- ",
        "?",
        "!",
        "&",
        "*",
        "|",
        ">",
        "%",
        "@",
        "`",
        "é",
        "ß",
        "中",
        "\u2028",
        "\x85",
        "\t",
        "\r",
        "~",
        "null",
        "yes",
        "1",
        "0x1f",
        "2025-03-10 09:30",
        "a",
        "b c",
        "\U0001f600",
    ]
)
_scalar_text = st.lists(_piece, max_size=6).map("".join)
_plain = st.text(alphabet="abcXYZ09 .-_/é", min_size=1, max_size=12)


@st.composite
def _quoted(draw: st.DrawFn) -> str:
    text = draw(_scalar_text)
    if draw(st.booleans()):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "'" + text.replace("'", "''") + "'"


_atom = st.one_of(_plain, _quoted(), _plain, _quoted(), _scalar_text)
_flow = st.one_of(
    _atom,
    st.lists(_atom, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
    st.dictionaries(st.sampled_from(["url", "alt", "type", "length"]), _atom, max_size=3).map(
        lambda m: "{" + ", ".join(f"{k}: {v}" for k, v in m.items()) + "}"
    ),
)
_comment = st.sampled_from(["", " # note", "  #x", "#y"])


@st.composite
def _front_matter(draw: st.DrawFn) -> str:
    lines = []
    for key in draw(st.lists(st.sampled_from(["id", "title", "tags", "image", "x_1"]), max_size=5)):
        if draw(st.booleans()):
            lines.append(f"{key}: {draw(_flow)}{draw(_comment)}")
        else:
            lines.append(f"{key}:{draw(_comment)}")
            indent = draw(st.sampled_from(["", "  ", "    "]))
            lines.extend(f"{indent}- {draw(_flow)}" for _ in range(draw(st.integers(0, 3))))
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# comment", "   "])))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_front_matter())
def test_the_fast_reader_agrees_with_pyyaml(text: str) -> None:
    simple = parse_simple(text)
    if simple is None:
        return
    try:
        expected = pyyaml(text)
    except yaml.YAMLError:
        pytest.fail(f"PyYAML refuses what the fast reader read: {text!r} -> {simple!r}")
    assert simple == expected, text

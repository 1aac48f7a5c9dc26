"""Front matter reads as plain strings, lists and mappings, exactly as PyYAML's untyped loader
reads it; what front matter has no use for (aliases, tags, keys that are not strings) is refused."""

from __future__ import annotations

import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.frontmatter import MAX_DEPTH, load_front_matter

EXAMPLES = int(os.environ.get("FEEDSVC_HYPOTHESIS_EXAMPLES", "400"))


def untyped(text: str) -> object:
    """PyYAML's own construction with no implicit typing, on the same (libyaml) parser: the
    reference. (PyYAML's pure-Python scanner differs from libyaml on a few tab cases.)"""
    return yaml.load(text, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))


TYPICAL = """\
id: 7d9c1b2e-2a55-4c4e-9d1f-0c9f6a2b1e11   # required
title: "Chip research: a \\"two-to-one\\" lead"
published: 2025-03-10 09:30
category: technology
tags: [semiconductors, research, "Elektromobilität", 'it''s']
author: Jane Doe
language: no
summary: >
  A <em>short</em> summary, with commas
  and a colon:inside
image: {url: "https://example.org/a.jpg", alt: "A picture", type: image/jpeg, length: 12345}
sources:
  - Guancha
  - "Wccftech"
draft: false
empty:
"""


def test_typical_front_matter_gives_strings_lists_and_mappings() -> None:
    data = load_front_matter(TYPICAL)
    assert data == untyped(TYPICAL)
    assert isinstance(data, dict)
    assert data["language"] == "no"  # no implicit typing: not False
    assert data["published"] == "2025-03-10 09:30"  # dates are parsed in the site zone, later
    assert data["summary"] == "A <em>short</em> summary, with commas and a colon:inside\n"
    assert data["tags"] == ["semiconductors", "research", "Elektromobilität", "it's"]
    assert data["image"] == {
        "url": "https://example.org/a.jpg",
        "alt": "A picture",
        "type": "image/jpeg",
        "length": "12345",
    }
    assert data["empty"] == ""
    assert load_front_matter("") is None
    assert load_front_matter("!!str a: !!seq [x]\n") == {"a": ["x"]}  # the default tags


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: &x 1\nb: *x\n", "anchors and aliases"),
        # An alias bomb: refused at the first alias, never expanded.
        ('a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: [*c,*c]\n', "anchors and aliases"),
        ("a: !!python/object/apply:os.system [ls]\n", "tags"),
        ("a: !!int 3\n", "tags"),
        ("a: !local x\n", "tags"),
        ("? [a, b]\n: c\n", "a key must be a plain string"),
        ("a: " + "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2) + "\n", "nested more than"),
    ],
)
def test_what_front_matter_has_no_use_for_is_refused(text: str, reason: str) -> None:
    with pytest.raises(yaml.YAMLError, match=reason):
        load_front_matter(text)


def test_yaml_errors_come_through() -> None:
    with pytest.raises(yaml.YAMLError):
        load_front_matter("a: [unclosed\n")
    with pytest.raises(yaml.YAMLError):
        load_front_matter("a: b\n---\nc: d\n")  # two documents


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
def test_the_reader_agrees_with_pyyaml(text: str) -> None:
    try:
        expected = untyped(text)
    except yaml.YAMLError:
        with pytest.raises(yaml.YAMLError):
            load_front_matter(text)
        return
    if _has_tags_or_aliases(text):  # PyYAML's untyped loader takes them; this reader refuses
        with pytest.raises(yaml.constructor.ConstructorError, match=r"^(tags|anchors)"):
            load_front_matter(text)
        return
    assert load_front_matter(text) == expected, text


_PLAIN_TAGS = {None, "!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}


def _has_tags_or_aliases(text: str) -> bool:
    return any(
        isinstance(event, yaml.AliasEvent)  # (an anchor no alias uses is harmless)
        or getattr(event, "tag", None) not in _PLAIN_TAGS
        for event in yaml.parse(text, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
    )

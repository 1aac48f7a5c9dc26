"""YAML front matter -> a mapping, fast for the plain shapes editors and exports write.

PyYAML, even with libyaml, costs about 120 µs for a typical front matter (its constructor runs
in Python); a store of 100,000 articles would spend 12 s in it before the first feed. Most front
matter is one ``key: value`` per line, with quoted strings, ``[a, b]`` lists, ``{k: v}``
mappings and ``- item`` lists, and ``parse_simple`` reads exactly that subset, giving what
PyYAML gives (every scalar a string: there is no implicit typing here). On anything else (block
scalars, multi-line values, anchors, tags, unusual escapes, duplicate keys) it answers None and
``load_front_matter`` hands the text to PyYAML, so the result never depends on which one read
it. tests/test_frontmatter.py checks that equivalence on generated front matter.
"""

from __future__ import annotations

import re
from typing import ClassVar

import yaml

_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FrontMatterLoader(_SafeBase):  # type: ignore[valid-type,misc]
    """Safe loading (no object-constructing tags), and no implicit typing: every plain scalar
    is a string, so ``language: no`` stays "no" and dates are parsed by us, in the site zone.
    Anchors and aliases are refused: front matter has no use for them, and an alias bomb (a
    few lines that expand to billions of values) must never reach code that walks values.
    """

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}

    def construct_object(self, node: yaml.Node, deep: bool = False) -> object:
        # The composer hands an aliased node over again as the same object: the second
        # construction of one node is an alias.
        if node in self.constructed_objects or node in self.recursive_objects:
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases (&name, *name) are not allowed", node.start_mark
            )
        return super().construct_object(node, deep)


def load_front_matter(header: str) -> object:
    """The front matter as PyYAML (safe, untyped) reads it. Raises yaml.YAMLError."""
    simple = parse_simple(header)
    if simple is not None:
        return simple
    return yaml.load(header, Loader=FrontMatterLoader)


class _NotSimple(Exception):
    """The text is outside the subset: PyYAML decides."""


# A line is a top-level key, an item of a block list, a comment or blank. Keys start with a
# letter: YAML reads other plain keys the same way, but they never occur in front matter.
_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?:[ ]+|$)")
_ITEM_LINE = re.compile(r"([ ]*)- +")
# Characters YAML does not allow in a stream (or that this reader leaves to PyYAML: tab, CR,
# the NEL and line/paragraph separators that YAML treats as line breaks, a BOM).
_UNUSUAL = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
# Front matter nests two levels at most (a list in a mapping); deeper is left to PyYAML, which
# refuses very deep nesting with its own message.
_MAX_DEPTH = 4
# What may open a plain scalar: not an indicator (YAML gives most of them a meaning there).
_PLAIN_START = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`]")
# Inside [...] and {...}, a plain scalar ends at these.
_FLOW_END = re.compile(r"[,\]}]")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_ESCAPE_OR_QUOTE = re.compile(r'["\\]')


def parse_simple(header: str) -> dict[str, object] | None:
    """The front matter as a dict when it is in the simple subset; None otherwise (and for an
    empty front matter, which PyYAML reads as None)."""
    if _UNUSUAL.search(header):
        return None
    try:
        return _parse_lines(header.split("\n"))
    except _NotSimple:
        return None


# The most common lines, in one match: a key and a double-quoted string without escapes, a
# plain scalar with no ':' or '#' at all, or a plain date and time.
_FAST_LINE = re.compile(
    r'([A-Za-z_][A-Za-z0-9_-]*): +(?:"([^"\\]*)"'
    r"|([A-Za-z0-9_/.+(][^:#]*?|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?)) *"
)


def _parse_lines(lines: list[str]) -> dict[str, object] | None:
    data: dict[str, object] = {}
    open_list: list[object] | None = None  # the block list being read, after "key:"
    open_key = ""
    item_indent = -1
    for line in lines:
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("- ") or stripped == "-":
            if open_list is None:
                raise _NotSimple
            match = _ITEM_LINE.match(line)
            if match is None:
                raise _NotSimple
            indent = len(match.group(1))
            if item_indent < 0:
                item_indent = indent
            elif indent != item_indent:
                raise _NotSimple
            value, end = _block_value(line, match.end())
            _expect_line_end(line, end)
            open_list.append(value)
            continue
        if line[0] == " ":
            raise _NotSimple  # a continued scalar, a nested mapping...
        fast = _FAST_LINE.fullmatch(line)
        if fast is not None and open_list is None:
            key = fast.group(1)
            if key in data:
                raise _NotSimple
            quoted = fast.group(2)
            data[key] = quoted if quoted is not None else fast.group(3)
            continue
        match = _KEY_LINE.match(line)
        if match is None:
            raise _NotSimple
        if open_list is not None:
            data[open_key] = open_list if open_list else ""
            open_list = None
        key = match.group(1)
        if key in data or key == open_key:
            raise _NotSimple  # PyYAML keeps the last; rare enough to leave to it
        start = match.end()
        rest = line[start:].strip(" ")
        if not rest or rest.startswith("#"):
            open_list, open_key, item_indent = [], key, -1
            continue
        value, end = _block_value(line, start)
        _expect_line_end(line, end)
        data[key] = value
    if open_list is not None:
        data[open_key] = open_list if open_list else ""
    return data or None


def _expect_line_end(line: str, pos: int) -> None:
    rest = line[pos:]
    if rest.strip(" ") and not re.match(r" +#", rest):
        raise _NotSimple


def _block_value(line: str, pos: int) -> tuple[object, int]:
    """A value that runs to the end of the line (or a comment): (value, where it ended)."""
    if pos >= len(line):
        raise _NotSimple
    first = line[pos]
    if first in "\"'[{":
        return _flow_value(line, pos)
    if not _PLAIN_START.match(first):
        raise _NotSimple
    comment = line.find(" #", pos)
    end = len(line) if comment < 0 else comment
    value = line[pos:end].rstrip(" ")
    if ": " in value or value.endswith(":"):
        raise _NotSimple  # PyYAML reads a nested mapping or refuses it
    return value, end


def _flow_value(line: str, pos: int, depth: int = 0) -> tuple[object, int]:
    if depth > _MAX_DEPTH:
        raise _NotSimple
    first = line[pos]
    if first == '"':
        return _double_quoted(line, pos)
    if first == "'":
        return _single_quoted(line, pos)
    if first == "[":
        return _flow_sequence(line, pos, depth)
    if first == "{":
        return _flow_mapping(line, pos, depth)
    return _flow_plain(line, pos)


def _double_quoted(line: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    i = pos + 1
    while True:
        match = _ESCAPE_OR_QUOTE.search(line, i)
        if match is None:
            raise _NotSimple  # the string goes on to the next line
        out.append(line[i : match.start()])
        i = match.end()
        if match.group() == '"':
            return "".join(out), i
        escaped = _ESCAPES.get(line[i : i + 1])
        if escaped is None:
            raise _NotSimple  # \x, \u, \N, \_ and the rest: PyYAML knows them
        out.append(escaped)
        i += 1


def _single_quoted(line: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    i = pos + 1
    while True:
        quote = line.find("'", i)
        if quote < 0:
            raise _NotSimple
        out.append(line[i:quote])
        if line.startswith("''", quote):
            out.append("'")
            i = quote + 2
            continue
        return "".join(out), quote + 1


def _skip_spaces(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] == " ":
        pos += 1
    return pos


def _flow_sequence(line: str, pos: int, depth: int) -> tuple[list[object], int]:
    items: list[object] = []
    i = _skip_spaces(line, pos + 1)
    if line.startswith("]", i):
        return items, i + 1
    while True:
        if i >= len(line):
            raise _NotSimple
        value, i = _flow_value(line, i, depth + 1)
        items.append(value)
        i = _skip_spaces(line, i)
        if line.startswith("]", i):
            return items, i + 1
        if not line.startswith(",", i):
            raise _NotSimple
        i = _skip_spaces(line, i + 1)
        if line.startswith("]", i):
            raise _NotSimple  # a trailing comma: left to PyYAML


def _flow_mapping(line: str, pos: int, depth: int) -> tuple[dict[str, object], int]:
    mapping: dict[str, object] = {}
    i = _skip_spaces(line, pos + 1)
    if line.startswith("}", i):
        return mapping, i + 1
    while True:
        match = _KEY_LINE.match(line, i)
        if match is None or match.end() == len(line) or match.group(1) in mapping:
            raise _NotSimple
        value, i = _flow_value(line, match.end(), depth + 1)
        mapping[match.group(1)] = value
        i = _skip_spaces(line, i)
        if line.startswith("}", i):
            return mapping, i + 1
        if not line.startswith(",", i):
            raise _NotSimple
        i = _skip_spaces(line, i + 1)
        if line.startswith("}", i):
            raise _NotSimple


def _flow_plain(line: str, pos: int) -> tuple[str, int]:
    if pos >= len(line) or not _PLAIN_START.match(line[pos]):
        raise _NotSimple
    match = _FLOW_END.search(line, pos)
    end = len(line) if match is None else match.start()
    value = line[pos:end].rstrip(" ")
    if ":" in value or "#" in value or "[" in value or "{" in value:
        raise _NotSimple
    return value, pos + len(value)

"""YAML front matter -> plain values: strings, lists and mappings, nothing else.

libyaml (PyYAML's C parser) composes the YAML document into nodes, and ``load_front_matter``
turns the nodes into values itself. Every scalar is a string (there is no implicit typing:
``language: no`` stays "no", and dates are parsed by us, in the site zone), so PyYAML's
constructor, which costs twice as much for a typical front matter, has nothing to do here.
What front matter has no use for is refused: aliases (an alias bomb expands a few lines to
billions of values), tags (``!!python/object``...) and keys that are not strings.
"""

from __future__ import annotations

import yaml

_Parser: type[yaml.BaseLoader] = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
# Nesting deeper than this is no front matter (store/fields.py takes two levels at the most).
MAX_DEPTH = 32
_DEFAULT_TAGS = frozenset(
    {yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG, yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
     yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG}
)  # fmt: skip


def load_front_matter(header: str) -> object:
    """The front matter's value (None for an empty document). Raises yaml.YAMLError."""
    parser = _Parser(header)
    try:
        node = parser.get_single_node()
    finally:
        parser.dispose()
    return None if node is None else _value(node, set(), 0)


def _value(node: yaml.Node, seen: set[int], depth: int) -> object:
    # The composer hands an aliased node over again as the same object.
    if id(node) in seen:
        raise _refused("anchors and aliases (&name, *name) are not allowed", node)
    seen.add(id(node))
    if node.tag not in _DEFAULT_TAGS:
        raise _refused(f"tags ({node.tag}) are not allowed", node)
    if depth > MAX_DEPTH:
        raise _refused(f"nested more than {MAX_DEPTH} levels deep", node)
    if isinstance(node, yaml.ScalarNode):
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [_value(item, seen, depth + 1) for item in node.value]
    mapping: dict[str, object] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise _refused("a key must be a plain string", key)
        mapping[key.value] = _value(value, seen, depth + 1)
    return mapping


def _refused(problem: str, node: yaml.Node) -> yaml.YAMLError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)

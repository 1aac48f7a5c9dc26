"""Hostile and malformed front matter: each rejected with its reason, in bounded memory, and
never a crash of the loader."""

from __future__ import annotations

import tracemalloc

import pytest

from feedsvc.errors import ArticleError
from feedsvc.model import Article, Site
from feedsvc.settings import build_site
from feedsvc.store import MAX_FILE_BYTES, parse_article

SITE = build_site(
    {
        "title": "Test Wire",
        "base_url": "https://news.example.com",
        "tag_authority": "news.example.com",
        "tag_date": "2025-01-01",
        "categories": {"technology": {}, "energy": {}},
    }
)
FIELDS = (
    "id", "title", "published", "updated", "category", "tags", "author", "authors",
    "language", "slug", "summary", "image", "sources", "draft", "guid",
)  # fmt: skip
VALID = "id: a1\ntitle: T\npublished: 2025-03-10 09:30\ncategory: technology\n"
# A billion values from a few lines: 10 levels of nine references each.
ALIAS_BOMB = "l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 10)
)
MEMORY_BOUND = 32 * 1024 * 1024  # far above what reading one capped file needs


def parse(text: str, site: Site = SITE) -> Article:
    return parse_article(text, path="evil.md", site=site)


def outcome_of(text: str) -> Article | ArticleError:
    try:
        return parse(text)
    except ArticleError as error:
        return error


def rejected(text: str) -> ArticleError:
    """The error a file is rejected with; the peak memory of reading it is bounded."""
    tracemalloc.start()
    try:
        with pytest.raises(ArticleError) as caught:
            parse(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND
    assert len(str(caught.value)) < 400  # a message, never an echo of the huge value
    return caught.value


@pytest.mark.parametrize("key", [*FIELDS, "unknown_key"])
def test_alias_bombs_are_rejected_before_anything_walks_them(key: str) -> None:
    error = rejected(f"---\n{VALID}{ALIAS_BOMB}{key}: *l9\n---\nBody.")
    assert "anchors and aliases (&name, *name) are not allowed" in error.reason


@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "!!python/object/new:subprocess.Popen [['id']]",
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/object:builtins.object {}",
        "!<tag:yaml.org,2002:python/object/apply:os.system> ['id']",
        "!custom x",
    ],
)
def test_object_constructing_tags_are_rejected(value: str) -> None:
    error = rejected(f"---\n{VALID}extra: {value}\n---\n")
    assert "invalid YAML front matter" in error.reason
    assert "could not determine a constructor" in error.reason


@pytest.mark.parametrize("key", [k for k in FIELDS if k not in ("summary", "draft")])
def test_huge_scalars_are_rejected_with_a_short_message(key: str) -> None:
    fields = {"id": "a1", "title": "T", "published": "2025-03-10", "category": "technology"}
    fields[key] = "9" * (MAX_FILE_BYTES - 1000)
    text = "---\n" + "".join(f"{k}: {v}\n" for k, v in fields.items()) + "---\n"
    error = rejected(text)
    assert error.field == key
    assert "longer than" in error.reason


def test_a_huge_draft_flag_or_unknown_key_is_harmless() -> None:
    huge = "y" * (MAX_FILE_BYTES - 1000)
    assert rejected(f"---\n{VALID}draft: {huge}\n---\n").field == "draft"
    assert parse(f"---\n{VALID}notes: {huge}\n---\n").id == "a1"


@pytest.mark.parametrize(
    "nested",
    [
        "[" * 100_000 + "]" * 100_000,
        "{a: " * 50_000 + "b" + "}" * 50_000,
        "".join(f"\n{'  ' * depth}- " for depth in range(1, 3000)) + "x",
        "".join(f"\n{' ' * depth}k{depth}:" for depth in range(1, 3000)) + " x",
    ],
    ids=["flow-sequence", "flow-mapping", "block-sequence", "block-mapping"],
)
def test_deeply_nested_front_matter_is_rejected(nested: str) -> None:
    error = rejected(f"---\n{VALID}deep: {nested}\n---\n")
    assert "invalid YAML front matter" in error.reason
    assert "nesting depth" in error.reason


@pytest.mark.parametrize("where", ["body", "summary"])
def test_deeply_nested_html_is_rejected_before_the_sanitizer(where: str) -> None:
    html = "<div>" * 100_000 + "x"
    text = f"---\n{VALID}summary: '{html}'\n---\nBody." if where == "summary" else html
    if where == "body":
        text = f"---\n{VALID}---\n{html}"
    error = rejected(text)
    assert (error.field, error.reason) == (where, "its HTML is nested more than 256 elements deep")


def test_honest_nesting_is_accepted() -> None:
    html = "<div>" * 200 + "x" + "</div>" * 200 + "\n\n" + "<ul><li>" * 40 + "deep list"
    assert "deep list" in parse(f"---\n{VALID}---\n{html}").content_html


# Values of the wrong type: a mapping, a list of lists, bytes, a set, a number where a flag
# is due. Every field rejects each one it cannot take, naming itself.
WRONG_TYPES = ["{a: b}", "[[a, b]]", "!!binary aGVsbG8=", "!!set {a, b}", "!!float 1.5"]


def _field_accepts(key: str, value: str) -> bool:
    # A float is text to a text field (an explicit !!float tag, as !!int); a mapping with no
    # url is a wrong image.
    return value == "!!float 1.5" and key not in ("image", "draft", "tags", "author")


@pytest.mark.parametrize("key", FIELDS)
@pytest.mark.parametrize("value", WRONG_TYPES)
def test_wrong_types_are_rejected_naming_the_field(key: str, value: str) -> None:
    base = {"id": "a1", "title": "T", "published": "2025-03-10", "category": "technology"}
    base[key] = value
    text = "---\n" + "".join(f"{k}: {v}\n" for k, v in base.items()) + "---\n"
    outcome = outcome_of(text)
    if isinstance(outcome, ArticleError):
        assert outcome.field == key, outcome
    else:
        assert _field_accepts(key, value), f"{key}: {value} was accepted"


@pytest.mark.parametrize("line", ['title: "A\\ud800B"', 'title: "\\ud83d\\ude00 smile"'])
def test_escaped_surrogates_never_reach_a_record(line: str) -> None:
    # libyaml refuses \ud800-style escapes; pure-Python PyYAML would keep them as lone
    # surrogates, which xml_safe removes. Either way no record holds one.
    text = f"---\nid: a1\n{line}\npublished: 2025-03-10\ncategory: technology\n---\n"
    outcome = outcome_of(text)
    if isinstance(outcome, ArticleError):
        assert "invalid YAML front matter" in outcome.reason
    else:
        assert outcome.title.encode("utf-8")

"""Hostile and malformed front matter: each rejected with its reason, in bounded memory, and
never a crash of the loader."""

from __future__ import annotations

import os
import re
import tempfile
import tracemalloc
from datetime import date
from html.entities import name2codepoint
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from feedsvc.errors import ArticleError
from feedsvc.model import FEED_FORMATS, Article, ArticleText, Site
from feedsvc.sanitize import excerpt_html, markdown_to_safe_html, xml_safe
from feedsvc.settings import build_site, load_settings
from feedsvc.store.parse import MAX_FILE_BYTES, parse_article, read_article_bytes

from .checks import assert_served_safely, check_document, html_text, parse_xml, unsafe_html
from .factories import SITE_TOML, Store, render_site_feed, store_reader, text_of

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
    article, _ = parse_article(text, path="evil.md", site=site)
    return article


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
        # Tags YAML's safe loader would type: every value is text, a list or a mapping.
        "!!binary aGVsbG8=",
        "!!set {a, b}",
        "!!float 1.5",
        "!!int 3",
        "!!bool true",
        "!!timestamp 2025-03-10",
    ],
)
def test_tags_are_rejected(value: str) -> None:
    error = rejected(f"---\n{VALID}extra: {value}\n---\n")
    assert "invalid YAML front matter" in error.reason
    assert "tags (" in error.reason
    assert "are not allowed" in error.reason


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
        "".join(f"\n{'  ' * depth}- " for depth in range(1, 600)) + "x",
        "".join(f"\n{' ' * depth}k{depth}:" for depth in range(1, 600)) + " x",
    ],
    ids=["flow-sequence", "flow-mapping", "block-sequence", "block-mapping"],
)
def test_deeply_nested_front_matter_is_rejected(nested: str) -> None:
    error = rejected(f"---\n{VALID}deep: {nested}\n---\n")
    assert "invalid YAML front matter" in error.reason
    # libyaml's own limit ("max nesting depth") or ours (frontmatter.MAX_DEPTH levels)
    assert "nesting depth" in error.reason or "levels deep" in error.reason


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
    _, text = parse_article(f"---\n{VALID}---\n{html}", path="evil.md", site=SITE)
    assert "deep list" in text.content_html


# Values of the wrong shape: a mapping, a list of lists (tagged values, such as !!binary or
# !!float, are refused before any field sees them: test_tags_are_rejected). Every field
# rejects each one it cannot take, naming itself (a mapping with no url is a wrong image).
WRONG_TYPES = ["{a: b}", "[[a, b]]"]


@pytest.mark.parametrize("key", FIELDS)
@pytest.mark.parametrize("value", WRONG_TYPES)
def test_wrong_types_are_rejected_naming_the_field(key: str, value: str) -> None:
    base = {"id": "a1", "title": "T", "published": "2025-03-10", "category": "technology"}
    base[key] = value
    text = "---\n" + "".join(f"{k}: {v}\n" for k, v in base.items()) + "---\n"
    outcome = outcome_of(text)
    assert isinstance(outcome, ArticleError), f"{key}: {value} was accepted"
    assert outcome.field == key, outcome


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


# --- property-based: arbitrary Unicode everywhere -----------------------------------------

# Modest by default so that CI stays short; FEEDSVC_HYPOTHESIS_EXAMPLES=5000 for a long run.
PROPERTY = settings(
    max_examples=int(os.environ.get("FEEDSVC_HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SPECIALS = [
    "\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f", "\u2028",
    "\u202a", "\u202e", "\u2066", "\u2069", "\u200b", "\u200f", "\ufeff", "\ufffe", "\uffff",
    "\ud800", "\udbff", "\udc00", "\udfff", "\ud83d\ude00", "\u0301", "e\u0301\u0336",
    "\U0001f600", "\U0010ffff", "<", ">", "&", '"', "'", "\\", "]]>", "<![CDATA[", "&#0;",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "&amp;", "&#x1F600;",
    "&#xD800;", "&nbsp;", "*", "`", "[x](javascript:y)", "\n", "\r\n", "\t", " ", "---",
    ": ", "#", "- ", "{", "[", "&a", "*a", "!!python/object:os.system", "%", "@", "|",
]  # fmt: skip
any_char = st.characters(exclude_categories=())  # surrogates too
unicode_text = st.lists(st.one_of(any_char, st.sampled_from(SPECIALS)), max_size=30).map("".join)
_YAML_PRINTABLE = re.compile("[\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def yaml_quoted(value: str) -> str:
    """A YAML double-quoted scalar holding ``value``: what YAML cannot hold raw is escaped
    (a lone surrogate as \\ud800, which libyaml refuses)."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif _YAML_PRINTABLE.fullmatch(char):
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


HOSTILE_VALUE = st.one_of(
    unicode_text.map(yaml_quoted),  # mostly: any character, escaped where YAML needs it
    unicode_text.map(yaml_quoted),
    unicode_text.map(lambda t: t.replace("\n", " ")),  # raw: YAML's own typing and syntax
    st.lists(unicode_text, max_size=4).map(lambda i: "[" + ", ".join(map(yaml_quoted, i)) + "]"),
    st.none(),
)
WORD = st.from_regex(r"[A-Za-z0-9 ]{1,12}", fullmatch=True).map(yaml_quoted)
VALID_DATE = st.builds(
    lambda day, hour, minute: f"{day} {hour:02d}:{minute:02d}",
    st.dates(min_value=date(2020, 1, 1), max_value=date(2025, 5, 1)),
    st.integers(0, 23),
    st.integers(0, 59),
)
# A valid article to start from; then some of its fields are replaced by hostile values.
VALID_FIELDS = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"[A-Za-z0-9._:-]{1,20}", fullmatch=True),
        "title": WORD,
        "published": VALID_DATE,
        "category": st.sampled_from(["technology", "energy"]),
    },
    optional={
        "updated": st.just("2025-05-02 10:00"),
        "tags": st.lists(WORD, max_size=3).map(lambda i: "[" + ", ".join(i) + "]"),
        "author": WORD,
        "authors": st.lists(WORD, max_size=3).map(lambda i: "[" + ", ".join(i) + "]"),
        "language": st.sampled_from(["en", "de", "pt-BR"]),
        "slug": st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True),
        "summary": WORD,
        "image": st.sampled_from(["/a.png", "{url: https://cdn.example/b.jpg, type: image/jpeg}"]),
        "sources": st.lists(WORD, max_size=3).map(lambda i: "[" + ", ".join(i) + "]"),
        "draft": st.sampled_from(["false", "no", "true"]),
        "guid": st.sampled_from(["https://old.example/?p=1", "urn:x:1"]),
    },
)


@st.composite
def front_matter(draw: st.DrawFn) -> dict[str, str | None]:
    fields: dict[str, str | None] = dict(draw(VALID_FIELDS))
    for key in draw(st.sets(st.sampled_from(FIELDS), max_size=3)):
        fields[key] = draw(HOSTILE_VALUE)
    return fields


def article_bytes(fields: dict[str, str | None], body: str) -> bytes:
    lines = [f"{key}: {value}" for key, value in fields.items() if value is not None]
    text = "---\n" + "\n".join(lines) + "\n---\n" + body
    # A lone surrogate cannot be UTF-8: written as the bytes an unchecked encoder would write.
    return text.encode("utf-8", "surrogatepass")


@PROPERTY
@given(fields=front_matter(), body=unicode_text)
def test_arbitrary_unicode_is_rejected_clearly_or_served_well_formed(
    fields: dict[str, str | None], body: str
) -> None:
    outcome: tuple[Article, ArticleText] | ArticleError
    try:
        outcome = read_article_bytes(article_bytes(fields, body), path="x/evil.md", site=SITE)
    except ArticleError as error:
        outcome = error
    event("rejected" if isinstance(outcome, ArticleError) else "served")
    if isinstance(outcome, ArticleError):
        assert outcome.path == "x/evil.md"
        assert outcome.reason
        assert "\n" not in str(outcome)  # one line per file in `feedsvc check` and the log
        return
    assert_served_safely(*outcome, SITE)


TEXT_FIELDS = ["title", "tags", "author", "authors", "sources", "summary", "body"]
SPECIAL_TEXT = st.lists(st.sampled_from([*SPECIALS, "a", "b", " "]), min_size=1, max_size=12)


@PROPERTY
@given(key=st.sampled_from(TEXT_FIELDS), value=SPECIAL_TEXT.map("".join))
def test_every_text_field_drops_what_xml_cannot_carry(key: str, value: str) -> None:
    # Denser than the test above: one text field at a time, made of the hard characters only.
    fields: dict[str, str | None] = {
        "id": "a1", "title": '"T"', "published": "2025-03-10", "category": "technology"
    }  # fmt: skip
    if key != "body":
        fields[key] = yaml_quoted(value)
    body = value if key == "body" else "Body."
    outcome: tuple[Article, ArticleText] | ArticleError
    try:
        outcome = read_article_bytes(article_bytes(fields, body), path="x/evil.md", site=SITE)
    except ArticleError as error:
        outcome = error
    if isinstance(outcome, ArticleError):
        assert outcome.field in (key, None), outcome  # None: YAML or UTF-8 refused the file
    else:
        assert_served_safely(*outcome, SITE)


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "A", "a.1"]),
            st.sampled_from([None, "https://old.example/?p=1", "tag:news.example.com,2025:a"]),
            st.sampled_from(["one", "two", None]),
            st.sampled_from(["2025-03-01", "2025-04-01"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_guids_stay_unique_in_every_feed(
    files: list[tuple[str, str | None, str | None, str]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "store")
        store.write_site(store_site_toml())
        for n, (article_id, guid, slug, published) in enumerate(files):
            store.add(f"f{n}.md", id=article_id, guid=guid, slug=slug, published=published)
        settings = load_settings({"ARTICLES_DIR": str(store.root)})
        reader = store_reader(store.root)
        snapshot = reader.scan()
        for article in snapshot.articles:
            text_of(reader, article)  # (kept for the documents rendered below)
    served = snapshot.articles
    assert len({a.guid for a in served}) == len(served)
    assert len({a.id for a in served}) == len(served)
    assert len({a.link for a in served}) == len(served)
    assert len(served) + len({p.path for p in snapshot.problems}) == len(files)
    for fmt in FEED_FORMATS:
        body = render_site_feed(settings.site, served, fmt)
        guids = [guid for guid, _ in check_document(body, fmt)]
        assert sorted(guids) == sorted(a.guid for a in served)


def store_site_toml() -> str:
    return SITE_TOML.format(items_per_feed=50).replace(
        'tag_date = "2025-01-01"', 'tag_date = "2025"'
    )


HTML_PIECES = st.sampled_from(
    [
        "<p>", "</p>", "<b>", "</b>", "<em>", "</em>", '<a href="https://x.example/">', "</a>",
        "<ul><li>", "</li></ul>", "<blockquote>", "</blockquote>", "<div>", "</div>", "<br>",
        "<h2>", "</h2>", '<img src="/a.png" alt="a">', "<table><tr><td>", "</td></tr></table>",
        "&amp;", "&lt;", "&nbsp;", "&#x1F600;", "&#55357;", "&#0;", "\n\n", " ", "\U0001f600",
        "e\u0301", "\ud83d", "word", "Wort", "слово", "词", "<!-- c -->", "<script>x</script>",
    ]
)  # fmt: skip
PLAIN_WORD = st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True)
_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_VOID_TAG = re.compile(r"<(br|hr|img)\b([^>]*)>")


@PROPERTY
@given(
    pieces=st.lists(st.one_of(HTML_PIECES, PLAIN_WORD, PLAIN_WORD, unicode_text), max_size=120),
    words=st.integers(min_value=1, max_value=20),  # small: most bodies are cut somewhere
)
def test_an_excerpt_never_cuts_a_tag_an_entity_or_a_character(
    pieces: list[str], words: int
) -> None:
    base = "https://news.example.com/2025/03/x/"
    body = markdown_to_safe_html(" ".join(pieces), base)
    excerpt = excerpt_html(body, base, words)
    excerpt.encode("utf-8")  # no half of a surrogate pair, no lone surrogate
    assert xml_safe(excerpt) == excerpt
    # Well-formed once HTML's named entities are spelled as numbers: every tag whole and
    # closed, every entity whole.
    numeric = _NAMED_ENTITY.sub(lambda m: f"&#{name2codepoint[m.group(1)]};", excerpt)
    closed = _VOID_TAG.sub(r"<\1\2/>", numeric)
    parse_xml(f"<x>{closed}</x>".encode())
    assert unsafe_html(excerpt) == []
    assert len(_WORDS.findall(html_text(excerpt).replace("\u2026", ""))) <= max(words, 0) + 1


_WORDS = re.compile(r"\S+")

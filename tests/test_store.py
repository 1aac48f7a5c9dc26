"""The loader: what is accepted, what is rejected and why, and how changes are picked up."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
from dateutil import parser as dateparser
from hypothesis import given
from hypothesis import strategies as st

from feedsvc.errors import ArticleError
from feedsvc.model import Article, ArticleText, Site
from feedsvc.settings import load_settings
from feedsvc.store.fields import _join_url, parse_date
from feedsvc.store.files import read_regular_file
from feedsvc.store.parse import MAX_FILE_BYTES, parse_article, read_front_matter, split_front_matter
from feedsvc.store.reader import StoreReader

from .factories import Store, front_matter, store_reader, text_of

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def site(store: Store) -> Site:
    return load_settings({"ARTICLES_DIR": str(store.root)}).site


def article_text(body: str = "Body.", /, **fields: object) -> str:
    base: dict[str, object] = {
        "id": "a1",
        "title": "Title",
        "published": "2025-03-10 09:30",
        "category": "technology",
    }
    base.update(fields)
    return front_matter(base) + body


def parse(site: Site, text: str, path: str = "2025/a1.md"):  # type: ignore[no-untyped-def]
    return parse_article(text, path=path, site=site)


def test_a_full_article_is_read_with_every_field(site: Site) -> None:
    text = article_text(
        "Hello *world*.",
        id="7d9c1b2e-2a55-4c4e-9d1f-0c9f6a2b1e11",
        title='"Chip research: a two-to-one lead"',
        updated="2025-03-11 08:00",
        tags="[semiconductors, research]",
        author="Jane Doe",
        language="de",
        slug="chip-research-lead",
        summary='"Short *Markdown*"',
        image='{url: "/media/chip.jpg", alt: "A chip", type: image/jpeg, length: 12345}',
        sources="[Guancha, Wccftech]",
        draft="false",
    )
    article, text = parse(site, text)
    assert article.id == "7d9c1b2e-2a55-4c4e-9d1f-0c9f6a2b1e11"
    assert article.guid == "tag:news.example.com,2025-01-01:7d9c1b2e-2a55-4c4e-9d1f-0c9f6a2b1e11"
    assert article.title == "Chip research: a two-to-one lead"
    assert article.published == datetime(2025, 3, 10, 9, 30, tzinfo=BERLIN)
    assert article.updated == datetime(2025, 3, 11, 8, 0, tzinfo=BERLIN)
    assert article.tags == ("semiconductors", "research")
    assert article.authors == ("Jane Doe",)
    assert article.language == "de"
    assert article.link == "https://news.example.com/2025/03/chip-research-lead/"
    assert text.summary_html == "<p>Short <em>Markdown</em></p>"
    assert text.content_html == "<p>Hello <em>world</em>.</p>"
    assert article.image is not None
    assert article.image.url == "https://news.example.com/media/chip.jpg"
    assert (article.image.type, article.image.length, article.image.alt) == (
        "image/jpeg",
        12345,
        "A chip",
    )
    assert article.sources == ("Guancha", "Wccftech")
    assert article.draft is False


def test_yaml_typing_is_not_trusted(site: Site) -> None:
    # YAML 1.1 reads `no` as False, 0123 as an octal number and a bare date as a date.
    article, _ = parse(site, article_text(id="0123", language="no", published="2025-03-10"))
    assert article.id == "0123"
    assert article.language == "no"
    assert article.published == datetime(2025, 3, 10, 0, 0, tzinfo=BERLIN)


def test_dates_with_a_zone_keep_their_instant(site: Site) -> None:
    article, _ = parse(site, article_text(published="2025-03-10T09:30:00-05:00"))
    assert article.published == datetime(2025, 3, 10, 15, 30, tzinfo=BERLIN)
    assert article.published.tzinfo == BERLIN


def test_defaults_come_from_the_site_and_the_file_name(site: Site) -> None:
    article, _ = parse(site, article_text(), path="deep/folder/My Article.md")
    assert article.slug == "my-article"
    assert article.language == "en"
    assert article.updated == article.published
    assert article.authors == ()
    assert article.draft is False


def test_a_migrated_guid_is_used_verbatim(site: Site) -> None:
    article, _ = parse(site, article_text(guid='"https://old.example.com/?p=4211"'))
    assert article.guid == "https://old.example.com/?p=4211"


def test_summary_defaults_to_an_excerpt_of_the_body(site: Site) -> None:
    body = " ".join(f"word{i}" for i in range(200))
    _, text = parse(site, article_text(body))
    assert text.summary_html.startswith("<p>word0 word1")
    assert text.summary_html.endswith("word59\u2026</p>")


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"id": None}, "id", "is required"),
        ({"id": '"has space"'}, "id", "must match"),
        ({"id": "a/b"}, "id", "must match"),
        ({"title": None}, "title", "is required"),
        ({"title": '"\\x01"'}, "title", "is empty"),
        ({"published": None}, "published", "is required"),
        ({"published": "next tuesday-ish"}, "published", "is not a date"),
        ({"updated": "2025-03-01 00:00"}, "updated", "earlier than published"),
        ({"category": None}, "category", "is required"),
        ({"category": "Tech News"}, "category", "must match"),
        ({"category": "sports"}, "category", "unknown category"),
        ({"language": '"en us"'}, "language", "not a language tag"),
        ({"slug": "Bad_Slug"}, "slug", "a slug holds lower-case letters"),
        ({"guid": '"not an iri"'}, "guid", "not an absolute IRI"),
        ({"draft": "maybe"}, "draft", "not true or false"),
        ({"tags": "{a: b}"}, "tags", "must be a list"),
        ({"title": "[a, b]"}, "title", "must be text"),
        ({"image": '{url: "javascript:alert(1)"}'}, "image", "not an http(s) URL"),
        ({"image": '{url: "/x.jpg", length: lots}'}, "image", "not a number of bytes"),
        ({"image": '{url: "/x.jpg", type: "not a type"}'}, "image", "not a media type"),
    ],
)
def test_bad_fields_are_rejected_with_the_field_and_reason(
    site: Site, fields: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(ArticleError) as caught:
        parse(site, article_text(**fields))
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert caught.value.path == "2025/a1.md"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no front matter here", "does not start with a '---' line"),
        ("---\nid: a\n", "no closing '---' line"),
        ("---\nid: [unclosed\n---\n", "invalid YAML"),
        ("---\n- a list\n---\n", "not a mapping"),
        ("---\nid: !!python/object/apply:os.system ['echo pwned']\n---\n", "invalid YAML"),
    ],
)
def test_malformed_files_are_rejected(site: Site, text: str, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        parse(site, text)


def test_xml_invalid_characters_never_reach_a_record(site: Site) -> None:
    article, text = parse(
        site, article_text("Body \x0b with \ufffe junk.", title='"A\\x00B\\u000bC"')
    )
    assert article.title == "ABC"
    assert "\x0b" not in text.content_html
    assert "\ufffe" not in text.content_html


# --- the reader over a folder ------------------------------------------------------------


def scan(store: Store) -> StoreReader:
    return store_reader(store.root)


def test_each_bad_file_is_reported_and_the_rest_still_load(store: Store) -> None:
    store.add("good.md", id="good")
    store.add("bad-yaml.md", id="[oops")
    store.write(store.root / "latin1.md", article_text("Caf\xe9").encode("latin-1"))
    store.write(store.root / "huge.md", article_text("x" * (MAX_FILE_BYTES + 10)))
    store.write(store.root / "empty.md", "")
    snapshot = scan(store).scan()
    assert [a.id for a in snapshot.articles] == ["good"]
    reasons = {p.path: p.reason for p in snapshot.problems}
    assert set(reasons) == {"bad-yaml.md", "latin1.md", "huge.md", "empty.md"}
    assert "invalid YAML" in reasons["bad-yaml.md"]
    assert "not UTF-8" in reasons["latin1.md"]
    assert "larger than" in reasons["huge.md"]
    assert "'---'" in reasons["empty.md"]


def test_a_byte_order_mark_is_accepted(store: Store) -> None:
    store.write(store.root / "bom.md", "\ufeff" + article_text())
    assert [a.id for a in scan(store).scan().articles] == ["a1"]


def test_two_files_with_one_id_are_both_rejected_naming_each_other(store: Store) -> None:
    store.add("one.md", id="same")
    store.add("two.md", id="same")
    store.add("other.md", id="other")
    snapshot = scan(store).scan()
    assert [a.id for a in snapshot.articles] == ["other"]
    reasons = {p.path: p.reason for p in snapshot.problems}
    assert "two.md" in reasons["one.md"]
    assert "one.md" in reasons["two.md"]


def test_two_files_with_one_guid_are_both_rejected(store: Store) -> None:
    store.add("one.md", id="x1", guid='"https://old.example.com/?p=1"')
    store.add("two.md", id="x2", guid='"https://old.example.com/?p=1"')
    snapshot = scan(store).scan()
    assert snapshot.articles == ()
    assert {p.path for p in snapshot.problems} == {"one.md", "two.md"}


def test_two_articles_with_one_link_are_both_rejected(store: Store) -> None:
    store.add("2025/news/update.md", id="u1", published="2025-03-02")
    store.add("archive/update.md", id="u2", published="2025-03-20")
    store.add("other/update.md", id="u3", published="2025-04-01")  # another month: no clash
    snapshot = scan(store).scan()
    assert [a.id for a in snapshot.articles] == ["u3"]
    reasons = {p.path: p.reason for p in snapshot.problems}
    assert reasons["2025/news/update.md"] == (
        "link 'https://news.example.com/2025/03/update/' is also used by archive/update.md"
    )


def test_hidden_files_and_other_extensions_are_ignored(store: Store) -> None:
    store.add(".draft.md")
    store.add(".git/x.md")
    store.add("notes.txt")
    store.add("real.md", id="real")
    assert [a.id for a in scan(store).scan().articles] == ["real"]


def test_changes_are_picked_up_and_only_changed_files_are_read_again(store: Store) -> None:
    first = store.add("a.md", id="a", title="First")
    store.add("b.md", id="b")
    reader = scan(store)
    snapshot = reader.scan()
    assert reader.scan() is snapshot  # nothing changed: the same snapshot
    unchanged = next(a for a in snapshot.articles if a.id == "b")

    store.write(first, article_text(id="a", title="Edited"))
    store.add("c.md", id="c")
    snapshot = reader.scan()
    assert {a.id: a.title for a in snapshot.articles} == {
        "a": "Edited",
        "b": "Article 2",
        "c": "Article 3",
    }
    # b was not parsed again: the very same record is kept.
    assert next(a for a in snapshot.articles if a.id == "b") is unchanged

    first.unlink()
    assert [a.id for a in reader.scan().articles] == ["b", "c"]


def test_a_half_written_file_keeps_its_last_good_version(store: Store) -> None:
    path = store.add("a.md", id="a", title="Good")
    reader = scan(store)
    assert [a.title for a in reader.scan().articles] == ["Good"]

    store.write(path, "---\nid: a\ntitle: Hal")  # the editor is still saving
    snapshot = reader.scan()
    assert [a.title for a in snapshot.articles] == ["Good"]
    assert "last good version is still served" in snapshot.problems[0].reason

    store.write(path, article_text(id="a", title="Better"))
    snapshot = reader.scan()
    assert [a.title for a in snapshot.articles] == ["Better"]
    assert snapshot.problems == ()


def test_a_vanished_store_keeps_the_last_state(store: Store, tmp_path: Path) -> None:
    store.add("a.md", id="a")
    reader = scan(store)
    before = reader.scan()
    moved = tmp_path / "unmounted"
    os.rename(store.root, moved)
    assert reader.scan() is before
    os.rename(moved, store.root)
    assert reader.scan().articles == before.articles


def test_the_snapshot_does_not_depend_on_file_system_order(store: Store, tmp_path: Path) -> None:
    def fill(target: Store, order: range) -> None:
        for n in order:
            target.add(f"z{n}/{9 - n}.md", id=f"id{n}", title=f"T{n}", published="2025-03-01")

    fill(store, range(8))
    other = Store(tmp_path / "copy")
    fill(other, range(7, -1, -1))
    # Records of two stores differ in where their text is read from: compare the text itself.
    first, second = scan(store), scan(other)
    assert rendered(first) == rendered(second)


def rendered(reader: StoreReader) -> list[tuple[Article, ArticleText]]:
    return [(a, text_of(reader, a)) for a in reader.scan().articles]


def test_fifos_and_dangling_links_are_reported_without_blocking(store: Store) -> None:
    store.add("good.md", id="good")
    os.mkfifo(store.root / "pipe.md")  # opening it would block the scanner forever
    os.symlink(store.root / "missing.md", store.root / "dangling.md")
    snapshot = scan(store).scan()
    assert [a.id for a in snapshot.articles] == ["good"]
    reasons = {p.path: p.reason for p in snapshot.problems}
    assert reasons == {
        "pipe.md": "not a regular file (a FIFO)",
        "dangling.md": "a symbolic link to a missing file",
    }


def test_a_file_swapped_for_a_fifo_after_listing_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "swapped.md"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        read_regular_file(str(fifo))  # no writer: a blocking open would never return


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-10",
        "2025-03-10 09:30",
        "2025-03-10T09:30:15",
        "2025-03-10 09:30:15.250",
        "2025-03-10T09:30Z",
        "2025-03-10 09:30+05:30",
        "2025-03-10T09:30:00-08:00",
        "1999-12-31 23:59:59.999999",
    ],
)
def test_common_dates_read_as_dateutil_reads_them(text: str) -> None:
    fast = parse_date(text)
    slow = dateparser.parse(text, default=datetime(2000, 1, 1))  # noqa: DTZ001
    assert fast == slow
    assert fast.utcoffset() == slow.utcoffset()


@pytest.mark.parametrize("text", ["2025-02-30", "2025-03-10 25:00", "2025-13-01 09:30"])
def test_impossible_dates_are_refused_either_way(text: str) -> None:
    with pytest.raises(ValueError, match=r"(?i)day|month|hour|range|string"):
        parse_date(text)


def reference_split(text: str) -> tuple[str, str]:
    """split_front_matter as specified: by str.splitlines (every Unicode line break)."""
    lines = text.splitlines(keepends=True)
    assert lines[0].rstrip() == "---"
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    raise AssertionError("no closing line")


@pytest.mark.parametrize(
    "text",
    [
        "---\nid: a\n---\nBody\n---\nmore",
        "---\nid: a\n---\n",
        "---\nid: a\n---",
        "---\r\nid: a\r\n---\r\nBody",
        "---\nid: a\n--- \nBody",
        "---\nid: a\n...\nBody",
        "---\nid: a\u2028title: b\n---\nBody",
        "---\nid: a\x85---\nBody\n---\nx",
        "--- \nid: a\n---\nBody",
    ],
)
def test_the_quick_split_agrees_with_line_splitting(text: str) -> None:
    assert split_front_matter(text) == reference_split(text)


def split_decoded(raw: bytes) -> tuple[str, str] | None:
    """What read_front_matter must agree with: the whole file decoded, then split (None: the
    file is refused)."""
    try:
        return split_front_matter(raw.decode("utf-8-sig"))
    except ValueError:  # UnicodeDecodeError too
        return None


@given(
    st.lists(
        st.sampled_from(
            [
                "---\n",
                "--- \n",
                "...\n",
                "id: a\n",
                "Body",
                "é\n",
                "\r\n",
                "\u2028",
                "\x85",
                "\ufeff",
                "---",
            ]
        ),
        max_size=8,
    ),
    st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff"]),
    st.sampled_from([b"", b"\xe9", b"\xed\xa0\x80"]),  # Latin-1, an encoded surrogate
)
def test_reading_the_bytes_agrees_with_splitting_the_text(
    parts: list[str], prefix: bytes, suffix: bytes
) -> None:
    raw = prefix + "".join(["---\n", *parts]).encode() + suffix
    expected = split_decoded(raw)
    if expected is None:
        with pytest.raises(ArticleError):
            read_front_matter(raw, "a.md")
    else:
        assert read_front_matter(raw, "a.md") == expected


@pytest.mark.parametrize(
    "url",
    [
        "/media/2023/a.jpg",
        "/media/../a.jpg",
        "//cdn.example.org/a.jpg",
        "media/a.jpg",
        "https://cdn.example.org/a%20b.jpg",
        "https://cdn.example.org",
        "http://cdn.example.org:8080/x/./y.png",
        "https://user@cdn.example.org/a.jpg",
        "/a.jpg?size=2#top",
        "ftp://example.org/a.jpg",
    ],
)
def test_image_urls_join_as_urljoin_joins_them(url: str) -> None:
    base = "https://news.example.com/2025/03/slug/"
    assert _join_url(base, url) == (urljoin(base, url), urlsplit(urljoin(base, url)).scheme)


def test_a_file_growing_while_read_is_read_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(b"x" * 100)
    assert read_regular_file(str(path))[0] == b"x" * 100
    path.write_bytes(b"y" * (MAX_FILE_BYTES + 10))
    assert len(read_regular_file(str(path))[0]) == MAX_FILE_BYTES + 1

"""feedsvc import wordpress, on a real WordPress 6.1's export (tests/fixtures/wordpress)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from lxml import etree

from feedsvc.frontmatter import load_front_matter
from feedsvc.model import Article
from feedsvc.sanitize import markdown_to_safe_html, sanitize_html
from feedsvc.store.parse import split_front_matter
from feedsvc.wordpress.content import markdown_body, post_html, wpautop

from .checks import html_text, read_feed
from .factories import Clock, Store, make_app
from .wordpress import (
    CONTENT,
    EXPORT,
    FIXTURES,
    WORDPRESS_FEED,
    WORDPRESS_FEED_ALL,
    comparable,
    posts_by_title,
    run_import,
    scan,
    text_of_file,
    tree_state,
    wordpress_store,
    wp,
    write_variant,
)

BERLIN = ZoneInfo("Europe/Berlin")
SUMMARY_LINE = (
    "created 25, updated 0, unchanged 0, left alone 0; "
    "skipped 7 (1 status trash, 1 type attachment, 1 type book, 1 type nav_menu_item, 3 type page)"
)


@pytest.fixture
def imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Store, dict[str, Article], str]:
    store = wordpress_store(tmp_path / "store")
    assert run_import(store) == 0
    return store, scan(store), capsys.readouterr().out


def by_title(articles: dict[str, Article], title: str) -> Article:
    (article,) = [a for a in articles.values() if a.title == title]
    return article


def test_every_post_is_imported_and_only_posts(
    imported: tuple[Store, dict[str, Article], str],
) -> None:
    _, articles, out = imported
    assert out.splitlines()[-1] == SUMMARY_LINE
    posts = posts_by_title()
    expected = {
        f"wp-{wp(item, 'post_id')}" for item in posts.values() if wp(item, "status") != "trash"
    }
    assert set(articles) == expected
    assert "Thrown away" not in {a.title for a in articles.values()}  # trash
    assert "About us" not in {a.title for a in articles.values()}  # a page


def test_guids_are_wordpress_guids_and_links_its_permalinks(
    imported: tuple[Store, dict[str, Article], str],
) -> None:
    store, articles, _ = imported
    for title, item in posts_by_title().items():
        article = articles.get(f"wp-{wp(item, 'post_id')}")
        if article is None:
            continue
        assert article.guid == item.findtext("guid"), title
        if wp(item, "status") in ("publish", "future"):
            assert article.link == item.findtext("link"), title
    assert by_title(articles, "Classic paragraphs: wpautop").guid == "https://blog.example.com/?p=4"
    # A slug with an umlaut: decoded in the file name and the slug, and the link derived
    # from it is WordPress's permalink (lower-case hex), so the file needs no link.
    mueller = by_title(articles, "Müller-Studie: Chips")
    assert mueller.path == "2024/02/müller-studie-chips.md"
    assert mueller.slug == "müller-studie-chips"
    assert mueller.link == "https://blog.example.com/2024/02/m%c3%bcller-studie-chips/"
    text = (store.root / mueller.path).read_text(encoding="utf-8")
    assert '\nslug: "müller-studie-chips"\n' in text
    assert "\nlink:" not in text
    # WordPress without PHP's mbstring keeps a Cyrillic slug's capital (%d0%9f, "П"): the file
    # keeps the name, the slug is in lower case, and the link is WordPress's, verbatim.
    cyrillic = by_title(articles, "Привет, мир")
    assert cyrillic.path == "2024/03/Привет-мир.md"
    assert cyrillic.slug == "привет-мир"
    assert cyrillic.link.endswith(
        "/2024/03/%d0%9f%d1%80%d0%b8%d0%b2%d0%b5%d1%82-%d0%bc%d0%b8%d1%80/"
    )
    assert "\nlink: " in (store.root / cyrillic.path).read_text(encoding="utf-8")


def test_statuses(imported: tuple[Store, dict[str, Article], str]) -> None:
    _, articles, _ = imported
    for title in ("A draft", "Pending review", "Private thoughts", "Protected by a password"):
        assert by_title(articles, title).draft, title
    scheduled = by_title(articles, "Scheduled for later")
    assert not scheduled.draft
    assert scheduled.published == datetime(2099, 1, 1, 10, 0, tzinfo=BERLIN)
    assert not by_title(articles, "Short note 1").draft


def test_dates_in_the_site_zone(imported: tuple[Store, dict[str, Article], str]) -> None:
    _, articles, _ = imported
    midnight = by_title(articles, "Just after midnight, April the first")
    assert midnight.published == datetime(2024, 4, 1, 0, 30, tzinfo=BERLIN)  # 22:30 UTC, March
    assert midnight.path.startswith("2024/04/")
    assert midnight.updated == midnight.published
    # A draft has no GMT date in the export: its local date, in the site zone.
    assert by_title(articles, "A draft").published == datetime(2024, 4, 10, 10, 0, tzinfo=BERLIN)
    edited = by_title(articles, "Edited after publication")
    assert edited.updated > edited.published
    # WordPress's modified date of a scheduled post is before its date: updated = published.
    scheduled = by_title(articles, "Scheduled for later")
    assert scheduled.updated == scheduled.published


def test_categories_tags_authors_summary_image(
    imported: tuple[Store, dict[str, Article], str],
) -> None:
    store, articles, out = imported
    primary = by_title(articles, "Three categories, one primary")
    assert primary.category == "chips-semiconductors"  # Yoast's primary, not the first
    assert primary.tags == ("research", "semiconductors", "Kultur & Gesellschaft", "News")
    assert by_title(articles, "A captioned photo").category == "kultur-gesellschaft"
    assert by_title(articles, "Classic paragraphs: wpautop").tags == ("editor", "formatting")
    jurgen = by_title(articles, "Written by Jürgen: \u201cquotes\u201d, colons: and # signs")
    assert jurgen.authors == ("Jürgen Müller",)
    featured = by_title(articles, "With an excerpt and a featured image")
    assert featured.authors == ("Jane Doe",)
    assert "A hand-written <em>excerpt</em>." in text_of_file(store, featured).summary_html
    assert featured.image is not None
    assert featured.image.url == "https://blog.example.com/wp-content/uploads/2024/03/harbour.jpg"
    assert featured.image.alt == "Boats in a harbour at dusk"
    assert featured.image.type == "image/jpeg"
    # Categories site.toml lacked are added with WordPress's names; its comments stay.
    site = (store.root / "site.toml").read_text()
    assert site.startswith("# The blog, moved from WordPress.\n")
    assert "items_per_feed = 10  # WordPress: Settings -> Reading -> Syndication feeds" in site
    assert '[categories.kultur-gesellschaft]\ntitle = "Kultur & Gesellschaft"' in site
    assert (
        "site.toml: categories added: technology, kultur-gesellschaft, chips-semiconductors" in out
    )


def test_content_is_html_that_markdown_leaves_alone(
    imported: tuple[Store, dict[str, Article], str],
) -> None:
    store, articles, out = imported
    html = text_of_file(store, by_title(articles, "Classic paragraphs: wpautop")).content_html
    assert "<p>1. This line is text, not a Markdown list.<br>" in html
    assert "# This line is text, not a heading.<br>" in html
    assert "* Neither is this a bullet: *stars* stay.</p>" in html
    assert "<ol>" not in html
    assert "<h1>" not in html
    assert "<ul>" not in html
    assert "<pre>def keep(this):\n    return this\n\n  # and the blank line above</pre>" in html
    blocks = text_of_file(store, by_title(articles, "Block editor post")).content_html
    assert "wp:" not in blocks
    assert "<h2>A heading block</h2>" in blocks
    caption = text_of_file(store, by_title(articles, "A captioned photo")).content_html
    assert "<figcaption>The harbour, an hour after sunset.</figcaption></figure>" in caption
    embed = text_of_file(store, by_title(articles, "An embedded video")).content_html
    assert '<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ">' in embed
    assert "https://example.org/page stays text" in embed  # a URL within text is no embed
    shortcodes = text_of_file(store, by_title(articles, "Shortcodes from plugins")).content_html
    assert "[" not in shortcodes
    assert "Text with a note goes on." in shortcodes
    assert (
        "shortcodes removed: post 8 (2024/03/shortcodes-from-plugins.md): "
        "gallery, contact-form-7, footnote" in out
    )


def test_content_matches_wordpress_feed(tmp_path: Path) -> None:
    """What feedsvc serves in content:encoded is what WordPress's own /feed/ carried, once
    both are sanitized (see ``comparable`` for what differs on purpose)."""
    store = wordpress_store(tmp_path / "store", items_per_feed=100)
    assert run_import(store) == 0
    client = make_app(store, tmp_path / "state").test_client()
    ours = etree.fromstring(client.get("/feeds/all.rss").data)
    served = {item.findtext("guid"): item.findtext(CONTENT) or "" for item in ours.iter("item")}
    wordpress = etree.parse(str(WORDPRESS_FEED_ALL)).getroot()
    compared = 0
    for item in wordpress.iter("item"):
        title = item.findtext("title")
        if title == "Shortcodes from plugins":  # WordPress renders a gallery; we remove it
            continue
        if title == "Protected: Protected by a password":  # WordPress shows a password form
            assert item.findtext("guid") not in served  # feedsvc: a draft, never served
            continue
        theirs = sanitize_html(item.findtext(CONTENT) or "", "https://blog.example.com/")
        assert comparable(served[item.findtext("guid")]) == comparable(theirs), title
        compared += 1
    assert compared == 19


def test_marker_line_is_ignored_alike_by_both_front_matter_readers(
    imported: tuple[Store, dict[str, Article], str],
) -> None:
    store, _, _ = imported
    files = sorted(store.root.rglob("*.md"))
    assert len(files) == 25
    for path in files:
        header, _ = split_front_matter(path.read_text(encoding="utf-8"))
        assert header.startswith("# imported from WordPress post ")
        plain = yaml.load(header, Loader=yaml.CBaseLoader)
        assert load_front_matter(header) == plain == yaml.load(header, Loader=yaml.BaseLoader)


def test_rerun_updates_adds_and_leaves_hand_edits_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = wordpress_store(tmp_path / "store")
    earlier = write_variant(EXPORT, tmp_path / "earlier.xml", drop_titles=("Short note 5",))
    assert run_import(store, earlier) == 0
    capsys.readouterr()
    hand = store.root / "2024/03/a-captioned-photo.md"
    hand.write_text(hand.read_text().replace("Before the figure.", "Before the photo."))
    renamed = store.root / "2024/04/short-note-1.md"
    renamed.rename(renamed.with_name("first-note.md"))  # a file name changed by hand
    later = write_variant(
        EXPORT, tmp_path / "later.xml",
        replace={"Note number 1.": "Note number one.", "Note number 2.": "Note number two."},
    )  # fmt: skip
    (store.root / "2024/04/short-note-2.md").write_text(  # edited by hand AND changed in WordPress
        (store.root / "2024/04/short-note-2.md").read_text().replace("Note", "A note")
    )
    before = tree_state(store.root)

    assert run_import(store, later) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("created 1, updated 1, unchanged 21, left alone 2;")
    left_alone = [line.rsplit(": ", 1)[1] for line in out if line.startswith("changed by hand")]
    assert sorted(left_alone) == ["2024/03/a-captioned-photo.md", "2024/04/short-note-2.md"]
    after = tree_state(store.root)
    assert after["2024/03/a-captioned-photo.md"] == before["2024/03/a-captioned-photo.md"]
    assert "short-note-1.md" not in after  # updated where it is, under its new name
    assert b"Note number one." in after["2024/04/first-note.md"]
    assert "2024/04/short-note-5.md" in after
    articles = scan(store)
    assert len(articles) == 25  # no duplicate

    # --overwrite replaces the hand-edited files with the export's version.
    assert run_import(store, later, "--overwrite") == 0
    assert (
        capsys.readouterr().out.splitlines()[-1].startswith("created 0, updated 2, unchanged 23,")
    )
    assert "Before the figure." in hand.read_text()
    assert run_import(store, later) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1].startswith("created 0, updated 0, unchanged 25,")
    )


def test_dry_run_writes_nothing_and_reports_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = wordpress_store(tmp_path / "store")
    before = tree_state(store.root)
    assert run_import(store, EXPORT, "--dry-run") == 0
    out = capsys.readouterr().out
    assert tree_state(store.root) == before
    assert out.splitlines()[-1] == SUMMARY_LINE.replace("created", "would be created").replace(
        "updated", "would be updated"
    )
    assert "site.toml: categories would be added: technology" in out


def test_no_site_changes_prints_the_categories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = wordpress_store(tmp_path / "store")
    site = (store.root / "site.toml").read_bytes()
    assert run_import(store, EXPORT, "--no-site-changes") == 0
    out = capsys.readouterr().out
    assert (store.root / "site.toml").read_bytes() == site
    assert '[categories.chips-semiconductors]\ntitle = "Chips & Semiconductors"' in out


def test_wxr_1_1_and_an_id_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    older = write_variant(
        EXPORT, tmp_path / "wxr11.xml",
        replace={"http://wordpress.org/export/1.2/": "http://wordpress.org/export/1.1/",
                 "<wp:wxr_version>1.2<": "<wp:wxr_version>1.1<"},
    )  # fmt: skip
    store = wordpress_store(tmp_path / "store")
    assert run_import(store, older, "--id-prefix", "blog-") == 0
    assert capsys.readouterr().out.splitlines()[-1] == SUMMARY_LINE
    articles = scan(store)
    assert len(articles) == 25
    assert all(key.startswith("blog-") for key in articles)
    assert articles["blog-11"].image is not None


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "aaaaaaaaaa">\n'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">\n]>\n'
    "<rss><channel><title>&c;</title></channel></rss>\n"
)
XXE = '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/hostname">]>\n<rss>&x;</rss>\n'


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    text = EXPORT.read_text(encoding="utf-8")
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace("<wp:post_id>10</wp:post_id>", "<wp:post_id>10</wp:postid>"))
    line = text[: text.index("<wp:post_id>10</wp:post_id>")].count("\n") + 1
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: len(text) * 2 // 3])
    cut_line = text[: len(text) * 2 // 3].count("\n") + 1
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(BILLION_LAUGHS)
    xxe = tmp_path / "xxe.xml"
    xxe.write_text(XXE)
    return {
        "not well-formed": (
            broken,
            f"broken.xml:{line}: not well-formed XML: Opening and ending tag mismatch",
        ),
        "cut short": (cut, f"cut.xml:{cut_line}: the export is cut short"),
        "an RSS feed, not WXR": (
            WORDPRESS_FEED,
            "feed.xml:22: not a WordPress export (WXR): an <item> before <wp:wxr_version>",
        ),
        "billion laughs": (bomb, "bomb.xml:1: a document type declaration"),
        "external entity": (xxe, "xxe.xml:1: a document type declaration"),
    }


@pytest.mark.parametrize(
    "case",
    ["not well-formed", "cut short", "an RSS feed, not WXR", "billion laughs", "external entity"],
)
def test_bad_input_one_line_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    export, message = _bad_inputs(tmp_path)[case]
    store = wordpress_store(tmp_path / "store")
    assert run_import(store) == 0  # an earlier import, which the bad one must not touch
    capsys.readouterr()
    before = tree_state(store.root)
    assert run_import(store, export) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert message in line, line
    assert tree_state(store.root) == before


def test_nothing_to_import_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages_only = write_variant(EXPORT, tmp_path / "pages.xml", drop_titles=tuple(posts_by_title()))
    store = wordpress_store(tmp_path / "store")
    assert run_import(store, pages_only) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1].startswith("created 0, updated 0, unchanged 0,")
    assert "nothing could be imported" in captured.err


def test_wpautop_gives_what_wordpress_gives() -> None:
    cases = json.loads((FIXTURES / "wpautop-cases.json").read_text(encoding="utf-8"))
    assert len(cases) >= 40
    for text, wordpress_output in cases:
        assert wpautop(text) == wordpress_output, text


def test_wpautop_as_wordpress() -> None:
    # Cases from WordPress's own tests of wpautop (tests/phpunit/tests/formatting/autop.php).
    assert wpautop("a\nb\n\nc") == "<p>a<br />\nb</p>\n<p>c</p>\n"
    assert wpautop("<div>hello</div>") == "<div>hello</div>\n"
    assert wpautop("<pre>a\n\nb</pre>\n\nc") == "<pre>a\n\nb</pre>\n<p>c</p>\n"
    assert (
        wpautop("a\u00a0\n\u00a0\nb") == "<p>a\u00a0<br />\n\u00a0<br />\nb</p>\n"
    )  # ASCII \s only
    assert wpautop("<blockquote>q</blockquote>") == "<blockquote><p>q</p></blockquote>\n"


def test_markdown_body_survives_commonmark() -> None:
    html = post_html("1. one\n\n# two\n\n<pre>x\n\n\n  \ny</pre>\n\n    indented code?").html
    served = html_text(sanitize_html(html, "https://x.example/"))
    body = markdown_body(html)
    assert "\n\n" not in body
    rendered = markdown_to_safe_html(body, "https://x.example/")
    assert html_text(rendered).strip() == served.strip()
    assert "<ol>" not in rendered
    assert "<h1>" not in rendered
    assert "<code>" not in rendered


def test_embeds_and_shortcodes() -> None:
    linked = post_html("Look:\nhttps://y.example/a?b=1&c\n\nIn <b>https://x.example/</b> text.")
    assert linked.html == (
        "<p>Look:<br />\n"
        '<a href="https://y.example/a?b=1&amp;c">https://y.example/a?b=1&amp;c</a></p>\n'
        "<p>In <b>https://x.example/</b> text.</p>"
    )
    shortcodes = post_html(
        '[sic] [[gallery]] [embed]https://v.example/1[/embed] [audio src="a.mp3"]'
    )
    assert (
        shortcodes.html
        == '<p>[sic] [gallery] <a href="https://v.example/1">https://v.example/1</a> </p>'
    )
    assert shortcodes.removed_shortcodes == ("embed", "audio")
    caption = post_html('[caption caption="Old style"]<img src="a.jpg" />[/caption]')
    assert caption.html == '<figure><img src="a.jpg" /><figcaption>Old style</figcaption></figure>'


def test_a_site_toml_without_categories_gets_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = wordpress_store(tmp_path / "store")
    site = (store.root / "site.toml").read_text()
    store.write_site(site[: site.index("[categories.news]")])
    assert run_import(store) == 0
    assert capsys.readouterr().out.splitlines()[-1] == SUMMARY_LINE
    assert len(scan(store)) == 25
    assert '[categories.news]\ntitle = "News"' in (store.root / "site.toml").read_text()


def test_a_guid_or_link_the_store_already_has_is_not_imported_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = wordpress_store(tmp_path / "store")
    # Written by hand before the import: WordPress's post 4 under another id, and an article
    # whose derived link is the one WordPress's post 17 has.
    store.add("by-hand.md", id="by-hand", category="news", guid='"https://blog.example.com/?p=4"')
    store.add("short-note-1.md", id="note", category="news", published="2024-04-20 10:00")
    assert run_import(store) == 0
    out = capsys.readouterr().out.splitlines()
    assert "not imported: post 4 (line " in out[0]
    assert out[0].endswith("its GUID https://blog.example.com/?p=4 is by-hand.md's too")
    assert out[1].endswith(
        "its link https://blog.example.com/2024/04/short-note-1/ is short-note-1.md's too"
    )
    assert out[-1].startswith(
        "created 23, updated 0, unchanged 0, left alone 0; skipped 9 (2 clash,"
    )
    assert len(scan(store)) == 25  # every file valid: nothing the service would reject


def test_titles_as_wordpress_feeds_show_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marked_up = write_variant(
        EXPORT,
        tmp_path / "titles.xml",
        replace={"Short note 3": "Short <em>note</em> 3 &amp; more"},
    )
    store = wordpress_store(tmp_path / "store")
    assert run_import(store, marked_up) == 0
    capsys.readouterr()
    titles = {a.title for a in scan(store).values()}
    assert "Short note 3 & more" in titles


def test_scheduled_post_appears_when_due_and_drafts_never(tmp_path: Path) -> None:
    store = wordpress_store(tmp_path / "store", items_per_feed=100)
    assert run_import(store) == 0
    hidden = ("Private thoughts", "A draft", "Pending review", "Protected by a password")
    for now, scheduled_shown in ((datetime(2026, 1, 1, tzinfo=UTC), False),
                                 (datetime(2099, 1, 1, 9, 0, 1, tzinfo=UTC), True)):  # fmt: skip
        client = make_app(store, tmp_path / f"state-{now.year}", Clock(now)).test_client()
        for path in ("all.rss", "all.atom", "all.json", "news.rss", "author/jane-doe.rss"):
            response = client.get(f"/feeds/{path}")
            assert response.status_code == 200, path
            if path.endswith(".json"):
                titles = {item["title"] for item in json.loads(response.data)["items"]}
            else:
                titles = {entry.title for entry in read_feed(response.data).entries}
            assert titles, path
            assert not titles & set(hidden), path
            if path in ("all.rss", "news.rss"):
                assert ("Scheduled for later" in titles) == scheduled_shown, path


def test_a_post_the_store_would_reject_is_reported_and_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nested = write_variant(
        EXPORT, tmp_path / "nested.xml", replace={"Note number 4.": "<div>" * 300 + "deep"}
    )
    store = wordpress_store(tmp_path / "store")
    assert run_import(store, nested) == 0
    out = capsys.readouterr().out.splitlines()
    (problem,) = [line for line in out if line.startswith("not imported:")]
    assert problem.endswith(
        "2024/04/short-note-4.md: body: its HTML is nested more than 256 elements deep"
    )
    assert out[-1].startswith("created 24, updated 0, unchanged 0, left alone 0; skipped 8 (")
    assert "1 invalid" in out[-1]
    assert len(scan(store)) == 24


def test_a_post_larger_than_the_store_takes_is_reported_and_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The service rejects an article file over MAX_FILE_BYTES unread; the import must not
    # write one that the service would then refuse.
    huge = write_variant(
        EXPORT, tmp_path / "huge.xml", replace={"Note number 4.": "word " * 250_000}
    )
    store = wordpress_store(tmp_path / "store")
    assert run_import(store, huge) == 0
    out = capsys.readouterr().out.splitlines()
    (problem,) = [line for line in out if line.startswith("not imported:")]
    assert problem.endswith("2024/04/short-note-4.md: larger than 1048576 bytes")
    assert not (store.root / "2024" / "04" / "short-note-4.md").exists()
    assert len(scan(store)) == 24

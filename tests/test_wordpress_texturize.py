"""wptexturize as WordPress's feed shows it: the port against WordPress 6.1's own output, and
the imported titles and bodies against WordPress's own /feed/ (tests/fixtures/wordpress)."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from feedsvc.wordpress.content import post_html
from feedsvc.wordpress.texturize import WORDPRESS_SHORTCODES, texturize

from .checks import html_text
from .factories import make_app
from .wordpress import (
    FIXTURES,
    WORDPRESS_FEED_ALL,
    WXR_1_2,
    posts_by_title,
    run_import,
    wordpress_store,
)  # fmt: skip


def test_texturize_gives_what_wordpress_gives() -> None:
    cases = json.loads((FIXTURES / "texturize-cases.json").read_text(encoding="utf-8"))
    # WordPress's own shortcodes, and the [code] that texturize.php registers as plugins do.
    assert set(cases["shortcodes"]) == WORDPRESS_SHORTCODES | {"code"}
    assert len(cases["cases"]) >= 300
    for text, wordpress_output in cases["cases"]:
        assert texturize(text, cases["shortcodes"]) == wordpress_output, text


def test_texturize_rules() -> None:
    assert texturize("\"It's 5' 10\", isn't it?\" -- 1920x1080...") == (
        "&#8220;It&#8217;s 5&#8242; 10&#8243;, isn&#8217;t it?&#8221; &#8212; 1920&#215;1080&#8230;"
    )
    assert texturize("pages 10-20 - a--b") == "pages 10-20 &#8211; a&#8211;b"
    for element in ("pre", "code", "kbd", "style", "script", "tt"):
        assert texturize(f'<{element}>"x" -- y</{element}>"z"') == (
            f'<{element}>"x" -- y</{element}>&#8220;z&#8221;'
        )
    # A registered shortcode's tag keeps its quotes; its content does not.
    assert texturize('[caption id="1"]"a"[/caption]') == '[caption id="1"]&#8220;a&#8221;[/caption]'


def test_post_html_texturizes_text_but_not_shortcode_tags_or_pre() -> None:
    # As WordPress's img_caption_shortcode: the caption attribute as written, the caption
    # after the image texturized with the text.
    attribute = post_html('[caption caption="It\'s here"]<img src="a.jpg" />[/caption]\n\n"b"')
    assert attribute.html == (
        '<figure><img src="a.jpg" /><figcaption>It\'s here</figcaption></figure>\n'
        "<p>&#8220;b&#8221;</p>"
    )
    inline = post_html('[caption]<img src="a.jpg" /> It\'s here[/caption]')
    assert inline.html == (
        '<figure><img src="a.jpg" /><figcaption>It&#8217;s here</figcaption></figure>'
    )
    # [embed] is a link before the typography (WordPress: priority 8): the URL stays whole.
    embed = post_html("[embed]https://v.example/a--b...[/embed]")
    assert embed.html == (
        '<p><a href="https://v.example/a--b...">https://v.example/a&#8211;b&#8230;</a></p>'
    )
    assert post_html("<pre>'a' -- b</pre>\n\n'c'").html == (
        "<pre>'a' -- b</pre>\n<p>&#8216;c&#8217;</p>"
    )


def test_titles_and_excerpts_are_wordpress_feeds(tmp_path: Path) -> None:
    """Titles texturized as the_title makes them; a hand-written excerpt as written (the
    feed's the_excerpt_rss does not texturize)."""
    store = wordpress_store(tmp_path / "store", items_per_feed=100)
    assert run_import(store) == 0
    client = make_app(store, tmp_path / "state").test_client()
    ours = etree.fromstring(client.get("/feeds/all.rss").data)
    served = {item.findtext("guid"): item for item in ours.iter("item")}
    excerpts = {
        item.findtext("guid"): item.findtext(f"{{{WXR_1_2}excerpt/}}encoded")
        for item in posts_by_title().values()
    }
    wordpress = etree.parse(str(WORDPRESS_FEED_ALL)).getroot()
    titles = excerpts_compared = 0
    for item in wordpress.iter("item"):
        title = item.findtext("title") or ""
        if title.startswith("Protected: "):  # feedsvc: a draft, never served
            continue
        guid = item.findtext("guid")
        assert served[guid].findtext("title") == title
        titles += 1
        if excerpts.get(guid):
            ours_text = html_text(served[guid].findtext("description") or "").split()
            assert ours_text == html_text(item.findtext("description") or "").split()
            excerpts_compared += 1
    assert (titles, excerpts_compared) == (20, 2)
    typography = served["https://blog.example.com/2024/02/typography-quotes-dashes-and-an-ellipsis"]
    assert typography.findtext("title") == (
        "Typography: \u201cquotes\u201d, dashes \u2014 and an ellipsis\u2026"
    )
    assert 'keeps "straight" quotes -- as' in (typography.findtext("description") or "")

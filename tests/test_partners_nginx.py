"""deploy/nginx.conf with partner feeds, for real: nginx never answers a partner from its cache,
never stores a partner answer, passes a partner's validators through (304), and logs no token."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.cli import main
from feedsvc.partners import new_token

from .checks import check_feed
from .factories import Store
from .servers import requires_nginx
from .test_nginx import LONG_MAX_AGE, deployment

pytestmark = requires_nginx()

FEED = "/feeds/all.atom"


def test_nginx_keeps_partner_answers_out_of_its_cache_and_tokens_out_of_its_log(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    store.add("a.md", id="a", title="Public", category="culture", published="2025-03-01 10:00")
    store.add("b.md", id="b", title="Energy", category="energy", published="2025-03-02 10:00")
    partners_file = tmp_path / "partners.toml"
    monkeypatch.setenv("FEEDSVC_PARTNERS_FILE", str(partners_file))
    assert (
        main(["partner", "add", "acme", "--categories", "energy", "--store", str(store.root)]) == 0
    )
    token = capsys.readouterr().out.splitlines()[1].strip()
    env = LONG_MAX_AGE | {"FEEDSVC_PARTNERS_FILE": str(partners_file)}
    with deployment(store, tmp_path, env) as site:
        (feedsvc,) = site.instances
        public = site.nginx.get(FEED)
        assert (public.status, public.cache) == (200, "MISS")
        assert site.nginx.get(FEED).cache == "HIT"
        # A Bearer request never reaches the cache: not answered with the public copy, nor
        # stored (no X-Cache-Status: the cache was not asked).
        for _ in range(2):
            partner = site.nginx.get(FEED, {"Authorization": f"Bearer {token}"})
            assert (partner.status, partner.cache) == (200, "")
            assert [e.title for e in check_feed(partner.body).entries] == ["Energy"]
            assert partner.headers["Cache-Control"].startswith("private")
        # A partner polling with its validators gets feedsvc's 304, by Bearer and by URL.
        bearer = {"Authorization": f"Bearer {token}"}
        revalidated = site.nginx.get(FEED, bearer | {"If-None-Match": partner.headers["ETag"]})
        assert (revalidated.status, revalidated.body) == (304, b"")
        again = site.nginx.get(FEED)
        assert (again.cache, again.body) == ("HIT", public.body)
        # The partner address: every request reaches feedsvc, none is stored.
        path = f"/partners/{token}/feeds/all.atom"
        for _ in range(2):
            reply = site.nginx.get(path)
            assert (reply.status, reply.cache) == (200, "")
            assert [e.title for e in check_feed(reply.body).entries] == ["Energy"]
        polled = site.nginx.get(path, {"If-None-Match": reply.headers["ETag"]})
        assert (polled.status, polled.body) == (304, b"")
        redacted = "/partners/[redacted]/feeds/all.atom"
        assert feedsvc.statuses(redacted, at_least=3) == [200, 200, 304]
        assert feedsvc.statuses(FEED, at_least=4) == [200, 200, 200, 304]  # public, Bearer
        # An unknown token gets the body of an unknown feed.
        unknown = site.nginx.get(f"/partners/{new_token()}/feeds/all.atom")
        nothing = site.nginx.get("/feeds/nothing.atom")
        assert (
            (unknown.status, unknown.body) == (nothing.status, nothing.body) == (404, nothing.body)
        )
        assert site.nginx.get("/feeds/nothing.atom", {"Authorization": "Bearer x"}).status == 404
        nginx_log = (tmp_path / "nginx" / "access.log").read_text("utf-8")
        assert token not in nginx_log
        assert f'"GET {redacted} HTTP/1.1" 200' in nginx_log
    assert token not in feedsvc.access_log.read_text("utf-8")

"""deploy/nginx.conf for real: nginx (Debian package, installed by .ci/run) as a caching reverse
proxy in front of the README's production command, on 127.0.0.1."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from .checks import check_feed
from .factories import Store
from .servers import (
    NGINX,
    Gunicorn,
    fetch,
    free_port,
    production_server,
    requires_nginx,
    wait_until_listening,
    write_nginx_conf,
)

pytestmark = requires_nginx()

FEED = "/feeds/all.atom"
GZIP = {"Accept-Encoding": "gzip, deflate, br"}
# Long enough that nothing expires during a test that does not wait for it.
LONG_MAX_AGE = {"FEEDSVC_MAX_AGE": "300"}
# Short, for the tests that wait for copies to expire; the store is looked at on every request.
SHORT = 2
SHORT_MAX_AGE = {"FEEDSVC_MAX_AGE": str(SHORT), "FEEDSVC_RESCAN_INTERVAL": "0"}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def cache(self) -> str:
        return self.headers.get("X-Cache-Status", "")


@dataclass
class Nginx:
    base: str

    def get(self, target: str, headers: dict[str, str] | None = None) -> Reply:
        return Reply(*fetch(f"{self.base}{target}", headers))


@contextmanager
def running_nginx(folder: Path, upstreams: Sequence[Gunicorn]) -> Iterator[Nginx]:
    """nginx with deploy/nginx.conf in front of ``upstreams``, everything it writes in
    ``folder``, in the foreground (daemon off); always stopped."""
    assert NGINX is not None
    folder.mkdir()
    port = free_port()
    addresses = [gunicorn.base.removeprefix("http://") for gunicorn in upstreams]
    write_nginx_conf(folder, port, addresses)
    command = [NGINX, "-p", f"{folder}/", "-c", str(folder / "nginx.conf"), "-e", "stderr"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_listening(port, process, "nginx")
        yield Nginx(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()  # fast shutdown of the master and its workers
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


@dataclass
class Deployment:
    nginx: Nginx
    instances: list[Gunicorn]


@contextmanager
def deployment(
    store: Store, tmp_path: Path, env: dict[str, str], instances: int = 1
) -> Iterator[Deployment]:
    """``instances`` production servers, each over its own copy of the store and with its own
    state folder (as on separate machines), behind one nginx."""
    with ExitStack() as stack:
        servers = []
        for n in range(instances):
            root = store.root if n == 0 else tmp_path / f"store-{n}"
            if n > 0:
                shutil.copytree(store.root, root)
            servers.append(stack.enter_context(production_server(root, tmp_path / f"i{n}", env)))
        yield Deployment(stack.enter_context(running_nginx(tmp_path / "nginx", servers)), servers)


@pytest.fixture
def two_articles(store: Store) -> Store:
    store.add("a.md", id="a", title="First", published="2025-03-01 10:00")
    store.add("b.md", id="b", title="Second", published="2025-03-02 10:00")
    return store


def fresh_documents(count: int) -> list[str]:
    """Addresses of ``count`` documents other than FEED, each its own cache entry: archive
    months of the site feed after the articles' month (empty, but served)."""
    return [f"/feeds/all/archive/2025-{month:02d}.atom" for month in range(4, 4 + count)]


def titles(reply: Reply) -> list[str]:
    assert reply.status == 200
    return [entry.title for entry in check_feed(reply.body).entries]


T = TypeVar("T")


def until(condition: Callable[[], T | None], seconds: float) -> T:
    """Ask again (every 0.1 s) until ``condition`` returns something; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (found := condition()) is None:
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.1)
    return found


def test_a_second_request_is_served_by_the_cache(two_articles: Store, tmp_path: Path) -> None:
    with deployment(two_articles, tmp_path, LONG_MAX_AGE) as site:
        first = site.nginx.get(FEED)
        assert (first.status, first.cache) == (200, "MISS")
        assert titles(first) == ["Second", "First"]
        second = site.nginx.get(FEED)
        assert (second.status, second.cache, second.body) == (200, "HIT", first.body)
        assert second.headers["ETag"] == first.headers["ETag"]
        # feedsvc's Cache-Control reaches the client unchanged.
        assert second.headers["Cache-Control"] == "public, max-age=300"
        (feedsvc,) = site.instances
        assert feedsvc.statuses(FEED, at_least=1) == [200]
        # With feedsvc gone, the fresh copy is still served as it was.
        feedsvc.stop()
        third = site.nginx.get(FEED)
        assert (third.status, third.cache, third.body) == (200, "HIT", first.body)


def test_an_edit_reaches_clients_once_max_age_has_passed(
    two_articles: Store, tmp_path: Path
) -> None:
    with deployment(two_articles, tmp_path, SHORT_MAX_AGE) as site:
        before = site.nginx.get(FEED)
        assert titles(before) == ["Second", "First"]
        two_articles.add("a.md", id="a", title="Edited", published="2025-03-01 10:00")
        # The first request after max-age gets the held copy (STALE) and starts the refresh in
        # the background; the edit is served as soon as it is done.
        after = until(
            lambda: reply if titles(reply := site.nginx.get(FEED)) != titles(before) else None,
            SHORT + 8,
        )
        assert titles(after) == ["Second", "Edited"]
        assert after.headers["ETag"] != before.headers["ETag"]
        # feedsvc saw the first fetch and one refresh, which found new bytes.
        assert site.instances[0].statuses(FEED, at_least=2)[:2] == [200, 200]
        assert site.nginx.get(FEED).body == after.body


def test_query_strings_on_feeds_share_the_cache_entry_but_not_elsewhere(
    two_articles: Store, tmp_path: Path
) -> None:
    with deployment(two_articles, tmp_path, LONG_MAX_AGE) as site:
        first = site.nginx.get(FEED)
        tracked = site.nginx.get(f"{FEED}?utm_source=newsletter")
        assert (first.cache, tracked.cache) == ("MISS", "HIT")
        assert tracked.body == first.body
        # nginx merges the slashes of "//feeds/all.atom" before passing it on, so feedsvc sends
        # the feed; the copy goes under the path as the client wrote it, its own key (a MISS).
        doubled = site.nginx.get("//feeds/all.atom")
        assert (doubled.status, doubled.cache, doubled.body) == (200, "MISS", first.body)
        assert site.nginx.get("/").status == 200
        redirect = site.nginx.get("/?feed=atom")  # the query decides here: its own entry
        assert redirect.status == 301
        assert site.nginx.get("/").status == 200


def test_a_304_from_feedsvc_refreshes_the_cached_copy(two_articles: Store, tmp_path: Path) -> None:
    with deployment(two_articles, tmp_path, SHORT_MAX_AGE) as site:
        first = site.nginx.get(FEED)
        assert first.cache == "MISS"
        time.sleep(SHORT + 1)  # the copy has expired; nothing changed

        def refreshed() -> Reply | None:
            reply = site.nginx.get(FEED)
            # Until the refresh is done: the held copy, STALE or UPDATING.
            assert (reply.status, reply.body) == (200, first.body), reply.cache
            assert reply.headers["ETag"] == first.headers["ETag"]
            return reply if reply.cache in ("HIT", "REVALIDATED") else None

        until(refreshed, 8)
        # nginx asked with its validators, feedsvc answered 304 (never sending the feed again),
        # and that made the copy fresh: served as a HIT again.
        statuses = site.instances[0].statuses(FEED, at_least=2)
        assert statuses[0] == 200
        assert set(statuses[1:]) == {304}


def test_gzip_and_identity_clients_each_get_their_bytes_and_etag(
    two_articles: Store, tmp_path: Path
) -> None:
    with deployment(two_articles, tmp_path, LONG_MAX_AGE) as site:
        plain = site.nginx.get(FEED)  # urllib asks for identity
        zipped = site.nginx.get(FEED, GZIP)
        assert (plain.cache, zipped.cache) == ("MISS", "MISS")
        assert "Content-Encoding" not in plain.headers
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(zipped.body) == plain.body
        etag = plain.headers["ETag"]
        assert zipped.headers["ETag"] == etag[:-1] + '-gzip"'
        assert zipped.headers["Vary"] == plain.headers["Vary"] == "Accept-Encoding"

        # Every spelling of "gzip allowed" shares the gzip copy, the rest the identity copy.
        for accept in ("gzip", "br;q=1.0, gzip;q=0.8, *;q=0.1", "deflate, x-gzip"):
            reply = site.nginx.get(FEED, {"Accept-Encoding": accept})
            assert (reply.cache, reply.body) == ("HIT", zipped.body), accept
            assert reply.headers["ETag"] == zipped.headers["ETag"]
        for accept in ("gzip;q=0, deflate", "br", "*"):
            reply = site.nginx.get(FEED, {"Accept-Encoding": accept})
            assert (reply.cache, reply.body) == ("HIT", plain.body), accept
            assert "Content-Encoding" not in reply.headers
        assert site.instances[0].statuses(FEED, at_least=2) == [200, 200]
        # feedsvc is asked with the header the key stands for, not the client's: "*" would get
        # gzip from feedsvc, and the identity copy must never hold a gzip body.
        other = fresh_documents(1)[0]
        star = site.nginx.get(other, {"Accept-Encoding": "*"})
        assert star.cache == "MISS"
        assert "Content-Encoding" not in star.headers
        assert star.body.startswith(b"<?xml")
        assert site.nginx.get(other).body == star.body

        # Conditional GET from the client is answered by nginx from its copy.
        for headers, validator in (
            ({}, {"If-None-Match": etag}),
            (GZIP, {"If-None-Match": zipped.headers["ETag"]}),
            ({}, {"If-Modified-Since": plain.headers["Last-Modified"]}),
        ):
            reply = site.nginx.get(FEED, headers | validator)
            assert (reply.status, reply.body, reply.cache) == (304, b"", "HIT")
        # Each representation has its own strong ETag: the identity one does not match gzip.
        mismatch = site.nginx.get(FEED, GZIP | {"If-None-Match": etag})
        assert (mismatch.status, mismatch.body) == (200, zipped.body)
        assert site.instances[0].statuses(FEED, at_least=2) == [200, 200]


def test_two_instances_over_copies_of_one_store_serve_identical_bytes_and_etags(
    two_articles: Store, tmp_path: Path
) -> None:
    with deployment(two_articles, tmp_path, LONG_MAX_AGE, instances=2) as site:
        # Each target is a new cache key, so nginx's round robin alternates the instances.
        targets = fresh_documents(6)
        plain = [site.nginx.get(target) for target in targets]
        zipped = [site.nginx.get(target, GZIP) for target in targets]
        assert {r.cache for r in plain + zipped} == {"MISS"}
        a, b = site.instances
        # Whichever instance nginx asked, both would have sent the same bytes and validators.
        for target, replies in zip(targets, zip(plain, zipped, strict=True), strict=True):
            for reply, headers in zip(replies, ({}, GZIP), strict=True):
                for instance in (a, b):
                    _, direct_headers, direct = fetch(f"{instance.base}{target}", headers)
                    assert direct == reply.body
                    for name in ("ETag", "Last-Modified"):
                        assert direct_headers[name] == reply.headers[name]

        def answered() -> list[tuple[list[int], list[int]]] | None:
            # nginx's two requests per target, plus the two direct ones to each instance.
            seen = [(a.statuses(t), b.statuses(t)) for t in targets]
            return seen if all(len(x) + len(y) == 6 for x, y in seen) else None

        seen = until(answered, 10)
        assert any(len(x) > 2 for x, _ in seen)  # nginx asked a at least once
        assert any(len(y) > 2 for _, y in seen)  # and b
        # A client revalidates with the ETag it was given, whichever instance answers.
        for instance in (a, b):
            for reply, headers in ((plain[0], {}), (zipped[0], GZIP)):
                status, _, body = fetch(
                    f"{instance.base}{targets[0]}",
                    headers | {"If-None-Match": reply.headers["ETag"]},
                )
                assert (status, body) == (304, b"")


def test_nginx_keeps_serving_when_instances_die(two_articles: Store, tmp_path: Path) -> None:
    with deployment(two_articles, tmp_path, SHORT_MAX_AGE, instances=2) as site:
        cached = site.nginx.get(FEED)
        assert cached.cache == "MISS"
        a, b = site.instances
        a.stop()
        # New keys go to the living instance; the dead one's turns fail over to it.
        targets = fresh_documents(4)
        for target in targets:
            reply = site.nginx.get(target)
            assert (reply.status, reply.cache) == (200, "MISS")
        assert [b.statuses(t, at_least=1) for t in targets] == [[200]] * len(targets)
        assert not any(a.statuses(t) for t in targets)

        # With every instance gone, an expired copy is still served (stale); an address that
        # was never cached cannot be.
        b.stop()
        time.sleep(SHORT + 1)
        for _ in range(3):
            reply = site.nginx.get(FEED)
            assert (reply.status, reply.body) == (200, cached.body)
            assert reply.cache in ("STALE", "UPDATING")
        assert site.nginx.get(fresh_documents(5)[-1]).status == 502

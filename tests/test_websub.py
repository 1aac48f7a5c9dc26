"""WebSub notifications: which feeds a change touches (pure), and the notifier against a hub
that records what it is told: once per change, retried while the hub is down, kept across a
restart, sent by one process of several, and never started without hubs."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from flask import Flask

from feedsvc.catalog import Catalog
from feedsvc.model import FEED_FORMATS, Article, FeedKey, Scope, Site
from feedsvc.render import render_feed
from feedsvc.sanitize import MAX_HTML_DEPTH
from feedsvc.state import DATABASE_NAME, State
from feedsvc.timeline import visible
from feedsvc.websub.notifier import EXTENSION_KEY, Notifier
from feedsvc.websub.outbox import Moment
from feedsvc.websub.topics import changed_topics, topic_etags, touched_scopes

from .factories import (
    DEFAULT_NOW,
    Clock,
    Store,
    catalog_of,
    make_app,
    make_article,
    make_site,
    resolved,
)
from .servers import fetch, free_port, production_server

BASE = "https://news.example.com/feeds/"


def topics(*paths: str) -> set[str]:
    """Every format's topic URL of these feeds (paths below /feeds/, without extension)."""
    return {f"{BASE}{path}.{fmt}" for path in paths for fmt in FEED_FORMATS}


# Where an energy article in German by Ana Lima tagged LNG shows up.
NEW_ARTICLE = {"category": "energy", "tags": "[LNG]", "author": "Ana Lima", "language": "de"}
NEW_TOPICS = topics("all", "energy", "tag/lng", "author/ana-lima", "lang/de")
# Then a culture article in English tagged LNG: each topic announced once per change.
SECOND_ARTICLE = {"category": "culture", "tags": "[LNG]"}
TWO_CHANGES = Counter(NEW_TOPICS) + Counter(topics("all", "culture", "tag/lng", "lang/en"))


# --- the pure core ----------------------------------------------------------------------


def etags(site: Site, catalog: Catalog, scopes: Iterable[Scope]) -> dict[str, str]:
    """topic_etags over the documents of ``catalog``, rendered in memory."""

    def etag_of(key: FeedKey) -> str | None:
        document = catalog.document(key)
        if document is None:
            return None
        return hashlib.sha256(render_feed(site, resolved(document))).hexdigest()

    return topic_etags(site, scopes, etag_of)


def changes(site: Site, old: Catalog | None, new: Catalog, announced: dict[str, str]) -> set[str]:
    current = etags(site, new, touched_scopes(site, old, new))
    return set(changed_topics(announced, current))


def test_a_new_article_touches_its_feeds_in_every_format() -> None:
    site = make_site(categories={"technology": {}, "energy": {}})
    a, b = make_article(site, 1), make_article(site, 2, author="Bo Li", tags="[chips]")
    old = catalog_of(site, [b, a])
    new_article = make_article(site, 3, **NEW_ARTICLE)
    new = catalog_of(site, [new_article, b, a])
    assert touched_scopes(site, old, new) == {
        Scope("site", "all"),
        Scope("category", "energy"),
        Scope("tag", "lng"),
        Scope("author", "ana-lima"),
        Scope("lang", "de"),
    }
    announced = etags(site, old, touched_scopes(site, None, old))
    assert changes(site, old, new, announced) == NEW_TOPICS
    # Removing it again changes the same feeds back; the ones that vanish have nothing to fetch.
    assert changes(
        site, new, old, {**announced, **etags(site, new, {Scope("site", "all")})}
    ) == topics("all")


def test_an_edit_outside_the_newest_items_changes_no_subscription_feed() -> None:
    site = make_site(items_per_feed=1)
    a, b = make_article(site, 1), make_article(site, 2)
    edited = make_article(site, 1, body="Edited.")
    assert touched_scopes(site, catalog_of(site, [b, a]), catalog_of(site, [b, edited])) == set()
    # Within the newest items it does.
    edited_b = make_article(site, 2, body="Edited.")
    old, new = catalog_of(site, [b, a]), catalog_of(site, [edited_b, a])
    announced = etags(site, old, touched_scopes(site, None, old))
    assert changes(site, old, new, announced) == topics(
        "all", "technology", "tag/chips", "tag/research", "author/jane-doe", "lang/en"
    )


def test_a_scheduled_article_falling_due_is_a_change() -> None:
    site = make_site()
    now = DEFAULT_NOW
    articles: list[Article] = [
        make_article(site, 1),
        make_article(site, 2, published="2025-06-05 10:00", tags="[later]", author=None),
    ]
    before = Catalog(site, visible(articles, now, site.timezone))
    after = Catalog(site, visible(articles, now + timedelta(days=5), site.timezone))
    announced = etags(site, before, touched_scopes(site, None, before))
    assert changes(site, before, after, announced) == topics(
        "all", "technology", "tag/later", "lang/en"
    )


def test_the_same_bytes_are_no_change() -> None:
    site = make_site()
    catalog = catalog_of(site, [make_article(site, 1)])
    again = catalog_of(site, [make_article(site, 1)])  # equal records, new objects
    announced = etags(site, catalog, touched_scopes(site, None, catalog))
    assert changes(site, catalog, again, announced) == set()
    assert changes(site, None, again, announced) == set()


# --- a hub that records what it is told --------------------------------------------------


class RecordingHub:
    """An HTTP server standing in for a hub: records each publish request's form fields that
    it accepts; the first ``refuse`` requests get a 503 instead."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/hub"
        self.requests: list[dict[str, list[str]]] = []
        self.refuse = 0
        self.refused = 0
        self._lock = threading.Lock()

    @contextmanager
    def up(self) -> Iterator[RecordingHub]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = parse_qs(self.rfile.read(length).decode("ascii"))
                with hub._lock:
                    accept = hub.refused >= hub.refuse
                    if accept:
                        hub.requests.append(form)
                    else:
                        hub.refused += 1
                self.send_response(204 if accept else 503)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)

    def published(self) -> Counter[str]:
        """How often each topic was announced."""
        with self._lock:
            forms = list(self.requests)
        for form in forms:
            assert form["hub.mode"] == ["publish"]
            assert form["hub.url"] == form["hub.topic"]
        return Counter(url for form in forms for url in form["hub.url"])


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def wait_for_baseline(state_dir: Path) -> None:
    """Until the notifier has recorded the feeds as they are (its first run announces nothing)."""
    wait_for(
        lambda: (state_dir / DATABASE_NAME).exists() and State(state_dir).announced() != {},
        "the baseline",
    )


def notifier(app: Flask) -> Notifier:
    found: Notifier = app.extensions[EXTENSION_KEY]
    return found


@pytest.fixture
def hub() -> RecordingHub:
    return RecordingHub(free_port())


@pytest.fixture
def apps() -> Iterator[list[Flask]]:
    """Apps a test makes; their notifiers are always stopped."""
    made: list[Flask] = []
    yield made
    for app in made:
        notifier(app).stop()


def start_app(
    apps: list[Flask], store: Store, state_dir: Path, hub: RecordingHub, clock: Clock | None = None
) -> Flask:
    app = make_app(store, state_dir, clock, HUB_URLS=hub.url, WEBSUB_RETRY_DELAY=0.05)
    apps.append(app)
    # A process notifies once it serves (the one request of these tests; gunicorn's workers
    # do at once after the fork).
    assert app.test_client().get("/healthz").status_code == 200
    return app


def pending_in_state_file(state_dir: Path) -> list[tuple[str, str, float]]:
    return State(state_dir).pending()


def websub_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "feedsvc-websub"]


def test_no_hub_urls_no_notifier(store: Store, state_dir: Path) -> None:
    before = len(websub_threads())
    configs: list[dict[str, Any]] = [
        {},
        {"HUB_URLS": "http://127.0.0.1:9/", "WEBSUB_NOTIFY": "false"},
    ]
    for config in configs:
        app = make_app(store, state_dir, None, **config)
        assert EXTENSION_KEY not in app.extensions
    assert len(websub_threads()) == before
    assert State(state_dir).announced() == {}


def test_an_added_article_is_announced_once_per_topic_without_another_request(
    store: Store, state_dir: Path, hub: RecordingHub, apps: list[Flask]
) -> None:
    store.add(id="a")
    with hub.up():
        app = start_app(apps, store, state_dir, hub)
        wait_for_baseline(state_dir)
        assert hub.published() == Counter()  # the first run only records what is there
        store.add(id="n", **NEW_ARTICLE)
        wait_for(lambda: set(hub.published()) == NEW_TOPICS, "the announcements")
        # A second change is announced after the first: by then, every first one was sent.
        store.add(id="m", **SECOND_ARTICLE)
        wait_for(lambda: hub.published() == TWO_CHANGES, f"the second change {hub.published()}")
    counts = hub.published()
    assert counts == TWO_CHANGES
    assert notifier(app).pending() == []
    assert app.test_client().get("/feeds/all.rss").status_code == 200


def test_a_request_that_sees_the_change_wakes_the_notifier(
    store: Store, state_dir: Path, hub: RecordingHub, apps: list[Flask]
) -> None:
    store.add(id="a")
    with hub.up():
        app = start_app(apps, store, state_dir, hub)
        wait_for_baseline(state_dir)
        store.add(id="n", **NEW_ARTICLE)
        assert app.test_client().get("/feeds/all.json").status_code == 200
        wait_for(lambda: set(hub.published()) == NEW_TOPICS, "the announcements")


def test_a_hub_that_is_down_gets_every_notification_when_it_is_back(
    store: Store,
    state_dir: Path,
    hub: RecordingHub,
    apps: list[Flask],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "feedsvc.websub")
    store.add(id="a")
    app = start_app(apps, store, state_dir, hub)
    wait_for_baseline(state_dir)
    store.add(id="n", **NEW_ARTICLE)
    wait_for(lambda: len(pending_in_state_file(state_dir)) == len(NEW_TOPICS), "the queue")
    wait_for(lambda: f"WebSub hub {hub.url} failed" in caplog.text, "a failed attempt")
    assert "Connection refused" in caplog.text
    # The service goes on serving meanwhile.
    assert app.test_client().get("/feeds/energy.rss").status_code == 200
    with hub.up():
        wait_for(lambda: notifier(app).pending() == [], "the retries")
    assert hub.published() == Counter(dict.fromkeys(NEW_TOPICS, 1))
    assert pending_in_state_file(state_dir) == []


def test_a_hub_answering_an_error_is_retried(
    store: Store,
    state_dir: Path,
    hub: RecordingHub,
    apps: list[Flask],
    caplog: pytest.LogCaptureFixture,
) -> None:
    store.add(id="a")
    hub.refuse = 3
    with hub.up():
        app = start_app(apps, store, state_dir, hub)
        wait_for_baseline(state_dir)
        store.add(id="n", **NEW_ARTICLE)
        wait_for(lambda: set(hub.published()) == NEW_TOPICS, "the announcements")
        wait_for(lambda: notifier(app).pending() == [], "an empty queue")
    assert hub.refused == 3
    assert hub.published() == Counter(dict.fromkeys(NEW_TOPICS, 1))
    assert f"WebSub hub {hub.url} failed (HTTP 503 Service Unavailable)" in caplog.text


def test_an_article_whose_text_fails_is_taken_back_and_not_announced(
    store: Store, state_dir: Path, hub: RecordingHub, apps: list[Flask]
) -> None:
    # Texts of the first scan are rendered on first use (store.py): with no request yet, the
    # notifier is the first to need this one.
    too_deep = "<div>" * (MAX_HTML_DEPTH + 1) + "deep" + "</div>" * (MAX_HTML_DEPTH + 1)
    store.add(id="a")
    store.add("deep.md", id="deep", tags="[deep]", body=too_deep)
    with hub.up():
        app = start_app(apps, store, state_dir, hub)
        wait_for_baseline(state_dir)
        store.add(id="n", **NEW_ARTICLE)
        wait_for(lambda: set(hub.published()) == NEW_TOPICS, "the announcements")
        wait_for(lambda: notifier(app).pending() == [], "an empty queue")
    assert hub.published() == Counter(NEW_TOPICS)
    assert "deep.md" in {p.path for p in app.extensions["feedsvc"].problems}


def test_pending_notifications_survive_a_restart(
    store: Store, state_dir: Path, hub: RecordingHub, apps: list[Flask]
) -> None:
    store.add(id="a")
    first = start_app(apps, store, state_dir, hub)
    wait_for_baseline(state_dir)
    store.add(id="n", **NEW_ARTICLE)
    wait_for(lambda: len(pending_in_state_file(state_dir)) == len(NEW_TOPICS), "the queue")
    notifier(first).stop()
    with hub.up():
        second = start_app(apps, store, state_dir, hub)
        wait_for(lambda: notifier(second).leader and notifier(second).pending() == [], "delivery")
    assert hub.published() == Counter(dict.fromkeys(NEW_TOPICS, 1))


def test_a_process_that_does_not_serve_never_notifies(
    store: Store, state_dir: Path, hub: RecordingHub, apps: list[Flask]
) -> None:
    # Like gunicorn's preloading master: it builds the app and forks, and never serves.
    idle = make_app(store, state_dir, HUB_URLS=hub.url)
    apps.append(idle)
    assert notifier(idle).running
    serving = start_app(apps, store, state_dir, hub)
    wait_for(lambda: notifier(serving).leader, "the serving process to take the lock")
    assert not notifier(idle).leader


def test_of_two_notifiers_on_one_state_folder_one_notifies_and_the_other_takes_over(
    store: Store, state_dir: Path, hub: RecordingHub, apps: list[Flask]
) -> None:
    store.add(id="a")
    with hub.up():
        one = start_app(apps, store, state_dir, hub)
        two = start_app(apps, store, state_dir, hub)
        wait_for_baseline(state_dir)
        leaders = [app for app in (one, two) if notifier(app).leader]
        assert len(leaders) == 1
        (other,) = {one, two} - set(leaders)
        store.add(id="n", **NEW_ARTICLE)
        wait_for(lambda: set(hub.published()) == NEW_TOPICS, "the announcements")
        # The leader goes away; a change made before the other takes over is not lost.
        notifier(leaders[0]).stop()
        store.add(id="m", **SECOND_ARTICLE)
        wait_for(lambda: notifier(other).leader, "the other to take over")
        wait_for(lambda: hub.published() == TWO_CHANGES, f"the second change {hub.published()}")
        assert notifier(other).pending() == []
    counts = hub.published()
    assert counts == TWO_CHANGES


def test_a_scheduled_article_is_announced_when_it_falls_due(
    store: Store, state_dir: Path, hub: RecordingHub, apps: list[Flask]
) -> None:
    clock = Clock()
    store.add(id="a")
    store.add(id="later", published="2025-06-05 10:00", tags="[later]")
    with hub.up():
        start_app(apps, store, state_dir, hub, clock)
        wait_for_baseline(state_dir)
        clock.advance(days=5)  # no file changes: only time passes
        wait_for(
            lambda: set(hub.published()) == topics("all", "technology", "tag/later", "lang/en"),
            "the announcements",
        )


def test_a_notification_is_given_up_after_the_retry_window(
    store: Store, state_dir: Path, hub: RecordingHub, caplog: pytest.LogCaptureFixture
) -> None:
    store.add(id="a")
    app = make_app(
        store, state_dir, HUB_URLS=hub.url, WEBSUB_RETRY_DELAY=0.05, WEBSUB_RETRY_WINDOW=0
    )
    try:
        assert app.test_client().get("/healthz").status_code == 200  # it serves
        wait_for_baseline(state_dir)
        store.add(id="n", **NEW_ARTICLE)
        wait_for(lambda: "WebSub: gave up telling" in caplog.text, "giving up")
        wait_for(lambda: notifier(app).pending() == [], "an empty queue")
    finally:
        notifier(app).stop()


def test_gunicorn_workers_notify_once(store: Store, tmp_path: Path, hub: RecordingHub) -> None:
    """The production command (preloaded master, two workers, one state folder): each
    change is announced once, whichever process sees it first."""
    store.add(id="a")
    env = {"FEEDSVC_HUB_URLS": hub.url, "FEEDSVC_WEBSUB_RETRY_DELAY": "0.05"}
    with hub.up(), production_server(store.root, tmp_path / "home", env) as server:
        state = tmp_path / "home" / "state"
        wait_for_baseline(state)
        store.add(id="n", **NEW_ARTICLE)
        for _ in range(8):  # requests reach both workers, which rescan and see the change too
            assert fetch(f"{server.base}/feeds/all.rss")[0] == 200
        wait_for(lambda: set(hub.published()) == NEW_TOPICS, "the announcements")
        store.add(id="m", **SECOND_ARTICLE)
        for _ in range(8):
            assert fetch(f"{server.base}/feeds/all.rss")[0] == 200
        wait_for(lambda: hub.published() == TWO_CHANGES, f"the second change {hub.published()}")
        wait_for(lambda: pending_in_state_file(state) == [], "an empty queue")
    counts = hub.published()
    assert counts == TWO_CHANGES


@dataclass
class Clocks:
    """Both clocks of a notifier, moved by hand."""

    now: Moment = field(default_factory=lambda: Moment(wall=1_750_000_000.0, monotonic=100.0))

    def __call__(self) -> Moment:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now = Moment(self.now.wall + seconds, self.now.monotonic + seconds)


def test_a_notification_waits_until_every_worker_serves_the_change(
    store: Store, state_dir: Path, hub: RecordingHub
) -> None:
    store.add(id="a")
    # The app's own notifier is off; this one runs round by round on clocks of its own, with
    # workers that look at the store once an hour.
    app = make_app(
        store, state_dir, HUB_URLS=hub.url, WEBSUB_NOTIFY="false", WEBSUB_RETRY_DELAY=0.05
    )
    assert EXTENSION_KEY not in app.extensions
    assert app.test_client().get("/healthz").status_code == 200  # it serves
    service = app.extensions["feedsvc"]
    clocks = Clocks()
    watched = Notifier(service, settle=3600, clock=clocks)
    try:
        with hub.up():
            watched.run_once()  # elected; the baseline
            assert watched.leader
            assert State(state_dir).announced() != {}
            store.add(id="n", **NEW_ARTICLE)

            def change_pending() -> bool:
                watched.run_once()
                return {p.topic for p in watched.pending()} == NEW_TOPICS

            wait_for(change_pending, "the change to be queued")
            clocks.advance(3599)
            watched.run_once()
            assert hub.published() == Counter()
            assert len(pending_in_state_file(state_dir)) == len(NEW_TOPICS)
            clocks.advance(1)
            watched.run_once()
            assert hub.published() == Counter(dict.fromkeys(NEW_TOPICS, 1))
            assert watched.pending() == []
            assert pending_in_state_file(state_dir) == []
    finally:
        watched.stop()

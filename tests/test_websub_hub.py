"""WebSub end to end against a real hub (tests/websub_hub.py: flask-websub with a Celery
worker and Redis from Debian), all on 127.0.0.1: a subscriber subscribes through the hub to
feedsvc's topics, an article is added to the store, feedsvc (the production command) tells
the hub, the hub fetches the topic from feedsvc and delivers it to the subscriber."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from feedsvc.state import DATABASE_NAME, State

from .checks import check_feed, check_json_feed
from .factories import Store
from .servers import REPO, free_port, start_gunicorn, wait_until_listening

REDIS = shutil.which("redis-server", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin"]))
HUB_INSTALLED = importlib.util.find_spec("flask_websub") is not None
if os.environ.get("CI") and (REDIS is None or not HUB_INSTALLED):
    pytest.fail("redis-server and flask-websub are needed: .ci/run installs them", pytrace=False)
pytestmark = pytest.mark.skipif(
    REDIS is None or not HUB_INSTALLED, reason="redis-server or flask-websub is not installed"
)

CELERY = Path(sys.executable).parent / "celery"
TIMEOUT = 60  # seconds for anything to arrive: a Celery worker on two shared cores


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class RealHub:
    """The hub's three processes; the endpoint can be stopped and started again."""

    folder: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    endpoint: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hub"

    def start_endpoint(self) -> None:
        command = [sys.executable, "-m", "tests.websub_hub", str(self.port)]
        with (self.folder / "endpoint.log").open("ab") as log:
            self.endpoint = subprocess.Popen(
                command, cwd=REPO, env=self.env, stdout=log, stderr=log
            )
        wait_until_listening(self.port, self.endpoint, "the hub endpoint")

    def stop_endpoint(self) -> None:
        if self.endpoint is not None:
            stop(self.endpoint)
            self.endpoint = None

    def subscriptions(self, topic: str) -> int:
        with sqlite3.connect(self.env["WEBSUB_HUB_DB"]) as db:
            row = db.execute("select count(*) from hub where topic_url = ?", (topic,)).fetchone()
        return int(row[0])


@pytest.fixture(scope="module")
def real_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealHub]:
    assert REDIS is not None
    folder = tmp_path_factory.mktemp("hub")
    redis_port = free_port()
    with (folder / "redis.log").open("ab") as redis_log:
        redis = subprocess.Popen(
            [REDIS, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            stdout=redis_log, stderr=redis_log,
        )  # fmt: skip
    env = {
        **os.environ,
        "WEBSUB_HUB_BROKER": f"redis://127.0.0.1:{redis_port}/0",
        "WEBSUB_HUB_DB": str(folder / "subscriptions.sqlite"),
    }
    hub = RealHub(folder, env)
    # One task at a time: the hub then fetches one topic at a time. A feedsvc worker answers
    # a request that arrives while another request rescans the store with the view from
    # before the scan (service.py), so fetches of several topics at the same moment, right
    # after a change, could get a stale document (README, "Push (WebSub)").
    with (folder / "worker.log").open("ab") as worker_log:
        worker = subprocess.Popen(
            [str(CELERY), "-A", "tests.websub_hub", "worker", "--pool=threads",
             "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel=INFO"],
            cwd=REPO, env=env, stdout=worker_log, stderr=worker_log,
        )  # fmt: skip
    try:
        wait_until_listening(redis_port, redis, "redis-server")
        hub.start_endpoint()
        yield hub
    finally:
        hub.stop_endpoint()
        stop(worker)
        stop(redis)


@dataclass
class Delivery:
    topic: str
    headers: dict[str, str]
    body: bytes


class Subscriber:
    """A WebSub subscriber (section 5.3 and 7): answers the hub's verification with the
    challenge, and keeps each content distribution it receives."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.verified: list[str] = []
        self._lock = threading.Lock()

    @contextmanager
    def listening(self) -> Iterator[str]:
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                challenge = query["hub.challenge"][0].encode()
                with subscriber._lock:
                    subscriber.verified.append(query["hub.topic"][0])
                self.send_response(200)
                self.send_header("Content-Length", str(len(challenge)))
                self.end_headers()
                self.wfile.write(challenge)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                topic = urlsplit(self.path).path.removeprefix("/callback")
                with subscriber._lock:
                    subscriber.deliveries.append(Delivery(topic, dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}/callback"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)

    def received(self, path: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.topic == path]


def subscribe(hub: RealHub, callback: str, topic: str) -> None:
    """Subscribe through the hub (section 5.1), one callback URL per topic path."""
    form = {
        "hub.mode": "subscribe",
        "hub.topic": topic,
        "hub.callback": callback + urlsplit(topic).path,
    }
    request = urllib.request.Request(hub.url, data=urlencode(form).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    wait_for(lambda: hub.subscriptions(topic) == 1, f"the subscription to {topic}")


@contextmanager
def feedsvc(store: Store, home: Path, hub: RealHub) -> Iterator[str]:
    """The production command, with its base URL on this machine so the hub can fetch."""
    home.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"FEEDSVC_BASE_URL": base, "FEEDSVC_HUB_URLS": hub.url,
           "FEEDSVC_WEBSUB_RETRY_DELAY": "0.2"}  # fmt: skip
    stderr: IO[bytes]
    with (home / "feedsvc.log").open("wb") as stderr:
        process = start_gunicorn(store.root, home, port, env=env, stderr=stderr)
    try:
        wait_until_listening(port, process, "gunicorn")
        state = home / "state"
        wait_for(
            lambda: (state / DATABASE_NAME).exists() and State(state).announced() != {},
            "the notifier's baseline",
        )
        yield base
    finally:
        stop(process)
    # The master builds the app and forks the workers; it never serves, so a worker notifies.
    log = (home / "feedsvc.log").read_text()
    assert "notifies the hubs" in log
    assert f"(pid {process.pid}) notifies" not in log


def test_a_subscriber_receives_a_new_article_through_the_hub(
    store: Store, tmp_path: Path, real_hub: RealHub
) -> None:
    store.add(id="a", title="Older")
    subscriber = Subscriber()
    with subscriber.listening() as callback, feedsvc(store, tmp_path / "home", real_hub) as base:
        atom, tag_json = f"{base}/feeds/all.atom", f"{base}/feeds/tag/lng.json"
        subscribe(real_hub, callback, atom)
        subscribe(real_hub, callback, tag_json)  # a feed that does not exist yet
        store.add(id="n", title="Pushed", category="energy", tags="[LNG]")
        wait_for(lambda: bool(subscriber.received("/feeds/all.atom")), "the Atom delivery")
        wait_for(lambda: bool(subscriber.received("/feeds/tag/lng.json")), "the JSON delivery")
    (delivery,) = subscriber.received("/feeds/all.atom")
    assert [e.title for e in check_feed(delivery.body).entries] == ["Pushed", "Older"]
    # The hub passes on feedsvc's headers: the topic names itself and its hub.
    assert f'<{atom}>; rel="self"' in delivery.headers["Link"]
    assert f'<{real_hub.url}>; rel="hub"' in delivery.headers["Link"]
    (delivery,) = subscriber.received("/feeds/tag/lng.json")
    assert [item["title"] for item in check_json_feed(delivery.body)["items"]] == ["Pushed"]


def test_a_hub_that_was_down_still_delivers_the_change(
    store: Store, tmp_path: Path, real_hub: RealHub
) -> None:
    store.add(id="a", title="Older")
    subscriber = Subscriber()
    home = tmp_path / "home"
    with subscriber.listening() as callback, feedsvc(store, home, real_hub) as base:
        rss = f"{base}/feeds/all.rss"
        subscribe(real_hub, callback, rss)
        real_hub.stop_endpoint()
        try:
            store.add(id="n", title="While the hub was down")
            log = home / "feedsvc.log"
            wait_for(lambda: f"WebSub hub {real_hub.url} failed" in log.read_text(), "a failure")
        finally:
            real_hub.start_endpoint()
        wait_for(lambda: bool(subscriber.received("/feeds/all.rss")), "the delivery")
    (delivery,) = subscriber.received("/feeds/all.rss")
    titles = [e.title for e in check_feed(delivery.body).entries]
    assert titles == ["While the hub was down", "Older"]

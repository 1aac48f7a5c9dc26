"""Small builders for stores, apps and readers of what we serve."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import feedparser
import html5lib
import pytest
from flask import Flask
from lxml import etree
from werkzeug.serving import make_server

from feedsvc import create_app
from feedsvc.catalog import Catalog, FeedDocument
from feedsvc.keeper import KeeperPolicy
from feedsvc.model import FEED_FORMATS, Article, ArticleText, Month, Site, parse_feed_path
from feedsvc.render import render_feed
from feedsvc.sanitize import xml_safe
from feedsvc.service import Policy
from feedsvc.settings import build_site, load_settings
from feedsvc.state import State
from feedsvc.store import ScanPolicy, StoreReader, article_text, parse_article
from feedsvc.timeline import Timeline, visible

from .conformance import atom_violations, duplicate_violations, rss_violations
from .jsonfeed_schema import json_feed_violations

# nginx lives in /usr/sbin, which a user's PATH may lack.
NGINX = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))


def requires_nginx() -> pytest.MarkDecorator:
    """Skip without nginx, except in CI, where a missing nginx is a failure (.ci/run installs
    it). Called when a test module that runs nginx is imported."""
    if NGINX is None and os.environ.get("CI"):
        pytest.fail("nginx is not installed: .ci/run installs it", pytrace=False)
    return pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


SITE_TOML = """\
title = "Test Wire"
description = "Test news"
base_url = "https://news.example.com"
language = "en"
timezone = "Europe/Berlin"
tag_authority = "news.example.com"
tag_date = "2025-01-01"
items_per_feed = {items_per_feed}

[categories.technology]
title = "Technology"
description = "Chips and code"

[categories.energy]
title = "Energy"
description = "Power and fuel"

[categories.culture]
title = "Culture"
description = "Music and film"
"""

# Later than every test article, so all of them are published unless a test says otherwise.
DEFAULT_NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def front_matter(fields: Mapping[str, object]) -> str:
    lines = ["---"]
    for key, value in fields.items():
        if value is None:
            continue
        lines.append(f"{key}: {value}")
    lines.append("---")
    return "\n".join(lines) + "\n"


@dataclass
class Store:
    """An article store in a temporary folder."""

    root: Path
    items_per_feed: int = 50
    counter: int = 0

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.write_site()

    def write_site(self, text: str | None = None) -> None:
        site = text if text is not None else SITE_TOML.format(items_per_feed=self.items_per_feed)
        (self.root / "site.toml").write_text(site, encoding="utf-8")

    def add(
        self,
        name: str | None = None,
        *,
        body: str = "Body text of the article.",
        **fields: object,
    ) -> Path:
        """Write an article; fields override sensible defaults (None leaves a field out)."""
        self.counter += 1
        defaults: dict[str, object] = {
            "id": f"article-{self.counter}",
            "title": f'"Article {self.counter}"',
            "published": f"2025-03-{self.counter % 28 + 1:02d} 09:30",
            "category": "technology",
        }
        defaults.update(fields)
        path = self.root / (name or f"article-{self.counter}.md")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.write(path, front_matter(defaults) + body)
        return path

    def write(self, path: Path, text: str | bytes) -> None:
        """Write and make sure the stamp changes even within the file system's time resolution."""
        old = path.stat().st_mtime_ns if path.exists() else None
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        if old is not None:
            bumped = max(path.stat().st_mtime_ns, old + 1_000_000_000)
            os.utime(path, ns=(bumped, bumped))


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default=DEFAULT_NOW)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_app(
    store: Store,
    state_dir: Path,
    clock: Clock | None = None,
    *,
    policy: Policy | None = None,
    **config: Any,
) -> Flask:
    settings: dict[str, object] = {
        "ARTICLES_DIR": str(store.root),
        "STATE_DIR": str(state_dir),
        "RESCAN_INTERVAL": 0,
        "TESTING": True,
    }
    settings.update(config)
    return create_app(settings, clock=clock or Clock(), policy=policy)


def parse_xml(body: bytes) -> etree._Element:
    """Strict XML parsing: no recover mode, no network, no entities. An RSS, Atom or OPML
    document must also repeat no element allowed once, wherever a test reads it."""
    parser = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
    document = etree.fromstring(body, parser)
    repeated = duplicate_violations(document)
    assert repeated == [], repeated
    return document


def check_feed(body: bytes) -> Any:
    """Everything a feed we serve must pass: strict XML, our RFC 4287 / RSS 2.0 checks, and
    feedparser with bozo 0. Returns what feedparser read."""
    document = parse_xml(body)
    violations = (
        atom_violations(document) if document.tag.startswith("{") else rss_violations(document)
    )
    assert violations == []
    return read_feed(body)


def check_json_feed(body: bytes) -> Any:
    """Everything a JSON Feed we serve must pass: UTF-8 JSON, our JSON Feed 1.1 schema, unique
    item ids. Returns the decoded document."""
    document = json.loads(body.decode("utf-8"))
    assert json_feed_violations(document) == []
    ids = [item["id"] for item in document["items"]]
    assert len(ids) == len(set(ids))
    return document


def check_document(body: bytes, fmt: str) -> list[tuple[str, str]]:
    """Check a feed document of any format; returns its items as (id, title) pairs."""
    if fmt == "json":
        return [(item["id"], item["title"]) for item in check_json_feed(body)["items"]]
    return [(entry.id, entry.title) for entry in check_feed(body).entries]


def read_feed(body: bytes) -> Any:
    """What a real feed client reads; bozo must be 0 (a well-formed, valid-looking feed)."""
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def make_site(**overrides: object) -> Site:
    """A site built in memory, for tests of the pure layers."""
    table: dict[str, object] = {
        "title": "Test Wire",
        "description": "Test news",
        "base_url": "https://news.example.com",
        "tag_authority": "news.example.com",
        "tag_date": "2025-01-01",
        "categories": {"technology": {"title": "Technology", "description": "Chips"}},
    }
    table.update(overrides)
    return build_site(table)


def make_article(site: Site, n: int = 1, body: str = "Body *text*.", **fields: object) -> Article:
    """Article ``n`` (published 2025-03-n), parsed as the store would; fields override."""
    values: dict[str, object] = {
        "id": f"id-{n}",
        "title": f'"Title {n}"',
        "published": f"2025-03-{n:02d} 09:30",
        "category": "technology",
        "author": "Jane Doe",
        "tags": "[chips, research]",
    }
    values.update(fields)
    article, text = parse_article(front_matter(values) + body, path=f"{n}.md", site=site)
    TEXTS[article.version] = text
    return article


def scan_policy(**fields: Any) -> Policy:
    """The service's policy with these ScanPolicy fields."""
    return Policy(keeper=KeeperPolicy(scan=ScanPolicy(**fields)))


def store_reader(root: Path, policy: ScanPolicy | None = None) -> StoreReader:
    """A reader of the store at ``root``, with a state database of its own beside it."""
    settings = load_settings({"ARTICLES_DIR": str(root)})
    state = State(Path(tempfile.mkdtemp(prefix="state-", dir=root.parent)))
    return StoreReader(settings.articles_dir, settings.site, state, policy)


def text_of(reader: StoreReader, article: Article) -> ArticleText:
    """The text of an article version a reader listed, rendered from the bytes it keeps (and
    remembered for documents rendered in memory)."""
    text = TEXTS[article.version] = article_text(reader.version_bytes(article), article)
    return text


# The text of every article version make_article parsed, by version: documents rendered in
# memory are resolved from here, as the service resolves them from the state database.
TEXTS: dict[str, ArticleText] = {}


def resolved(document: FeedDocument) -> FeedDocument:
    """``document`` with the texts of its articles (all made by make_article)."""
    return replace(document, texts={a.id: TEXTS[a.version] for a in document.articles})


class StatusLog:
    """WSGI middleware that records each response's status code."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.codes: list[int] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def recording(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            self.codes.append(int(status.split()[0]))
            return start_response(status, headers, *args)

        return self.app(environ, recording)


@contextmanager
def serving(app: Callable[..., Iterable[bytes]]) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


# The README's production command, started for real (tests/test_production.py, test_nginx.py).

REPO = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Redirects point at base_url, which is not this machine: never follow them.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def start_gunicorn(
    store_root: Path,
    home: Path,
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    stdout: IO[bytes] | int = subprocess.DEVNULL,
    stderr: IO[bytes] | int = subprocess.PIPE,
) -> subprocess.Popen[bytes]:
    """``gunicorn -c deploy/gunicorn.conf.py wsgi:app`` from the repository root, serving
    ``store_root`` on 127.0.0.1:``port`` with its state folder in ``home``; ``env`` adds or
    overrides FEEDSVC_* variables. The access log goes to ``stdout``, errors to ``stderr``
    (a pipe unless given: a long run must pass a file, or a full pipe stops the server)."""
    return subprocess.Popen(
        [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        cwd=REPO,
        env={
            **os.environ,
            "HOME": str(home),  # gunicorn keeps a control socket under ~/.gunicorn
            "FEEDSVC_ARTICLES_DIR": str(store_root),
            "FEEDSVC_STATE_DIR": str(home / "state"),
            "FEEDSVC_BIND": f"127.0.0.1:{port}",
            "FEEDSVC_WORKERS": "2",
            "FEEDSVC_RESCAN_INTERVAL": "0.2",
            **(env or {}),
        },
        stdout=stdout,
        stderr=stderr,
    )


# gunicorn's default access log format: ... "GET /feeds/all.rss HTTP/1.1" 200 ...
_ACCESS_LINE = re.compile(r'"[A-Z]+ (?P<target>\S+) HTTP/[0-9.]+" (?P<status>[0-9]{3}) ')


@dataclass
class Gunicorn:
    """A running production server and the file its access log is written to."""

    process: subprocess.Popen[bytes]
    base: str
    access_log: Path

    def statuses(self, target: str, at_least: int = 0) -> list[int]:
        """The status of every request for ``target`` (path and query) so far, in order.
        gunicorn logs a request just after answering it: wait (10 s at most) until the log
        holds ``at_least`` of them."""
        deadline = time.monotonic() + 10
        while True:
            lines = self.access_log.read_text("utf-8").splitlines()
            found = (_ACCESS_LINE.search(line) for line in lines)
            codes = [int(m["status"]) for m in found if m is not None and m["target"] == target]
            if len(codes) >= at_least or time.monotonic() > deadline:
                return codes
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stderr:
            self.process.stderr.close()


@contextmanager
def production_server(
    store_root: Path, home: Path, env: Mapping[str, str] | None = None
) -> Iterator[Gunicorn]:
    """The README's production command on a free port, ready to answer; always stopped."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    access_log = home / "access.log"
    # The tests read what reached feedsvc in its access log: keep it on whatever the caller's
    # environment says.
    env = {**(env or {}), "FEEDSVC_ACCESS_LOG": "on"}
    with access_log.open("wb") as log:
        process = start_gunicorn(store_root, home, port, env=env, stdout=log)
    server = Gunicorn(process, f"http://127.0.0.1:{port}", access_log)
    try:
        wait_until_listening(port, process, "gunicorn")
        yield server
    finally:
        server.stop()


@contextmanager
def granian_server(
    store_root: Path, state: Path, env: Mapping[str, str], log: IO[bytes] | int
) -> Iterator[str]:
    """deploy/granian.sh on a free port, ready to answer; yields its base URL; always stopped.
    ``log`` takes its output (the access log, when FEEDSVC_ACCESS_LOG is on)."""
    port = free_port()
    env = {
        **os.environ,
        "GRANIAN": str(Path(sys.executable).parent / "granian"),
        "FEEDSVC_ARTICLES_DIR": str(store_root),
        "FEEDSVC_STATE_DIR": str(state),
        "FEEDSVC_BIND": f"127.0.0.1:{port}",
        **env,
    }
    process = subprocess.Popen(
        [str(REPO / "deploy" / "granian.sh")], cwd=REPO, env=env,
        stdout=log, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_until_listening(port, process, "granian")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()


def wait_until_listening(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    """Wait (30 s at most) until something accepts connections on 127.0.0.1:``port``; fail
    with the process's error output if it exits first."""
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None:
                errors = process.stderr.read() if process.stderr else b""
                pytest.fail(f"{name} exited: {errors.decode(errors='replace')}")
            assert time.monotonic() < deadline, f"{name} did not start within 30 s"
            time.sleep(0.05)


def render_deploy_conf(port: int, upstreams: Sequence[str], folder: Path) -> str:
    """deploy/nginx.conf with this test's address, instances, cache folder and log: the only
    lines replaced. Each must be found exactly once, so an edit there cannot go untested."""
    text = (REPO / "deploy" / "nginx.conf").read_text("utf-8")

    def replace(pattern: str, new: Callable[[re.Match[str]], str]) -> None:
        nonlocal text
        text, count = re.subn(pattern, new, text, flags=re.MULTILINE)
        assert count == 1, f"deploy/nginx.conf: expected one line matching {pattern!r}"

    replace(r"^(\s*)listen 80;$", lambda m: f"{m[1]}listen 127.0.0.1:{port};")
    replace(r"^\s*listen \[::\]:80;\n", lambda m: "")
    replace(
        r"^(\s*)server 127\.0\.0\.1:8000( [^;]*)?;$",
        lambda m: "\n".join(f"{m[1]}server {address}{m[2] or ''};" for address in upstreams),
    )
    replace(r"/var/cache/nginx/feedsvc(?= )", lambda m: str(folder / "cache"))
    replace(r"/var/log/nginx/feedsvc\.access\.log(?= )", lambda m: str(folder / "access.log"))
    return text


def write_nginx_conf(
    folder: Path, port: int, upstreams: Sequence[str], *, worker_processes: int = 1
) -> Path:
    """A main nginx.conf in ``folder`` that includes deploy/nginx.conf (rendered for this port
    and these instances) the way Debian's does, with every path it writes in ``folder``.
    Returns the main file, for ``nginx -p folder/ -c``."""
    (folder / "feedsvc.conf").write_text(render_deploy_conf(port, upstreams, folder), "utf-8")
    temp_paths = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, workers would run as nobody and could not write the cache under tmp_path.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(
        f"""daemon off;
{user}worker_processes {worker_processes};
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} notice;
events {{
    worker_connections 1024;
}}
http {{
{temp_paths}
    access_log off;
    # As in Debian's /etc/nginx/nginx.conf, which deploy/nginx.conf is included in.
    sendfile on;
    tcp_nopush on;
    gzip on;
    include {folder / "feedsvc.conf"};
}}
""",
        "utf-8",
    )
    return main


# --- what a browser would run in the HTML we serve ---------------------------------------

# Elements that run, load, embed or restyle anything, or hide markup from a sanitizer.
EXECUTABLE_ELEMENTS = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg",
        "math", "link", "meta", "base", "form", "input", "button", "textarea", "select",
        "option", "template", "noscript", "audio", "video", "source", "track", "portal",
        "xmp", "plaintext", "noembed", "noframes", "param", "title", "head", "body", "html",
        "isindex", "listing", "image", "animate", "set", "handler", "use", "foreignobject",
    }
)  # fmt: skip
URL_ATTRIBUTES = frozenset(
    {
        "href", "src", "cite", "action", "formaction", "data", "poster", "background",
        "srcset", "longdesc", "lowsrc", "dynsrc", "usemap", "manifest", "codebase", "ping",
        "profile", "classid", "archive", "xlink:href", "url",
    }
)  # fmt: skip
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# Browsers ignore these in a URL's scheme: C0 controls, space, and (anywhere) tab and newline.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f-\x9f]")


def url_scheme(value: str) -> str | None:
    """The scheme a browser sees in an attribute value (already entity-decoded)."""
    cleaned = _URL_IGNORED.sub("", value).lower()
    match = re.match(r"([^:/?#]*):", cleaned)
    return match.group(1) if match else None


def unsafe_html(fragment: str) -> list[str]:
    """What in an HTML fragment could run or load: parsed as a browser would (html5lib),
    every element, attribute and URL checked. Empty when the fragment is safe."""
    tree = html5lib.parseFragment(fragment, treebuilder="etree", namespaceHTMLElements=False)
    problems = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag == "DOCUMENT_FRAGMENT":
            continue
        tag = etree.QName(element.tag).localname.lower() if "}" in element.tag else element.tag
        if tag in EXECUTABLE_ELEMENTS:
            problems.append(f"<{tag}> element")
        for raw_name, value in element.attrib.items():
            name = raw_name.rsplit("}", 1)[-1].lower()
            if raw_name.endswith("}href"):
                name = "xlink:href"
            if name.startswith("on"):
                problems.append(f"{name} attribute on <{tag}>")
            if name == "style":
                problems.append(f"style attribute on <{tag}>")
            if name in URL_ATTRIBUTES:
                for url in value.split(",") if name == "srcset" else [value]:
                    scheme = url_scheme(url.strip().split(" ")[0] if name == "srcset" else url)
                    if scheme is not None and scheme not in SAFE_SCHEMES:
                        problems.append(f"{scheme}: URL in {name} of <{tag}>")
    return problems


def html_text(fragment: str) -> str:
    """All the text a browser would show (and keep in the DOM) for a fragment."""
    tree = html5lib.parseFragment(fragment, treebuilder="etree", namespaceHTMLElements=False)
    return "".join(tree.itertext())


def served_html(fmt: str, body: bytes) -> list[str]:
    """Every HTML fragment a feed carries: RSS description and content:encoded, Atom text
    constructs of type html, JSON Feed content_html."""
    if fmt == "json":
        items = json.loads(body).get("items", [])
        return [item[key] for item in items for key in ("content_html",) if key in item]
    fragments = []
    for element in parse_xml(body).iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element).localname
        parent = element.getparent()
        in_rss_item = parent is not None and parent.tag == "item"
        if (in_rss_item and name in ("description", "encoded")) or element.get("type") == "html":
            fragments.append(element.text or "")
    return fragments


def served_urls(fmt: str, body: bytes) -> list[str]:
    """Every URL a feed document itself holds (links, enclosures, ids that are links)."""
    if fmt == "json":
        document = json.loads(body)
        items = document.get("items", [])
        urls = [document.get(k) for k in ("home_page_url", "feed_url")]
        urls += [item.get(k) for item in items for k in ("url", "external_url", "image")]
        urls += [a.get("url") for item in items for a in item.get("attachments", [])]
        return [url for url in urls if isinstance(url, str)]
    urls = []
    for element in parse_xml(body).iter():
        if not isinstance(element.tag, str):
            continue
        urls += [v for k, v in element.attrib.items() if k in ("href", "url", "src")]
        if etree.QName(element).localname == "link" and element.text:
            urls.append(element.text)
    return urls


def render_site_feed(site: Site, articles: Sequence[Article], fmt: str) -> bytes:
    """The site feed (``all.<fmt>``) of ``articles`` as it is served once all are published
    (drafts too): through the timeline and the catalog, as the service renders it."""
    key = parse_feed_path(f"all.{fmt}")
    assert key is not None
    published = [replace(a, draft=False) for a in articles]
    now = max((a.published for a in published), default=site.tag_epoch) + timedelta(minutes=1)
    document = Catalog(site, visible(published, now, site.timezone)).document(key)
    assert document is not None
    return render_feed(site, resolved(document))


def assert_served_safely(article: Article, text: ArticleText, site: Site) -> None:
    """A record renders, in every format, into a well-formed, readable feed whose HTML is
    sanitized and whose URLs are http(s) or mailto (the property tests and the fuzz target)."""
    TEXTS[article.version] = text
    for value in (article.title, text.summary_html, text.content_html, *article.tags):
        assert xml_safe(value) == value
        value.encode("utf-8")  # no lone surrogate
    for fmt in FEED_FORMATS:
        body = render_site_feed(site, [article], fmt)
        assert [guid for guid, _ in check_document(body, fmt)] == [article.guid]
        for fragment in served_html(fmt, body):
            assert unsafe_html(fragment) == [], fragment
        for url in served_urls(fmt, body):
            assert url_scheme(url) in SAFE_SCHEMES, url


# "Now" for documents rendered in memory: after every test article.
RENDER_MONTH = Month(2025, 6)


def catalog_of(site: Site, articles: Sequence[Article], month: Month = RENDER_MONTH) -> Catalog:
    """A catalog of exactly these articles, in this order (as a timeline would order them)."""
    expires = month.next().start(site.timezone)
    return Catalog(site, Timeline(tuple(articles), next_due=None, month=month, expires=expires))


def render_path(
    site: Site, articles: Sequence[Article], path: str, month: Month = RENDER_MONTH
) -> bytes:
    """The bytes of the document at /feeds/``path`` over these articles, rendered in memory."""
    key = parse_feed_path(path)
    assert key is not None
    document = catalog_of(site, articles, month).document(key)
    assert document is not None
    return render_feed(site, resolved(document))

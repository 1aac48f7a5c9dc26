"""Partner feeds: tokens from the CLI, filters, full text, private answers, identical 404s,
and tokens kept out of every log."""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client, TestResponse

from feedsvc.cli import main
from feedsvc.errors import ConfigError
from feedsvc.fastpath import FastPath
from feedsvc.model import Partner, parse_feed_path
from feedsvc.partners import bearer_token, find_partner, hash_token, new_token
from feedsvc.redact import redact
from feedsvc.settings import read_partners_file

from .checks import check_feed, check_json_feed
from .factories import Clock, Store, make_app
from .servers import fetch, granian_server, production_server, serving

BASE = "https://news.example.com"
ATOM_ID = re.compile(rb"<feed [^>]*>\s*<id>([^<]+)</id>")


@pytest.fixture
def partners_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "partners.toml"
    monkeypatch.setenv("FEEDSVC_PARTNERS_FILE", str(path))
    return path


@pytest.fixture
def articles(store: Store) -> Store:
    store.add(id="tech-en", title="Chips", tags="[research]", published="2025-03-01 10:00",
              body="The whole *chip* story.")  # fmt: skip
    store.add(id="energy-de", title="Strom", category="energy", language="de",
              published="2025-04-02 10:00")  # fmt: skip
    store.add(id="culture-en", title="Film", category="culture", published="2025-05-03 10:00")
    store.add(id="draft-tech", title="Draft", draft="true", published="2025-03-05 10:00")
    store.add(id="future-tech", title="Future", published="2025-07-01 10:00")
    return store


def add(store: Store, name: str, *options: str, capsys: pytest.CaptureFixture[str]) -> str:
    """``feedsvc partner add``; returns the token it printed."""
    capsys.readouterr()
    assert main(["partner", "add", name, *options, "--store", str(store.root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    token = lines[1].strip()
    assert len(token) >= 43  # 32 random bytes, base64url
    return token


def revoke(store: Store, name: str) -> None:
    assert main(["partner", "revoke", name, "--store", str(store.root)]) == 0


def partner_app(store: Store, state_dir: Path, clock: Clock, path: Path, **config: Any) -> Flask:
    return make_app(store, state_dir, clock, PARTNERS_FILE=str(path), **config)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ids(response: TestResponse) -> list[str]:
    assert response.status_code == 200
    return [entry.id.rsplit(":", 1)[1] for entry in check_feed(response.get_data()).entries]


def test_the_file_keeps_hashes_never_tokens(
    articles: Store, partners_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = add(articles, "acme", "--categories", "technology", "energy", capsys=capsys)
    two = add(articles, "wire", "--languages", "DE", "--no-full-text", capsys=capsys)
    text = partners_file.read_text("utf-8")
    assert one not in text
    assert two not in text
    assert read_partners_file(partners_file) == (
        Partner("acme", hash_token(one), ("energy", "technology"), (), True),
        Partner("wire", hash_token(two), (), ("de",), False),
    )
    # Another add and a revoke keep the other entries; nothing is left half-written.
    revoke(articles, "acme")
    assert [p.name for p in read_partners_file(partners_file)] == ["wire"]
    assert [p.name for p in partners_file.parent.iterdir() if p.name.startswith(".")] == []
    # Clear refusals, no traceback.
    assert main(["partner", "add", "wire", "--store", str(articles.root)]) == 2
    assert (
        main(["partner", "add", "x", "--categories", "sports", "--store", str(articles.root)]) == 2
    )
    assert main(["partner", "add", "a/b", "--store", str(articles.root)]) == 2
    assert main(["partner", "revoke", "nobody", "--store", str(articles.root)]) == 2
    err = capsys.readouterr().err
    assert "'wire' exists" in err
    assert "unknown category 'sports'" in err
    assert "no partner named 'nobody'" in err
    assert "Traceback" not in err


def test_url_and_bearer_forms_serve_the_partner_document(
    articles: Store, state_dir: Path, clock: Clock, partners_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    token = add(articles, "acme", capsys=capsys)
    client = Client(partner_app(articles, state_dir, clock, partners_file))
    public = client.get("/feeds/all.atom")
    by_url = client.get(f"/partners/{token}/feeds/all.atom")
    by_header = client.get("/feeds/all.atom", headers=bearer(token))
    assert ids(by_url) == ids(by_header) == ids(public) == ["culture-en", "energy-de", "tech-en"]
    for response in (by_url, by_header):
        assert response.headers["Cache-Control"].startswith("private, max-age=")
        assert "Access-Control-Allow-Origin" not in response.headers
        # Its own Atom id, from the partner's name, never its token.
        (feed_id,) = ATOM_ID.findall(response.get_data())
        assert feed_id == b"tag:news.example.com,2025-01-01:/partners/acme/feeds/all"
        assert token.encode() not in feed_id
    assert ATOM_ID.findall(public.get_data()) == [b"tag:news.example.com,2025-01-01:/feeds/all"]
    assert public.headers["Cache-Control"].startswith("public, ")
    assert by_url.headers["Vary"] == "Accept-Encoding"
    # A Bearer token changes what /feeds/ answers, so every answer there says so.
    assert by_header.headers["Vary"] == public.headers["Vary"] == "Accept-Encoding, Authorization"
    # Self links: the partner URL by URL; the public address with the header.
    assert f'href="{BASE}/partners/{token}/feeds/all.atom" rel="self"' in by_url.get_data(True)
    assert f'href="{BASE}/feeds/all.atom" rel="self"' in by_header.get_data(True)
    assert token not in by_header.get_data(True)
    # Conditional GET, as for public feeds.
    for path, headers in ((f"/partners/{token}/feeds/all.atom", {}), ("/feeds/all.atom",
                          bearer(token))):  # fmt: skip
        first = client.get(path, headers=headers)
        again = client.get(path, headers={**headers, "If-None-Match": first.headers["ETag"]})
        assert (again.status_code, again.get_data()) == (304, b"")
        since = {**headers, "If-Modified-Since": first.headers["Last-Modified"]}
        assert client.get(path, headers=since).status_code == 304
        zipped = client.get(path, headers={**headers, "Accept-Encoding": "gzip"})
        assert zipped.headers["Content-Encoding"] == "gzip"
    # Every format is a valid feed.
    check_feed(client.get(f"/partners/{token}/feeds/all.rss").get_data())
    check_json_feed(client.get(f"/partners/{token}/feeds/all.json").get_data())
    check_json_feed(client.get("/feeds/tag/research.json", headers=bearer(token)).get_data())


def test_archive_links_keep_a_partner_on_its_own_addresses(
    articles: Store, state_dir: Path, clock: Clock, partners_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    articles.items_per_feed = 1
    articles.write_site()
    token = add(articles, "acme", "--categories", "technology", "culture", capsys=capsys)
    client = Client(partner_app(articles, state_dir, clock, partners_file))
    prefix = f"{BASE}/partners/{token}/feeds/"
    for fmt in ("atom", "rss", "json"):
        url, seen, visited = f"{prefix}all.{fmt}", [], 0
        while url:
            assert url.startswith(prefix), url
            response = client.get(url[len(BASE) :])
            assert response.status_code == 200, url
            body = response.get_data()
            visited += 1
            if fmt == "json":
                document = check_json_feed(body)
                seen += [item["id"] for item in document["items"]]
                url = document.get("next_url", "")
                continue
            parsed = check_feed(body)
            seen += [entry.id for entry in parsed.entries]
            links = [link for link in re.findall(r'<(?:atom:)?link ([^>]*)/>', body.decode())
                     if 'rel="prev-archive"' in link]  # fmt: skip
            url = re.search(r'href="([^"]+)"', links[0])[1] if links else ""  # type: ignore[index]
            for href in re.findall(r'href="([^"]+/feeds/[^"]+)"', body.decode()):
                assert href.startswith(prefix), href
        # The complete archive: every article the partner may read, none other.
        assert sorted(guid.rsplit(":", 1)[1] for guid in set(seen)) == ["culture-en", "tech-en"]
        assert visited > 1


def test_categories_languages_and_full_text(
    articles: Store, state_dir: Path, clock: Clock, partners_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    tech = add(articles, "tech", "--categories", "technology", capsys=capsys)
    german = add(articles, "german", "--languages", "de", "--no-full-text", capsys=capsys)
    mixed = add(articles, "mixed", "--categories", "technology", "energy", "--languages", "de",
                capsys=capsys)  # fmt: skip
    client = Client(partner_app(articles, state_dir, clock, partners_file))
    assert ids(client.get(f"/partners/{tech}/feeds/all.rss")) == ["tech-en"]
    assert ids(client.get(f"/partners/{german}/feeds/all.rss")) == ["energy-de"]
    assert ids(client.get(f"/partners/{mixed}/feeds/all.rss")) == ["energy-de"]
    # A feed the partner may not read does not exist for it.
    assert client.get(f"/partners/{tech}/feeds/culture.rss").status_code == 404
    assert client.get("/feeds/lang/de.rss", headers=bearer(tech)).status_code == 404
    assert ids(client.get("/feeds/energy.rss", headers=bearer(german))) == ["energy-de"]
    # Full text for "tech", summaries only for "german", whatever the public feed does.
    full = client.get(f"/partners/{tech}/feeds/all.rss").get_data(True)
    assert "content:encoded" in full
    assert "chip&lt;/em&gt; story" in full
    summary = client.get(f"/partners/{german}/feeds/all.atom").get_data(True)
    assert "<content" not in summary
    assert "<summary" in summary
    assert '"content_html"' in client.get(f"/partners/{german}/feeds/all.json").get_data(True)
    summary_site = Client(
        partner_app(articles, state_dir / "b", clock, partners_file, FULL_CONTENT="false")
    )
    assert "content:encoded" not in summary_site.get("/feeds/all.rss").get_data(True)
    assert "chip&lt;/em&gt; story" in summary_site.get(f"/partners/{tech}/feeds/all.rss").get_data(
        True
    )


def test_partners_never_see_drafts_or_future_articles(
    articles: Store, state_dir: Path, clock: Clock, partners_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    token = add(articles, "acme", "--categories", "technology", capsys=capsys)
    client = Client(partner_app(articles, state_dir, clock, partners_file))
    path = f"/partners/{token}/feeds/technology/archive/2025-03.atom"
    assert ids(client.get(path)) == ["tech-en"]  # not the draft of the same month
    assert ids(client.get(f"/partners/{token}/feeds/all.atom")) == ["tech-en"]
    assert client.get(f"/partners/{token}/feeds/all/archive/2025-07.atom").status_code == 404
    clock.advance(days=31)  # the scheduled article is due now, for partners as for everyone
    assert ids(client.get(f"/partners/{token}/feeds/all.atom")) == ["future-tech", "tech-en"]


def comparable(response: TestResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    return (
        response.status_code,
        [(k, v) for k, v in response.headers.items() if k != "Date"],
        response.get_data(),
    )


def test_unknown_and_revoked_tokens_answer_exactly_like_an_unknown_feed(
    articles: Store, state_dir: Path, clock: Clock, partners_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    token = add(articles, "acme", capsys=capsys)
    gone = add(articles, "gone", capsys=capsys)
    client = Client(partner_app(articles, state_dir, clock, partners_file))
    assert client.get(f"/partners/{gone}/feeds/all.rss").status_code == 200
    revoke(articles, "gone")
    unknown_feed = comparable(client.get("/feeds/nothing.rss"))
    assert unknown_feed[0] == 404
    for path, headers in [
        (f"/partners/{gone}/feeds/all.rss", {}),
        ("/feeds/all.rss", bearer(gone)),
        (f"/partners/{new_token()}/feeds/all.rss", {}),
        ("/feeds/all.rss", bearer(new_token())),
        ("/feeds/all.rss", {"Authorization": "Bearer "}),
        (f"/partners/{token}/feeds/nothing.rss", {}),
        ("/feeds/nothing.rss", bearer(token)),
        (f"/partners/{token}/feeds/all.xml", {}),
    ]:
        assert comparable(client.get(path, headers=headers)) == unknown_feed, (path, headers)
    # No other method tells that something lives there either.
    not_found = comparable(client.post("/nothing/here"))
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        for path in (f"/partners/{new_token()}/feeds/all.rss", f"/partners/{token}/feeds/all.rss"):
            assert comparable(client.open(path, method=method)) == not_found, (method, path)
    # Without a partners file there are no partner feeds: the same 404, and Bearer is ignored.
    plain = Client(make_app(articles, state_dir / "plain", clock, PARTNERS_FILE=""))
    assert comparable(plain.get(f"/partners/{token}/feeds/all.rss")) == unknown_feed
    assert plain.get("/feeds/all.rss", headers=bearer(token)).headers["Vary"] == "Accept-Encoding"


def test_the_fast_path_answers_partner_requests_like_flask(
    articles: Store, state_dir: Path, clock: Clock, partners_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    token = add(articles, "acme", "--categories", "technology", capsys=capsys)
    app = partner_app(articles, state_dir, clock, partners_file)
    assert isinstance(app.wsgi_app, FastPath)
    fast, flask_only = Client(app), Client(app.wsgi_app.app)
    etag = fast.get("/feeds/all.rss").headers["ETag"]
    partner_etag = fast.get("/feeds/all.rss", headers=bearer(token)).headers["ETag"]
    for path in ("/feeds/all.rss", "/feeds/technology.atom", "/feeds/culture.json",
                 f"/partners/{token}/feeds/all.rss", "/feeds/nothing.rss"):  # fmt: skip
        for headers in ({}, bearer(token), bearer("wrong"), {"Authorization": "Basic eDp5"},
                        {"Accept-Encoding": "gzip"}, {"If-None-Match": etag},
                        {"If-None-Match": partner_etag, **bearer(token)}):  # fmt: skip
            for method in ("GET", "HEAD"):
                one = fast.open(path, method=method, headers=headers)
                two = flask_only.open(path, method=method, headers=headers)
                assert comparable(one) == comparable(two), (path, method, headers)


def test_tokens_are_compared_in_constant_time_against_every_partner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens = [new_token() for _ in range(3)]
    partners = [Partner(f"p{n}", hash_token(t), (), (), True) for n, t in enumerate(tokens)]
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the function partners.py calls
    assert find_partner(partners, tokens[0]) == partners[0]
    # Hashes, not tokens, and every partner's, even after the first matched.
    assert compared == [(hash_token(tokens[0]), p.token_sha256) for p in partners]
    compared.clear()
    assert find_partner(partners, "not a token") is None
    assert len(compared) == 3


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic eDp5") is None
    assert bearer_token(None) is None
    assert bearer_token("Bearer") == ""


def test_redaction() -> None:
    token = new_token()
    assert redact(f'GET /partners/{token}/feeds/all.rss?x=1 HTTP/1.1" 200') == (
        'GET /partners/[redacted]/feeds/all.rss?x=1 HTTP/1.1" 200'
    )
    assert token not in redact(f"Authorization: Bearer {token}")
    assert redact("GET /feeds/all.rss HTTP/1.1") == "GET /feeds/all.rss HTTP/1.1"


def test_the_development_server_log_holds_no_token(
    articles: Store, state_dir: Path, clock: Clock, partners_file: Path,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    token = add(articles, "acme", capsys=capsys)
    caplog.set_level(logging.DEBUG)
    app = partner_app(articles, state_dir, clock, partners_file)
    with serving(app) as base:
        assert fetch(f"{base}/partners/{token}/feeds/all.rss")[0] == 200
        assert fetch(f"{base}/partners/{new_token()}/feeds/all.rss")[0] == 404
        assert fetch(f"{base}/feeds/all.rss", bearer(token))[0] == 200
    logged = caplog.text
    assert "/partners/[redacted]/feeds/all.rss" in logged  # werkzeug's request lines
    assert token not in logged
    assert token[:16] not in logged


def until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.1)


def test_add_and_revoke_take_effect_in_a_running_server_and_stay_out_of_its_log(
    articles: Store, tmp_path: Path, partners_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"FEEDSVC_PARTNERS_FILE": str(partners_file)}
    with production_server(articles.root, tmp_path / "gunicorn", env) as gunicorn:
        token = new_token()
        assert fetch(f"{gunicorn.base}/partners/{token}/feeds/all.rss")[0] == 404
        token = add(articles, "acme", "--categories", "energy", capsys=capsys)
        url = f"{gunicorn.base}/partners/{token}/feeds/all.rss"

        def served(status: int) -> bool:
            # Several requests in a row reach both workers.
            return all(fetch(url)[0] == status for _ in range(6))

        until(lambda: served(200))
        _, headers, body = fetch(url)
        assert [e.title for e in check_feed(body).entries] == ["Strom"]
        assert headers["Cache-Control"].startswith("private")
        bearer_answer = fetch(f"{gunicorn.base}/feeds/all.rss", bearer(token))
        assert (bearer_answer[0], bearer_answer[1]["Vary"]) == (
            200,
            "Accept-Encoding, Authorization",
        )
        revoke(articles, "acme")
        until(lambda: served(404))
        assert fetch(f"{gunicorn.base}/feeds/all.rss", bearer(token))[0] == 404
        assert gunicorn.statuses("/partners/[redacted]/feeds/all.rss", at_least=13)
    logged = gunicorn.access_log.read_text("utf-8")
    assert "/partners/[redacted]/feeds/all.rss" in logged
    assert token not in logged


def test_granian_access_log_holds_no_token(
    articles: Store, tmp_path: Path, partners_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = add(articles, "acme", capsys=capsys)
    log_path = tmp_path / "granian.log"
    env = {
        "FEEDSVC_WORKERS": "1",
        "FEEDSVC_ACCESS_LOG": "on",
        "FEEDSVC_PARTNERS_FILE": str(partners_file),
    }
    with (
        log_path.open("wb") as log,
        granian_server(articles.root, tmp_path / "granian-state", env, log) as base,
    ):
        assert fetch(f"{base}/partners/{token}/feeds/all.rss")[0] == 200
        assert fetch(f"{base}/partners/{new_token()}/feeds/all.rss")[0] == 404

        def logged() -> bool:
            return log_path.read_text("utf-8").count("/partners/[redacted]/feeds/all.rss") >= 2

        until(logged)
    assert token not in log_path.read_text("utf-8")


def test_a_broken_partners_file_keeps_the_partners_last_read(
    articles: Store, state_dir: Path, clock: Clock, partners_file: Path,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    token = add(articles, "acme", capsys=capsys)
    client = Client(partner_app(articles, state_dir, clock, partners_file))
    assert client.get(f"/partners/{token}/feeds/all.rss").status_code == 200
    partners_file.write_text("[partners.acme]\ntoken_sha256 = 'short'\n", "utf-8")
    assert client.get(f"/partners/{token}/feeds/all.rss").status_code == 200
    assert "partners file not reloaded" in caplog.text
    assert token not in caplog.text
    # At start-up the same file stops the service with a clear message.
    with pytest.raises(ConfigError, match="token_sha256 must be 64 lower-case hex digits"):
        partner_app(articles, state_dir, clock, partners_file)
    # The CLI says so too, and leaves the file alone.
    assert main(["partner", "list", "--store", str(articles.root)]) == 2
    assert "token_sha256" in capsys.readouterr().err


def test_partner_documents_are_rendered_once_per_store_version(
    articles: Store, state_dir: Path, clock: Clock, partners_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    token = add(articles, "acme", capsys=capsys)
    app = partner_app(articles, state_dir, clock, partners_file)
    service = app.extensions["feedsvc"]
    (partner,) = read_partners_file(partners_file)
    key = parse_feed_path("all.atom")
    assert key is not None
    first = service.partner_feed(partner, key, token)
    assert service.partner_feed(partner, key, token) is first
    assert service.partner_feed(partner, key, None) is not first  # the Bearer form's links
    articles.add(id="new", title="New", published="2025-05-30 10:00")
    assert service.partner_feed(partner, key, token) is not first


def test_the_partners_file_is_not_looked_at_on_every_request(
    articles: Store, state_dir: Path, clock: Clock, partners_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    token = add(articles, "acme", capsys=capsys)
    # An interval no test outlasts: a revocation is not seen until it has passed.
    app = partner_app(articles, state_dir, clock, partners_file, RESCAN_INTERVAL=3600)
    client = Client(app)
    assert client.get(f"/partners/{token}/feeds/all.rss").status_code == 200
    revoke(articles, "acme")
    assert client.get(f"/partners/{token}/feeds/all.rss").status_code == 200


def test_an_invalid_body_first_found_by_a_partner_feed_is_left_out(
    articles: Store,
    partners_file: Path,
    state_dir: Path,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Texts are rendered when a document first shows them (tests/test_lazy_text.py): here the
    # first document to show this one is a partner's.
    articles.add(id="deep-tech", title="Deep", published="2025-03-02 10:00",
                 body="<div>" * 300 + "deep" + "</div>" * 300)  # fmt: skip
    token = add(articles, "acme", capsys=capsys)
    client = partner_app(articles, state_dir, clock, partners_file).test_client()
    got = ids(client.get(f"/partners/{token}/feeds/technology.atom"))
    assert got == ["tech-en"]
    reasons = {p.path: p.reason for p in client.application.extensions["feedsvc"].problems}
    assert any("nested more than" in reason for reason in reasons.values())
    assert ids(client.get("/feeds/technology.atom")) == ["tech-en"]

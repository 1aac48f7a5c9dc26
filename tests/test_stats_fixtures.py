"""`feedsvc stats` on access logs the real programs wrote (tests/fixtures/logs/make_logs.py):
nginx with deploy/nginx.conf, gunicorn with deploy/gunicorn.conf.py, granian with
deploy/granian.sh, each sent the same requests (make_logs.PLAN). Each log gives the answers
that plan implies."""

from __future__ import annotations

from pathlib import Path

import pytest

from .fixtures.logs.make_logs import PARTNER_TOKEN, PLAN
from .stats_logs import feed, stats_json

LOGS = Path(__file__).parent / "fixtures" / "logs"


@pytest.mark.parametrize("server", ["nginx", "gunicorn", "granian"])
def test_the_logs_of_each_server_give_the_planned_answers(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    log = LOGS / f"{server}.log"
    assert len(log.read_text("utf-8").splitlines()) == len(PLAN)
    result = stats_json(capsys, log)
    assert result["unreadable"] == 0
    everything = feed(result, "/feeds/all.rss")
    assert everything["aggregators"] == {"Feedly": 462, "Inoreader": 114, "Feedbin": 107}
    # NetNewsWire, Thunderbird, newsboat, Miniflux, FreshRSS; not the four crawlers and monitors.
    assert (everything["direct"], everything["excluded"]) == (5, 4)
    assert everything["subscribers"] == 462 + 114 + 107 + 5
    # Feedly's and NetNewsWire's conditional requests.
    assert (everything["requests"], everything["not_modified"]) == (16, 2)
    atom = feed(result, "/feeds/all.atom")
    assert (atom["aggregators"], atom["direct"], atom["requests"]) == ({"NewsBlur": 27}, 1, 6)
    assert [(p["user_agent"], p["requests_per_day"]) for p in atom["frequent_pollers"]] == [
        ("curl/7.88.1", 5.0)
    ]
    assert feed(result, "/feeds/all.json")["aggregators"] == {"BazQux": 1}
    assert feed(result, "/feeds/technology.rss")["aggregators"] == {"The Old Reader": 1}
    # Every server logs the partner's token as [redacted]: an unknown partner's requests.
    partner = feed(result, "/partners/[redacted]/feeds/all.rss")
    assert (partner["partner"], partner["subscribers"], partner["requests"]) == ("[redacted]", 1, 2)
    kinds = {d["document"]: d["kind"] for d in result["documents"]}
    archive = "/feeds/all/archive/2025-03.rss"
    assert kinds == {"/": "home", "/feeds.opml": "opml", archive: "archive"}
    assert result["other_answers"] == 3  # two WordPress redirects and a 404
    if server == "granian":
        assert everything["bytes_sent"] is None  # granian logs no size
    else:
        # curl asked for no gzip: its bodies are larger than NewsBlur's gzip one.
        assert atom["saved_by_gzip"] > 0
        assert everything["saved_by_304"] > 0
    assert PARTNER_TOKEN not in log.read_text("utf-8")

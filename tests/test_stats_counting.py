"""`feedsvc stats`: subscriber counts from logs with known answers (issue 15)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from feedsvc.cli import main
from feedsvc.partners import hash_token

from .stats_logs import (
    DAY,
    FEEDLY,
    NETNEWSWIRE,
    combined,
    feed,
    granian,
    nginx_cache,
    stats_json,
    write_log,
)

CET, EST = timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))
# The User-Agents of the issue, each with the aggregator's name and count.
NEWSBLUR = "NewsBlur Feed Fetcher - 27 subscribers - https://www.newsblur.com/site/123/x (...)"
OLD_READER = "Mozilla/5.0 (compatible; theoldreader.com; 1 subscribers; feed-id=ab12)"
BAZQUX = "Mozilla/5.0 (compatible; BazQux/2.4; +https://bazqux.com/fetcher; 1 subscribers)"
AGGREGATORS = [
    (FEEDLY.format(462), "Feedly", 462),
    ("Mozilla/5.0 (compatible; inoreader.com; 114 subscribers)", "Inoreader", 114),
    (NEWSBLUR, "NewsBlur", 27),
    ("Feedbin feed-id:1697787 - 102 subscribers", "Feedbin", 102),
    (OLD_READER, "The Old Reader", 1),
    (BAZQUX, "BazQux", 1),
    ("Netvibes (crawler/bot; http://www.netvibes.com; 3 subscribers; feedID: 9)", "Netvibes", 3),
    ("Mozilla/5.0 (compatible; Feedspot/1.0; 12 readers)", "Feedspot", 12),
    ("Mozilla/5.0 (compatible; NewReader/0.1; 7 subscribers)", "NewReader", 7),
]  # fmt: skip


@pytest.mark.parametrize(("agent", "name", "subscribers"), AGGREGATORS)
@pytest.mark.parametrize("write", [combined, nginx_cache, granian])
def test_each_aggregator_states_its_subscribers_in_each_format(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    agent: str,
    name: str,
    subscribers: int,
    write: object,
) -> None:
    assert callable(write)
    log = write_log(tmp_path / "access.log", [write("/feeds/all.rss", agent)])
    result = stats_json(capsys, log)
    entry = feed(result, "/feeds/all.rss")
    assert entry["aggregators"] == {name: subscribers}
    assert (entry["subscribers"], entry["direct"], entry["requests"]) == (subscribers, 0, 1)


def test_a_count_that_changes_during_a_day_counts_at_its_largest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        combined("/feeds/all.rss", FEEDLY.format(n), when=DAY + timedelta(hours=h))
        for h, n in [(0, 460), (3, 471), (6, 465), (9, 470)]
    ]
    result = stats_json(capsys, write_log(tmp_path / "access.log", lines))
    assert feed(result, "/feeds/all.rss")["aggregators"] == {"Feedly": 471}
    assert result["days"] == {"2026-12-04": {"/feeds/all.rss": 471}}


def test_distinct_feed_ids_of_one_aggregator_stay_distinct(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        combined("/feeds/all.rss", "Feedbin feed-id:1697787 - 102 subscribers"),
        combined("/feeds/all.rss", "Feedbin feed-id:42 - 5 subscribers"),
        combined("/feeds/all.rss", "Feedbin feed-id:42 - 6 subscribers"),
    ]
    result = stats_json(capsys, write_log(tmp_path / "access.log", lines))
    assert feed(result, "/feeds/all.rss")["aggregators"] == {"Feedbin": 108}


def test_each_address_and_user_agent_pair_is_one_reader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        combined("/feeds/all.rss", NETNEWSWIRE, address="198.51.100.1"),
        combined("/feeds/all.rss", NETNEWSWIRE, address="198.51.100.1", status=304, size=0),
        combined("/feeds/all.rss", NETNEWSWIRE, address="198.51.100.2"),  # another reader
        combined("/feeds/all.rss", "newsboat/2.36.0", address="198.51.100.1"),  # another app
        combined("/feeds/all.rss", "-", address="198.51.100.3"),  # no User-Agent at all
        combined("/feeds/all.rss", FEEDLY.format(10), address="198.51.100.1"),
        combined("/feeds/all.rss", FEEDLY.format(10), address="198.51.100.4"),  # one Feedly
    ]
    result = stats_json(capsys, write_log(tmp_path / "access.log", lines))
    entry = feed(result, "/feeds/all.rss")
    assert (entry["direct"], entry["aggregators"], entry["subscribers"]) == (4, {"Feedly": 10}, 14)
    assert (entry["requests"], entry["not_modified"]) == (7, 1)


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "TelegramBot (like TwitterBot)",
        "W3C_Validator/1.3 http://validator.w3.org/services",
        "FeedValidator/1.3",
        "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
        "Mozilla/5.0 (compatible; SomeNewCrawler/1.0)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2)",
    ],
)
def test_crawlers_previews_validators_and_monitors_are_no_subscribers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], agent: str
) -> None:
    lines = [combined("/feeds/all.rss", agent), combined("/feeds/all.rss", NETNEWSWIRE)]
    result = stats_json(capsys, write_log(tmp_path / "access.log", lines))
    entry = feed(result, "/feeds/all.rss")
    assert (entry["subscribers"], entry["direct"], entry["excluded"]) == (1, 1, 1)
    assert entry["requests"] == 2


def test_only_answers_200_and_304_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        combined("/feeds/all.rss", "reader/1", status=404),
        combined("/feeds/all.rss", "reader/2", status=500),
        combined("/feeds/all.rss", "reader/3", status=301),
        combined("/feeds/all.rss", "reader/4", status=412),
        combined("/feeds/all.rss", "reader/5", method="POST"),
        combined("/feeds/all.rss", "reader/6", status=304, size=0),
        combined("/feeds/all.rss", "reader/7", method="HEAD"),
    ]
    result = stats_json(capsys, write_log(tmp_path / "access.log", lines))
    entry = feed(result, "/feeds/all.rss")
    assert (entry["direct"], entry["requests"], entry["not_modified"]) == (2, 2, 1)
    assert result["other_answers"] == 5


@pytest.mark.parametrize(
    ("target", "canonical"),
    [
        ("/feeds/all.rss?utm_source=mastodon&x=1", "/feeds/all.rss"),
        ("/feed/", "/feeds/all.rss"),
        ("/feed/atom", "/feeds/all.atom"),
        ("/?feed=rss2", "/feeds/all.rss"),
        ("/?utm=1&feed=atom", "/feeds/all.atom"),
        ("/category/energy/feed/", "/feeds/energy.rss"),
        ("/tag/J%C3%BCrgen/feed/atom/", "/feeds/tag/jurgen.atom"),
        ("/feeds/tag/j%C3%BCrgen.json", "/feeds/tag/jürgen.json"),
        ("https://news.example.com/feeds/all.json", "/feeds/all.json"),
        ("http://news.example.com/?feed=atom", "/feeds/all.atom"),
        ("/feeds/tag/j\\xC3\\xBCrgen.json", "/feeds/tag/jürgen.json"),  # nginx's escape
    ],
)
def test_aliases_and_query_strings_count_under_the_canonical_feed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, canonical: str
) -> None:
    result = stats_json(capsys, write_log(tmp_path / "access.log", [combined(target, NETNEWSWIRE)]))
    assert [f["feed"] for f in result["feeds"]] == [canonical]
    assert result["documents"] == []


def test_archives_the_opml_list_and_the_home_page_are_reported_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        combined("/feeds/all/archive/2025-03.rss", NETNEWSWIRE),
        combined("/feeds/energy/archive/2025-03.atom?x=1", NETNEWSWIRE),
        combined("/feeds.opml", NETNEWSWIRE),
        combined("/feeds.opml", NETNEWSWIRE, status=304, size=0),
        combined("/", "Mozilla/5.0 Firefox/133.0"),
        combined("/?utm=x", "Mozilla/5.0 Firefox/133.0"),
        combined("/robots.txt", "Mozilla/5.0 Firefox/133.0"),
        combined("/feeds/all.xml", NETNEWSWIRE),
    ]
    result = stats_json(capsys, write_log(tmp_path / "access.log", lines))
    assert result["feeds"] == []
    documents = {
        (d["document"], d["kind"]): (d["requests"], d["not_modified"]) for d in result["documents"]
    }
    assert documents == {
        ("/feeds/all/archive/2025-03.rss", "archive"): (1, 0),
        ("/feeds/energy/archive/2025-03.atom", "archive"): (1, 0),
        ("/feeds.opml", "opml"): (2, 1),
        ("/", "home"): (2, 0),
    }
    assert result["other_paths"] == 2


def test_partner_feeds_count_under_the_partner_name_never_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token, revoked = "Zm9vYmFyLXRva2VuLW9mLWFjbWU", "cmV2b2tlZC10b2tlbg"
    partners = tmp_path / "partners.toml"
    partners.write_text(f'[partners.acme]\ntoken_sha256 = "{hash_token(token)}"\n', "utf-8")
    lines = [
        combined(f"/partners/{token}/feeds/all.rss", "AcmeSync/1.0"),
        combined(f"/partners/{token}/feeds/energy.atom?x=1", "AcmeSync/1.0", status=304, size=0),
        combined("/partners/[redacted]/feeds/all.rss", "OtherSync/2.0"),
        nginx_cache("/partners/[redacted]/feeds/all.rss", "OtherSync/2.0", address="192.0.2.8"),
        combined(f"/partners/{revoked}/feeds/all.rss", "GoneSync/1.0"),
        combined(f"/partners/{token}/feeds/all/archive/2025-03.rss", "AcmeSync/1.0"),
    ]
    log = write_log(tmp_path / "access.log", lines)
    result = stats_json(capsys, log, "--partners", partners)
    assert {(f["feed"], f["partner"], f["subscribers"]) for f in result["feeds"]} == {
        ("/partners/acme/feeds/all.rss", "acme", 1),
        ("/partners/acme/feeds/energy.atom", "acme", 1),
        ("/partners/[redacted]/feeds/all.rss", "[redacted]", 2),
        ("/partners/[unknown]/feeds/all.rss", "[unknown]", 1),
    }
    assert [d["document"] for d in result["documents"]] == [
        "/partners/acme/feeds/all/archive/2025-03.rss"
    ]
    # Without the partners file, the token is still never shown.
    for arguments in ((log, "--partners", partners), (log,)):
        assert main_output(capsys, *arguments).count(token) == 0
    assert token not in str(stats_json(capsys, log))


def main_output(capsys: pytest.CaptureFixture[str], *arguments: str | Path) -> str:
    status = main(["stats", *map(str, arguments)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out + captured.err


def test_subscribers_are_those_of_the_last_day_and_each_day_is_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = DAY - timedelta(days=1), DAY
    lines = [
        combined("/feeds/all.rss", FEEDLY.format(400), when=first),
        combined("/feeds/all.rss", NETNEWSWIRE, address="198.51.100.1", when=first),
        combined("/feeds/all.rss", NETNEWSWIRE, address="198.51.100.2", when=first),
        combined("/feeds/all.atom", NETNEWSWIRE, when=first),
        combined("/feeds/all.rss", FEEDLY.format(410), when=second),
        combined("/feeds/all.rss", NETNEWSWIRE, address="198.51.100.1", when=second),
    ]
    result = stats_json(capsys, write_log(tmp_path / "access.log", lines))
    assert result["days"] == {
        "2026-12-03": {"/feeds/all.rss": 402, "/feeds/all.atom": 1},
        "2026-12-04": {"/feeds/all.rss": 411, "/feeds/all.atom": 0},
    }
    assert [(f["feed"], f["subscribers"]) for f in result["feeds"]] == [
        ("/feeds/all.rss", 411),
        ("/feeds/all.atom", 0),
    ]
    since = stats_json(capsys, tmp_path / "access.log", "--since", "2026-12-04")
    assert list(since["days"]) == ["2026-12-04"]
    assert feed(since, "/feeds/all.rss")["requests"] == 2


def test_days_are_utc_days(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 00:30 in Berlin (UTC+1) is 23:30 UTC the day before.
    berlin = combined("/feeds/all.rss", "r/1", when=datetime(2026, 12, 5, 0, 30, tzinfo=CET))
    new_york = combined("/feeds/all.rss", "r/2", when=datetime(2026, 12, 4, 19, 30, tzinfo=EST))
    assert "[05/Dec/2026:00:30:00 +0100]" in berlin
    result = stats_json(capsys, write_log(tmp_path / "access.log", [berlin, new_york]))
    assert result["days"] == {
        "2026-12-04": {"/feeds/all.rss": 1},
        "2026-12-05": {"/feeds/all.rss": 1},
    }
    assert date.fromisoformat(max(result["days"])) == date(2026, 12, 5)


def test_widest_feeds_come_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        combined("/feeds/energy.rss", FEEDLY.format(3)),
        combined("/feeds/all.rss", FEEDLY.format(50)),
        combined("/feeds/all.atom", NETNEWSWIRE),
    ]
    result = stats_json(capsys, write_log(tmp_path / "access.log", lines))
    assert [f["feed"] for f in result["feeds"]] == [
        "/feeds/all.rss", "/feeds/energy.rss", "/feeds/all.atom"
    ]  # fmt: skip


def test_the_table_shows_feeds_widest_first_each_day_and_the_pollers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        combined("/feeds/energy.rss", FEEDLY.format(3), when=DAY - timedelta(days=1)),
        combined("/feeds/energy.rss", FEEDLY.format(3)),
        combined("/feeds/all.rss", FEEDLY.format(50)),
        combined("/feeds/all.rss", "Mozilla/5.0 (compatible; inoreader.com; 7 subscribers)"),
        combined("/feeds/all.rss", "Feedbin feed-id:1 - 5 subscribers"),
        combined("/feeds/all.rss", "NewsBlur Feed Fetcher - 2 subscribers - x"),
        *(
            combined("/feeds/all.atom", "curl/8.5", when=DAY + timedelta(minutes=m))
            for m in range(4)
        ),
    ]
    assert main(["stats", str(write_log(tmp_path / "access.log", lines))]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Subscribers on 2026-12-04 (UTC), logs from 2026-12-03 to 2026-12-04"
    assert "Feedly 50, Inoreader 7, Feedbin 5, 1 more 2" in out[3]
    rows = [line.split()[:2] for line in out[3:6]]
    assert rows == [["/feeds/all.rss", "64"], ["/feeds/energy.rss", "3"], ["/feeds/all.atom", "1"]]
    days = out.index("Subscribers per day")
    assert out[days + 1].split() == [
        "day",
        "/feeds/all.rss",
        "/feeds/energy.rss",
        "/feeds/all.atom",
    ]
    assert out[days + 2].split() == ["2026-12-03", "0", "3", "0"]
    assert out[days + 3].split() == ["2026-12-04", "64", "3", "1"]
    pollers = out.index("Polling most often, never answered 304 (no validator sent)")
    assert out[pollers + 2].split() == ["/feeds/all.atom", "4.0/day", "1", "client(s)", "curl/8.5"]


def test_since_takes_a_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["stats", "access.log", "--since", "last week"])
    assert exit_.value.code == 2
    assert "not a date (YYYY-MM-DD): 'last week'" in capsys.readouterr().err


def test_a_broken_partners_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    partners = tmp_path / "partners.toml"
    partners.write_text("[partners.acme]\ntoken_sha256 = 'short'\n", "utf-8")
    log = write_log(tmp_path / "access.log", [combined("/feeds/all.rss", NETNEWSWIRE)])
    assert main(["stats", str(log), "--partners", str(partners)]) == 2
    assert "token_sha256" in capsys.readouterr().err

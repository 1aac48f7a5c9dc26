"""Who is asking, from the User-Agent alone: an aggregator stating its subscribers, a crawler
or monitor that reads for nobody, or a reader (one person, or one self-hosted reader).

Aggregators fetch a feed once for all their users and say how many in the User-Agent
(``Feedly/1.0 (...; 462 subscribers; )``). The count is any number followed by "subscribers"
or "readers"; the aggregator is the User-Agent with that number taken out, so that two
feed-ids of one service (Feedbin's ``feed-id:1697787``) stay two aggregators. Its name comes
from AGGREGATOR_NAMES, or else from the User-Agent's first word.

EXCLUDED lists who never counts as a subscriber: search and AI crawlers, the link-preview
fetchers of chat and social apps, feed and markup validators, and uptime monitors. A User-Agent
naming one of them (case-insensitive), or any word ending in "bot", "crawler" or "spider",
is excluded unless it states a subscriber count.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

AgentKind = Literal["aggregator", "excluded", "reader"]

# Documented subscriber-count formats (examples in the README and tests/test_stats_agents.py).
AGGREGATOR_NAMES: tuple[tuple[str, str], ...] = (
    ("feedly", "Feedly"),
    ("inoreader", "Inoreader"),
    ("newsblur", "NewsBlur"),
    ("feedbin", "Feedbin"),
    ("theoldreader", "The Old Reader"),
    ("bazqux", "BazQux"),
    ("feedspot", "Feedspot"),
    ("netvibes", "Netvibes"),
    ("feeder.co", "Feeder"),
    ("feedhq", "FeedHQ"),
    ("bloglovin", "Bloglovin"),
    ("superfeedr", "Superfeedr"),
    ("tiny tiny rss", "Tiny Tiny RSS"),
    ("feedreader.com", "FeedReader"),
    ("g2reader", "G2Reader"),
    ("commafeed", "CommaFeed"),
    ("feedwrangler", "Feed Wrangler"),
    ("livedoor", "livedoor Reader"),
)

EXCLUDED: tuple[str, ...] = (
    # Search engines and AI crawlers.
    "Googlebot", "Google-InspectionTool", "Storebot-Google", "AdsBot-Google", "bingbot",
    "BingPreview", "msnbot", "Slurp", "DuckDuckBot", "Baiduspider", "YandexBot", "Yandex",
    "Sogou", "Exabot", "SeznamBot", "Applebot", "PetalBot", "Bytespider", "GPTBot",
    "ChatGPT-User", "OAI-SearchBot", "ClaudeBot", "Claude-User", "anthropic-ai", "CCBot",
    "PerplexityBot", "Amazonbot", "AhrefsBot", "SemrushBot", "MJ12bot", "DotBot", "BLEXBot",
    "DataForSeoBot", "archive.org_bot", "ia_archiver", "Qwantify", "MojeekBot",
    # Link previews of chat and social apps.
    "Slackbot", "Slack-ImgProxy", "facebookexternalhit", "facebookcatalog", "meta-externalagent",
    "Twitterbot", "LinkedInBot", "Discordbot", "TelegramBot", "WhatsApp", "SkypeUriPreview",
    "Pinterestbot", "redditbot", "Embedly", "Iframely", "vkShare", "Mastodon", "Pleroma",
    "Akkoma", "Misskey", "Bluesky", "Cardyb", "Google-PageRenderer", "Snapchat",
    # Validators and checkers.
    "W3C_Validator", "W3C-checklink", "validator.w3.org", "FeedValidator", "Validator.nu",
    "W3C_CSS_Validator", "Feed Validator", "Lighthouse", "PageSpeed", "GTmetrix",
    # Uptime monitors and health checks.
    "UptimeRobot", "Pingdom", "StatusCake", "Site24x7", "Uptime-Kuma", "Better Uptime",
    "BetterStack", "Datadog", "NewRelicPinger", "HetrixTools", "Freshping", "Checkly",
    "check_http", "monitoring-plugins", "Zabbix", "Nagios", "Blackbox Exporter",
    "ELB-HealthChecker", "kube-probe", "GoogleHC", "Cloudflare-Healthchecks", "UptimeMonitor",
    "Uptime.com", "Hund.io",
)  # fmt: skip

_COUNT = re.compile(r"(\d+)\s*(?:subscribers?|readers?)\b", re.IGNORECASE)
_EXCLUDED = re.compile(
    "|".join(re.escape(name) for name in EXCLUDED) + r"|\w*(?:bot|crawler|spider)\b",
    re.IGNORECASE,
)
_FIRST_WORD = re.compile(r"(?:Mozilla/\S+ \(compatible; )?([A-Za-z][\w.-]*)")


class Agent(NamedTuple):
    kind: AgentKind
    name: str  # the aggregator's name; the User-Agent itself for others
    key: str  # an aggregator: its User-Agent without the count; others: the User-Agent
    subscribers: int  # an aggregator's stated count; 0 for others


def classify(agent: str) -> Agent:
    """What a User-Agent says about who is asking (see the module's documentation)."""
    count = _COUNT.search(agent)
    if count is not None:
        key = agent[: count.start()] + "#" + agent[count.end() :]
        return Agent("aggregator", aggregator_name(agent), key, int(count[1]))
    if _EXCLUDED.search(agent):
        return Agent("excluded", agent, agent, 0)
    return Agent("reader", agent, agent, 0)


def aggregator_name(agent: str) -> str:
    """The service an aggregator's User-Agent names: a known one, or its first word."""
    folded = agent.casefold()
    for needle, name in AGGREGATOR_NAMES:
        if needle in folded:
            return name
    first = _FIRST_WORD.match(agent)
    return first[1] if first is not None else "unknown"

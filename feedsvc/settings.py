"""The only reader of configuration: defaults < site.toml < FEEDSVC_* environment < config.

Bad values raise ConfigError at start-up, naming the key and what to write instead.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .model import (
    ALL_SCOPE,
    LANGUAGE_PATTERN,
    PARTNER_NAME_PATTERN,
    SLUG_PATTERN,
    Category,
    Partner,
    Site,
    tag_date_start,
)
from .sanitize import xml_safe

ENV_PREFIX = "FEEDSVC"
SITE_FILE = "site.toml"

DEFAULT_ARTICLES_DIR = "articles"
DEFAULT_MAX_AGE = 300
DEFAULT_ARCHIVE_MAX_AGE = 86400
DEFAULT_RESCAN_INTERVAL = 0.5
DEFAULT_ITEMS_PER_FEED = 50
DEFAULT_WEBSUB_RETRY_DELAY = 10.0
DEFAULT_WEBSUB_RETRY_WINDOW = 86400.0
MAX_ITEMS_PER_FEED = 1000


@dataclass(frozen=True, slots=True)
class Key:
    """A configuration key as the docs' reference shows it (tests check that it is read)."""

    name: str  # as site.toml spells it; FEEDSVC_<NAME> in the environment
    default: str
    meaning: str
    # site: site.toml, overridden by FEEDSVC_*; site.toml: site.toml only; env: FEEDSVC_* and
    # create_app's config only; deploy: read by deploy/gunicorn.conf.py and deploy/granian.sh.
    where: Literal["site", "site.toml", "env", "deploy"] = "env"


KEYS = (
    Key("title", "required", "Site title: feed titles, the Atom feed author", "site"),
    Key("description", "the title", "Description of the full-site feed", "site"),
    Key("base_url", "required", "Absolute http(s) URL that starts every URL served", "site"),
    Key("language", "`en`", "Site language tag", "site"),
    Key("timezone", "`Europe/Berlin`", "IANA zone of dates without one and of links", "site"),
    Key("tag_authority", "required", "Domain or email address in every GUID: never change", "site"),
    Key("tag_date", "required", "`YYYY[-MM[-DD]]` in every GUID: never change", "site"),
    Key("items_per_feed", f"`{DEFAULT_ITEMS_PER_FEED}`", "Articles per subscription feed", "site"),
    Key("full_content", "`true`", "Full texts in public feeds; `false`: summaries", "site"),
    Key("hub_urls", "none", "WebSub hubs to name and notify (env: spaces or commas)", "site"),
    Key("categories", "none", "`[categories.<slug>]` tables: `title`, `description`", "site.toml"),
    Key("articles_dir", f"`{DEFAULT_ARTICLES_DIR}`", "The store folder (holds `site.toml`)"),
    Key("max_age", f"`{DEFAULT_MAX_AGE}`", "Seconds of `Cache-Control: max-age`"),
    # A closed archive month changes only when one of its articles is edited.
    Key("archive_max_age", f"`{DEFAULT_ARCHIVE_MAX_AGE}`", "The same, for past archive months"),
    # Cheap where inotify names the changed files, so it can be short.
    Key("rescan_interval", f"`{DEFAULT_RESCAN_INTERVAL}`", "Seconds between looks at the store"),
    Key("state_dir", "instance folder", "Folder of the machine's state database"),
    Key("partners_file", "none", "The partners file (outside the store)"),
    Key("websub_notify", "`true`", "Whether this machine notifies the hubs"),
    # A failed hub is retried after this delay, doubling up to 64 times it, for a day.
    Key("websub_retry_delay", f"`{DEFAULT_WEBSUB_RETRY_DELAY:g}`", "Seconds to a first retry"),
    Key("websub_retry_window", f"`{DEFAULT_WEBSUB_RETRY_WINDOW:g}`", "Seconds a change is retried"),
    Key("bind", "`127.0.0.1:8000`", "Address the server listens on", "deploy"),
    Key("workers", "`2`", "Worker processes", "deploy"),
    Key("access_log", "on", "`off`: no access log (behind nginx, which logs)", "deploy"),
)
# Site keys that FEEDSVC_<KEY> (or the config mapping) may override, as site.toml names them.
SITE_KEYS = tuple(key.name for key in KEYS if key.where == "site")

_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DNS_NAME = rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*"
# RFC 4151 section 2.1: taggingEntity = authorityName "," date; authorityName = DNSname / email.
TAG_AUTHORITY_PATTERN = re.compile(rf"{_DNS_NAME}|[A-Za-z0-9._%+-]+@{_DNS_NAME}")
TAG_DATE_PATTERN = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service needs to know, validated."""

    articles_dir: Path
    site: Site
    max_age: int  # seconds, for Cache-Control
    archive_max_age: int  # seconds, for Cache-Control of archive documents of past months
    rescan_interval: float  # seconds between looks at the store
    state_dir: Path | None  # where Last-Modified history is kept; None: the app's instance folder
    # The partners file (FEEDSVC_PARTNERS_FILE), outside the store; None: no partner feeds.
    partners_file: Path | None = None
    websub_notify: bool = True  # with hub_urls: whether this machine notifies the hubs
    websub_retry_delay: float = DEFAULT_WEBSUB_RETRY_DELAY  # seconds before the first retry
    websub_retry_window: float = DEFAULT_WEBSUB_RETRY_WINDOW  # seconds a notification is retried


def env_config(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The FEEDSVC_* variables (of ``environ``, else the process's) as config keys
    (``FEEDSVC_BASE_URL`` -> ``BASE_URL``), their values kept as strings."""
    prefix = f"{ENV_PREFIX}_"
    variables = os.environ if environ is None else environ
    return {k[len(prefix) :]: v for k, v in variables.items() if k.startswith(prefix)}


def load_settings(config: Mapping[str, object]) -> Settings:
    """Build Settings from a config mapping (upper-case keys) and the store's site.toml."""
    articles_dir = Path(str(config.get("ARTICLES_DIR") or DEFAULT_ARTICLES_DIR))
    table = read_site_file(articles_dir)
    for key in SITE_KEYS:
        override = config.get(key.upper())
        if override is not None and override != "":
            table[key] = override
    state_dir = config.get("STATE_DIR")
    partners_file = config.get("PARTNERS_FILE")
    return Settings(
        articles_dir=articles_dir,
        site=build_site(table, source=str(articles_dir / SITE_FILE)),
        max_age=_int(config.get("MAX_AGE", DEFAULT_MAX_AGE), "MAX_AGE", minimum=0),
        archive_max_age=_int(
            config.get("ARCHIVE_MAX_AGE", DEFAULT_ARCHIVE_MAX_AGE), "ARCHIVE_MAX_AGE", minimum=0
        ),
        rescan_interval=_float(
            config.get("RESCAN_INTERVAL", DEFAULT_RESCAN_INTERVAL), "RESCAN_INTERVAL"
        ),
        state_dir=Path(str(state_dir)) if state_dir else None,
        partners_file=Path(str(partners_file)) if partners_file else None,
        websub_notify=_bool(config.get("WEBSUB_NOTIFY", True), "WEBSUB_NOTIFY", "configuration"),
        websub_retry_delay=_float(
            config.get("WEBSUB_RETRY_DELAY", DEFAULT_WEBSUB_RETRY_DELAY),
            "WEBSUB_RETRY_DELAY",
            above_zero=True,
        ),
        websub_retry_window=_float(
            config.get("WEBSUB_RETRY_WINDOW", DEFAULT_WEBSUB_RETRY_WINDOW), "WEBSUB_RETRY_WINDOW"
        ),
    )


PARTNERS_HEADER = """\
# feedsvc partners (FEEDSVC_PARTNERS_FILE), written by `feedsvc partner add` and `revoke`.
# No token is kept here: token_sha256 is the SHA-256 of the partner's token.
"""
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def read_partners_file(path: Path) -> tuple[Partner, ...]:
    """The partners configured in ``path``, sorted by name; none when the file does not exist
    yet. Raises ConfigError naming the file, the partner and the field when it is invalid."""
    try:
        with path.open("rb") as f:
            table = tomllib.load(f)
    except FileNotFoundError:
        return ()
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot be read: {e}") from None
    entries = table.get("partners", {})
    if not isinstance(entries, Mapping) or set(table) - {"partners"}:
        raise ConfigError(f"{path}: expected only [partners.<name>] tables")
    partners = []
    for name, entry in entries.items():
        where = f"{path}: partner {name!r}"
        if not PARTNER_NAME_PATTERN.fullmatch(name):
            raise ConfigError(f"{where}: a name is 1 to 64 letters, digits, '-' or '_'")
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: must be a table")
        digest = entry.get("token_sha256")
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
            raise ConfigError(f"{where}: token_sha256 must be 64 lower-case hex digits")
        full_text = entry.get("full_text", True)
        if not isinstance(full_text, bool):
            raise ConfigError(f"{where}: full_text must be true or false")
        partners.append(
            Partner(
                name=name,
                token_sha256=digest,
                categories=_names(
                    entry.get("categories", []), SLUG_PATTERN, f"{where}: categories"
                ),
                languages=tuple(
                    language.lower()
                    for language in _names(
                        entry.get("languages", []), LANGUAGE_PATTERN, f"{where}: languages"
                    )
                ),
                full_text=full_text,
            )
        )
    return tuple(sorted(partners, key=lambda p: p.name))


def format_partners_file(partners: Iterable[Partner]) -> str:
    """The text of a partners file holding ``partners`` (read back by read_partners_file)."""
    lines = [PARTNERS_HEADER]
    for partner in sorted(partners, key=lambda p: p.name):
        # Names, slugs and language tags need no TOML escaping: their patterns exclude it.
        lines.append(f"[partners.{partner.name}]")
        lines.append(f'token_sha256 = "{partner.token_sha256}"')
        lines.append(f"categories = [{', '.join(f'{c!r}' for c in partner.categories)}]")
        lines.append(f"languages = [{', '.join(f'{lang!r}' for lang in partner.languages)}]")
        lines.append(f"full_text = {'true' if partner.full_text else 'false'}")
        lines.append("")
    return "\n".join(lines)


def _names(value: object, pattern: re.Pattern[str], where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, str) and pattern.fullmatch(v) for v in value
    ):
        raise ConfigError(f"{where} must be a list like {_EXAMPLES[pattern.pattern]}")
    return tuple(value)


_EXAMPLES = {SLUG_PATTERN.pattern: "['technology', 'energy']", LANGUAGE_PATTERN.pattern: "['de']"}


def read_site_file(articles_dir: Path) -> dict[str, object]:
    path = articles_dir / SITE_FILE
    if not articles_dir.is_dir():
        raise ConfigError(
            f"the article store {articles_dir} is not a folder: "
            "set FEEDSVC_ARTICLES_DIR to the folder that holds site.toml and the articles"
        )
    try:
        with path.open("rb") as f:
            return dict(tomllib.load(f))
    except FileNotFoundError:
        raise ConfigError(
            f"{path} is missing: create it with title, base_url, tag_authority and tag_date"
        ) from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot be read: {e}") from None


def build_site(table: Mapping[str, object], *, source: str = SITE_FILE) -> Site:
    """Validate the site table (site.toml after overrides) into a Site."""

    def text(key: str, *, required: bool = False, default: str = "") -> str:
        value = table.get(key)
        if value is None or value == "":
            if required:
                raise ConfigError(f"{source}: `{key}` is required: {_REQUIRED_HINTS[key]}")
            return default
        if isinstance(value, dt.date):
            return value.isoformat()  # TOML reads tag_date = 2025-01-01 as a date
        if not isinstance(value, str):
            raise ConfigError(f"{source}: `{key}` must be a string, not {value!r}")
        return _feed_text(value, f"`{key}`", source)

    title = text("title", required=True)
    base_url = _base_url(text("base_url", required=True), source)
    language = text("language", default="en")
    if not LANGUAGE_PATTERN.fullmatch(language):
        raise ConfigError(f"{source}: `language` {language!r} is not a language tag like 'en'")
    zone_name = text("timezone", default="Europe/Berlin")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{source}: `timezone` {zone_name!r} is not an IANA zone like 'Europe/Berlin'"
        ) from None
    tag_authority = text("tag_authority", required=True)
    if not TAG_AUTHORITY_PATTERN.fullmatch(tag_authority):
        raise ConfigError(
            f"{source}: `tag_authority` {tag_authority!r} must be a domain name or an email "
            "address (RFC 4151), like 'news.example.com'"
        )
    tag_date = text("tag_date", required=True)
    if not TAG_DATE_PATTERN.fullmatch(tag_date) or not _valid_tag_date(tag_date):
        raise ConfigError(
            f"{source}: `tag_date` {tag_date!r} must be a date YYYY, YYYY-MM or YYYY-MM-DD"
        )
    items = _int(table.get("items_per_feed", DEFAULT_ITEMS_PER_FEED), "items_per_feed", minimum=1)
    if items > MAX_ITEMS_PER_FEED:
        raise ConfigError(f"{source}: `items_per_feed` may be at most {MAX_ITEMS_PER_FEED}")
    return Site(
        title=title,
        description=text("description", default=title),
        base_url=base_url,
        language=language,
        timezone=zone,
        tag_authority=tag_authority,
        tag_date=tag_date,
        items_per_feed=items,
        categories=_categories(table.get("categories", {}), title, source),
        full_content=_bool(table.get("full_content", True), "full_content", source),
        hub_urls=_hub_urls(table.get("hub_urls", ()), source),
    )


_REQUIRED_HINTS = {
    "title": 'add title = "Your Site" to site.toml',
    "base_url": 'add base_url = "https://news.example.com" to site.toml or set FEEDSVC_BASE_URL',
    "tag_authority": (
        'add tag_authority = "news.example.com" to site.toml; it is part of every GUID and '
        "must never change, even when the site moves"
    ),
    "tag_date": (
        'add tag_date = "2025-01-01" to site.toml (a date on which you held the domain); '
        "it is part of every GUID and must never change"
    ),
}


def _base_url(value: str, source: str) -> str:
    parts = urlsplit(value)
    if any(c.isspace() for c in value):
        raise ConfigError(f"{source}: `base_url` {value!r} must not contain white space")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{source}: `base_url` {value!r} must be an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise ConfigError(f"{source}: `base_url` {value!r} must not have a query or fragment")
    return value.rstrip("/")


def _hub_urls(value: object, source: str) -> tuple[str, ...]:
    """WebSub hub URLs: a TOML list, or (FEEDSVC_HUB_URLS) one string of URLs separated by
    spaces or commas. Order kept, duplicates dropped."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{source}: `hub_urls` must be a list like ["https://hub.example.com/"]')
    urls: list[str] = []
    for url in value:
        parts = urlsplit(url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.fragment
            or not url.isascii()  # it goes into HTTP Link headers too
            or any(c.isspace() or c in '<>"' for c in url)
            or xml_safe(url) != url
        ):
            raise ConfigError(f"{source}: `hub_urls`: {url!r} is not an absolute http(s) URL")
        if url not in urls:
            urls.append(url)
    return tuple(urls)


def _valid_tag_date(value: str) -> bool:
    try:
        tag_date_start(value)
    except ValueError:
        return False
    return True


def _categories(value: object, site_title: str, source: str) -> tuple[Category, ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: `categories` must be tables like [categories.technology]")
    categories = []
    for slug, table in value.items():
        if not SLUG_PATTERN.fullmatch(slug) or slug == ALL_SCOPE:
            raise ConfigError(
                f"{source}: category slug {slug!r} must match [a-z0-9-]+ and not be "
                f"{ALL_SCOPE!r} (the full-site feed)"
            )
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: [categories.{slug}] must be a table")
        title = table.get("title") or slug.replace("-", " ").capitalize()
        description = table.get("description") or f"{title} at {site_title}"
        if not isinstance(title, str) or not isinstance(description, str):
            raise ConfigError(f"{source}: [categories.{slug}] title and description are strings")
        where = f"[categories.{slug}]"
        categories.append(
            Category(
                slug=slug,
                title=_feed_text(title, f"{where} title", source),
                description=_feed_text(description, f"{where} description", source),
            )
        )
    return tuple(sorted(categories, key=lambda c: c.slug))


def _feed_text(value: str, what: str, source: str) -> str:
    # Site texts go into every feed: one forbidden character would make all of them ill-formed.
    if xml_safe(value) != value:
        raise ConfigError(f"{source}: {what} holds control characters that XML cannot carry")
    return value.strip()


def _bool(value: object, key: str, source: str) -> bool:
    # FEEDSVC_FULL_CONTENT arrives as a string.
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[value.strip().lower()]
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: `{key}` must be true or false, not {value!r}")
    return value


_BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _int(value: object, key: str, *, minimum: int) -> int:
    number = None
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            number = int(value)
        except ValueError:
            pass
    if number is None or number < minimum:
        raise ConfigError(f"`{key}` must be a whole number of at least {minimum}, not {value!r}")
    return number


def _float(value: object, key: str, *, above_zero: bool = False) -> float:
    try:
        number = float(value) if isinstance(value, int | float | str) else -1.0
    except ValueError:
        number = -1.0
    if not number >= 0 or (above_zero and number == 0):  # also rejects NaN
        least = "above 0" if above_zero else "of at least 0"
        raise ConfigError(f"`{key}` must be a number of seconds {least}, not {value!r}")
    return number

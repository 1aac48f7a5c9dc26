"""Configuration: what is required, what overrides what, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc import create_app
from feedsvc.errors import ConfigError
from feedsvc.settings import env_config, load_settings

from .factories import Store


def site_without(store: Store, key: str) -> None:
    lines = (store.root / "site.toml").read_text().splitlines()
    store.write_site("\n".join(line for line in lines if not line.startswith(f"{key} =")))


@pytest.mark.parametrize("key", ["title", "base_url", "tag_authority", "tag_date"])
def test_required_site_keys_refuse_start_and_say_what_to_add(store: Store, key: str) -> None:
    site_without(store, key)
    with pytest.raises(ConfigError, match=f"`{key}` is required: add {key}"):
        create_app({"ARTICLES_DIR": str(store.root)})


def test_base_url_may_come_from_the_environment_instead(store: Store) -> None:
    site_without(store, "base_url")
    config = env_config({"FEEDSVC_BASE_URL": "https://env.example.org/news/", "OTHER": "x"})
    config["ARTICLES_DIR"] = str(store.root)
    assert load_settings(config).site.base_url == "https://env.example.org/news"


def test_environment_overrides_site_toml_and_config_overrides_both(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDSVC_ARTICLES_DIR", str(store.root))
    monkeypatch.setenv("FEEDSVC_BASE_URL", "https://env.example.org")
    monkeypatch.setenv("FEEDSVC_ITEMS_PER_FEED", "7")
    monkeypatch.setenv("FEEDSVC_MAX_AGE", "0123")  # a string, never JSON-decoded
    settings = load_settings(env_config())
    assert settings.site.base_url == "https://env.example.org"
    assert settings.site.items_per_feed == 7
    assert settings.max_age == 123
    app = create_app({"BASE_URL": "https://config.example.org", "STATE_DIR": str(tmp_path)})
    assert app.extensions["feedsvc"].settings.site.base_url == "https://config.example.org"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('base_url = "ftp://x.example"', "absolute http"),
        ('base_url = "https://x.example/?a=1"', "query or fragment"),
        ('tag_authority = "not a domain"', "domain name or an email"),
        ('tag_date = "2025-13-01"', "YYYY"),
        ('timezone = "Mars/Olympus"', "IANA zone"),
        ('language = "english please"', "language tag"),
        ("items_per_feed = 0", "at least 1"),
        ("items_per_feed = 5000", "at most"),
        ('[categories.all]\ntitle = "All"', "must match"),
        ('[categories."Big News"]\ntitle = "x"', "must match"),
        ('title = "Bell \\u0007"', "control characters"),
        ('[categories.news]\ntitle = "News \\u000b"', "control characters"),
        ('base_url = "https://x.example/a b"', "white space"),
    ],
)
def test_bad_site_values_are_refused(store: Store, line: str, message: str) -> None:
    key = line.split(" =")[0]
    lines = [
        x
        for x in (store.root / "site.toml").read_text().splitlines()
        if not x.startswith(f"{key} =")
    ]
    top = [x for x in lines if not x.startswith("[")][:8]
    store.write_site("\n".join([*top, line, *lines[len(top) :]]))
    with pytest.raises(ConfigError, match=message):
        load_settings({"ARTICLES_DIR": str(store.root)})


def test_tag_date_may_be_a_toml_date(store: Store) -> None:
    text = (
        (store.root / "site.toml")
        .read_text()
        .replace('tag_date = "2025-01-01"', "tag_date = 2025-01-01")
    )
    store.write_site(text)
    assert load_settings({"ARTICLES_DIR": str(store.root)}).site.tag_date == "2025-01-01"


def test_a_missing_store_or_site_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        load_settings({"ARTICLES_DIR": str(tmp_path / "nowhere")})
    with pytest.raises(ConfigError, match=r"site\.toml is missing: create it with title"):
        load_settings({"ARTICLES_DIR": str(tmp_path)})
    (tmp_path / "site.toml").write_text("title = [unclosed")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings({"ARTICLES_DIR": str(tmp_path)})


@pytest.mark.parametrize(("key", "value"), [("MAX_AGE", "-1"), ("RESCAN_INTERVAL", "soon")])
def test_bad_service_values_are_refused(store: Store, key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_settings({"ARTICLES_DIR": str(store.root), key: value})

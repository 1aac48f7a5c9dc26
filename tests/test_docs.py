"""The documentation cannot drift: its configuration table is the one settings.py reads, and
every ``feedsvc`` command it shows exists."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedsvc.cli import build_parser
from feedsvc.settings import KEYS, build_site, load_settings, read_site_file

from .factories import Store

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# The console script that `pip install` puts beside this Python (pyproject's [project.scripts]).
FEEDSVC = Path(sys.executable).with_name("feedsvc")


class Recording(dict[str, object]):
    """A mapping that notes every key asked for."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key: str, default: object = None) -> object:
        self.asked.add(key)
        return super().get(key, default)


def keys(*where: str) -> set[str]:
    return {key.name for key in KEYS if key.where in where}


def test_the_table_lists_every_key_the_service_reads_and_no_other(store: Store) -> None:
    config = Recording(ARTICLES_DIR=str(store.root))
    load_settings(config)
    assert config.asked == {name.upper() for name in keys("site", "env")}
    site_table = Recording(read_site_file(store.root))
    build_site(site_table)
    assert site_table.asked == keys("site", "site.toml")


def test_the_table_lists_every_variable_the_deploy_scripts_read_and_no_other() -> None:
    gunicorn = (ROOT / "deploy" / "gunicorn.conf.py").read_text(encoding="utf-8")
    granian = (ROOT / "deploy" / "granian.sh").read_text(encoding="utf-8")
    read_by_gunicorn = set(re.findall(r'environ\.get\("FEEDSVC_(\w+)"', gunicorn))
    read_by_granian = set(re.findall(r"\$\{FEEDSVC_(\w+):-", granian))
    assert {name.lower() for name in read_by_gunicorn} == keys("deploy")
    assert {name.lower() for name in read_by_granian} == keys("deploy")


def shown(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def test_the_defaults_the_table_shows_are_the_defaults_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store at the default folder, relative to the working directory; a site.toml with only
    # the required keys, so that every other key takes its default.
    Store(tmp_path / "articles").write_site(
        'title = "T"\nbase_url = "https://example.com"\n'
        'tag_authority = "example.com"\ntag_date = "2025"\n'
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    checked = []
    for key in KEYS:
        literal = re.fullmatch(r"`([^`]+)`", key.default)
        if literal is None or key.where == "deploy":
            continue
        value = getattr(settings.site if key.where == "site" else settings, key.name)
        assert shown(value) == literal.group(1), key.name
        checked.append(key.name)
    assert len(checked) >= 10


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every command path of ``parser``: ("check",), ("partner",), ("partner", "add"), ..."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield (*path, name)
                yield from commands(subparser, (*path, name))


COMMANDS = set(commands(build_parser()))


def commands_shown() -> set[tuple[str, ...]]:
    """The ``feedsvc <command> [<subcommand>]`` of every shell block and code span of the docs
    (other blocks hold diagrams and files)."""
    found = set()
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        shell = re.findall(r"^```(?:sh|console)\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
        prose = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
        code = shell + re.findall(r"`([^`\n]+)`", prose)
        for line in "\n".join(code).splitlines():
            for words in re.findall(r"(?:^|[\s/])feedsvc((?: [a-z][a-z-]*)+)", line):
                path = tuple(words.split()[:2])
                # A second word is a subcommand only where the command has subcommands.
                found.add(path if path in COMMANDS else path[:1])
    return found


def test_the_docs_show_only_commands_that_exist() -> None:
    shown_commands = commands_shown()
    assert {("serve",), ("check",), ("partner", "add"), ("import", "wordpress")} <= shown_commands
    assert shown_commands <= COMMANDS


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_every_command_answers_help(command: tuple[str, ...]) -> None:
    done = subprocess.run(
        [str(FEEDSVC), *command, "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: feedsvc {' '.join(command)}")

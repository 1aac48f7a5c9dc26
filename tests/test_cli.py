"""The feedsvc command."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.cli import main

from .factories import Store, store_reader


def test_check_lists_each_rejected_file_and_fails(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    store.add("good.md")
    store.add("bad.md", category="sports")
    store.write(store.root / "broken.md", "no front matter")
    assert main(["check", str(store.root)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("bad.md: category: unknown category 'sports'")
    assert lines[1].startswith("broken.md: does not start with")
    assert lines[2] == "1 articles valid, 2 files rejected"


def test_check_passes_on_a_clean_store(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    store.add()
    assert main(["check", str(store.root)]) == 0
    assert capsys.readouterr().out == "1 articles valid, 0 files rejected\n"


def test_check_reports_configuration_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path)]) == 2
    assert "site.toml is missing" in capsys.readouterr().err


def test_new_writes_a_valid_draft_with_a_fresh_id(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    title = 'Chips: "quoted" \u00fcber #1'
    assert main(["new", title, "--category", "technology", "--store", str(store.root)]) == 0
    assert main(["new", title, "--category", "technology", "--store", str(store.root)]) == 0
    first, second = (Path(p) for p in capsys.readouterr().out.split())
    assert first.name == "chips-quoted-uber-1.md"
    assert second.name == "chips-quoted-uber-1-2.md"
    snapshot = store_reader(store.root).scan()
    assert snapshot.problems == ()
    assert [a.title for a in snapshot.articles] == [title, title]
    assert all(a.draft for a in snapshot.articles)
    assert len({a.id for a in snapshot.articles}) == 2


def test_new_refuses_an_unknown_category(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "T", "--category", "sports", "--store", str(store.root)]) == 2
    assert "unknown category 'sports'" in capsys.readouterr().err

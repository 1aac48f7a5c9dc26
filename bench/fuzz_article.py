"""Coverage-guided fuzz target (atheris) over the whole article path: file bytes -> record ->
every feed format. Run by bench/fuzz.sh; an input that breaks a rule below is a finding (libFuzzer
writes it to bench/fuzz-findings/), to be turned into a regression test in tests/.

The rules: a file is either rejected with a one-line reason naming it, or it becomes a record
whose every feed format is well-formed (read as the tests read it) with nothing unsafe in its
HTML and only http(s)/mailto URLs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["feedsvc"]):
    from feedsvc.errors import ArticleError
    from feedsvc.settings import build_site
    from feedsvc.store.parse import read_article_bytes

from tests.checks import assert_served_safely

SITE = build_site(
    {
        "title": "Fuzz Wire",
        "base_url": "https://news.example.com",
        "tag_authority": "news.example.com",
        "tag_date": "2025-01-01",
        "categories": {
            slug: {} for slug in ("technology", "energy", "culture", "economy", "science", "world")
        },
    }
)


def check_rejection(error: ArticleError) -> None:
    assert error.path == "fuzz.md", error
    assert error.reason, error
    assert "\n" not in str(error), str(error)


def test_one_input(data: bytes) -> None:
    try:
        article, text = read_article_bytes(data, path="fuzz.md", site=SITE)
    except ArticleError as error:
        check_rejection(error)
        return
    assert_served_safely(article, text, SITE)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

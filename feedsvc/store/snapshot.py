"""A store snapshot and the duplicate rule (pure): what every instance serves from one store."""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..model import Article, Problem


@dataclass(frozen=True, slots=True)
class StoreSnapshot:
    """Every valid article (drafts and future ones too) and every rejected file."""

    articles: tuple[Article, ...]  # sorted by id
    problems: tuple[Problem, ...]  # sorted by path
    version: int  # grows by one whenever either changes


_ID: Callable[[Article], str] = operator.attrgetter("id")
# What no two articles may share, in the order their conflicts are reported.
_CLAIMS: tuple[tuple[str, Callable[[Article], str]], ...] = (
    ("GUID", operator.attrgetter("guid")),
    ("id", _ID),
    ("link", operator.attrgetter("link")),
)


def build_snapshot(
    candidates: list[tuple[str, Article]], problems: Iterable[Problem], version: int
) -> StoreSnapshot:
    """The snapshot of the articles served from each file (path, article) and the files
    rejected already. Two files claiming one id, GUID or link are both rejected, each naming
    the other, so that every instance decides alike whatever order it reads the files in. (One
    link for two articles happens when two files share a name and a month.)"""
    rejected: dict[str, list[str]] = defaultdict(list)
    served = [article for _, article in candidates]
    for what, value_of in _CLAIMS:
        values = list(map(value_of, served))
        if len(set(values)) == len(values):
            continue  # the usual case, found cheaply: no value claimed twice
        claims: dict[str, list[str]] = defaultdict(list)
        for (path, _), value in zip(candidates, values, strict=True):
            claims[value].append(path)
        for value, paths in sorted(claims.items()):
            if len(paths) > 1:
                paths.sort()  # (the files are not in any order here)
                for path in paths:
                    others = ", ".join(p for p in paths if p != path)
                    rejected[path].append(f"{what} {value!r} is also used by {others}")
    everything = list(problems)
    everything.extend(
        Problem(path, "; ".join(reasons)) for path, reasons in sorted(rejected.items())
    )
    articles = [a for path, a in candidates if path not in rejected]
    return StoreSnapshot(
        articles=tuple(sorted(articles, key=_ID)),
        problems=tuple(sorted(everything, key=lambda p: (p.path, p.reason))),
        version=version,
    )

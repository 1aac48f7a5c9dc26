"""Edge: new categories written into site.toml, its comments and layout kept (tomlkit)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import tomlkit

from ..model import Category
from ..settings import SITE_FILE


def categories_toml(categories: Sequence[Category]) -> str:
    """The ``[categories.<slug>]`` tables to add, as TOML text."""
    document = tomlkit.document()
    table = tomlkit.table(is_super_table=True)
    for category in categories:
        table.add(category.slug, _entry(category))
    document.add("categories", table)
    return tomlkit.dumps(document)


def add_categories(store: Path, categories: Sequence[Category]) -> None:
    """Add ``[categories.<slug>]`` tables to the store's site.toml, keeping everything else
    as written; the file is replaced in one step. Raises OSError."""
    path = store / SITE_FILE
    document = tomlkit.parse(path.read_text(encoding="utf-8-sig"))
    table = document.get("categories")
    if table is None:
        table = tomlkit.table(is_super_table=True)
        document.add(tomlkit.nl())
        document.add("categories", table)
    for category in categories:
        table.add(category.slug, _entry(category))
    handle, temporary = tempfile.mkstemp(dir=store, prefix=".site.toml.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(tomlkit.dumps(document))
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _entry(category: Category) -> tomlkit.items.Table:
    entry = tomlkit.table()
    entry.add("title", category.title)
    entry.add("description", category.description)
    return entry

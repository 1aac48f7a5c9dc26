"""The edge that reads the article store: files -> validated records, one module per job.

- ``parse``: one article file's bytes to its record and its text (pure);
- ``fields``: typed, bounded front-matter values (pure);
- ``files``: listing and reading the store's files safely;
- ``snapshot``: a snapshot of the store and the duplicate rule (pure);
- ``records``: records as plain values, for the state database;
- ``watch``: which files changed, from inotify;
- ``reader``: ``StoreReader``, which ties them together.
"""

from .files import paused_gc, printable_path
from .parse import (
    MAX_FILE_BYTES,
    PARSER_VERSION,
    article_text,
    parse_article,
    read_article,
    read_article_bytes,
    read_front_matter,
    render_text,
    slugify,
    split_front_matter,
)
from .reader import StoreReader
from .snapshot import StoreSnapshot
from .sweeps import ScanPolicy

__all__ = [
    "MAX_FILE_BYTES",
    "PARSER_VERSION",
    "ScanPolicy",
    "StoreReader",
    "StoreSnapshot",
    "article_text",
    "parse_article",
    "paused_gc",
    "printable_path",
    "read_article",
    "read_article_bytes",
    "read_front_matter",
    "render_text",
    "slugify",
    "split_front_matter",
]

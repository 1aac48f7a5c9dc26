"""Shell: ``feedsvc import wordpress``: a WordPress export written into the store.

Two passes over the export. The first reads it whole, checking that it is complete,
well-formed WXR, and keeps only small records (authors, category ids, attachments' URLs): a
featured image may be listed after its post. The second maps each post, checks the file with
the store's own parser and writes it to a temporary file beside the store's files. Only when
the whole export has been read do the files move into place (``os.replace``, one atomic step
each) and site.toml gain its new categories: bad input leaves the store as it was, and memory
holds one post at a time.

Each written file carries, as a YAML comment line of its front matter, the SHA-256 of the rest
of its text: a later run tells a file an editor changed (report, leave alone) from one the
importer wrote, wherever the store was copied, with no state kept anywhere else.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ArticleError
from ..frontmatter import load_front_matter
from ..model import Category, Site
from ..state import State
from ..store.parse import parse_article, read_front_matter
from ..store.reader import StoreReader
from .mapping import Attachment, ExportIndex, MappedPost, Skipped, map_post
from .sitefile import add_categories
from .wxr import Author, Item, Term, read_export

# The importer's own line, first in the front matter (a YAML comment: the store ignores it).
_MARKER = re.compile(r"^# imported from WordPress post (\d+); sha256:([0-9a-f]{64})\n", re.M)
_TEMP_SUFFIX = ".wp-import.tmp"  # not ".md": the service never reads a half-finished import


@dataclass
class ImportReport:
    """What a run did (or, with --dry-run, would do)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    edited: list[str] = field(default_factory=list)  # changed by hand, left alone
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)  # one line each: invalid posts, clashes
    shortcodes: list[str] = field(default_factory=list)  # "post 12: gallery, footnote"
    new_categories: list[Category] = field(default_factory=list)

    @property
    def imported(self) -> int:
        """Posts that are in the store as the export has them after the run."""
        return len(self.created) + len(self.updated) + self.unchanged


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """The command line's choices."""

    dry_run: bool = False
    overwrite: bool = False
    site_changes: bool = True
    id_prefix: str = "wp-"


def import_wordpress(export: Path, store: Path, site: Site, options: ImportOptions) -> ImportReport:
    """Import a WordPress export into the store folder. Raises WxrError on bad input (nothing
    is written then) and OSError when the store cannot be written."""
    index = _index(export)  # pass 1: the whole export is checked before anything is written
    existing = _existing_files(store, options.id_prefix)
    report = ImportReport()
    known = {c.slug for c in site.categories}
    planned: list[tuple[Path, Path]] = []  # (temporary file, destination)
    taken: set[Path] = set()
    # ("GUID", value) and the like -> (the article id that has it, where): the store's
    # articles, then each post as it is imported.
    claims = _store_claims(store, site)
    imported_ids: set[str] = set()
    # The temporary files wait in a hidden folder of the store (one file system: os.replace).
    with contextlib.ExitStack() as stack:
        scratch = (
            ""
            if options.dry_run
            else stack.enter_context(tempfile.TemporaryDirectory(prefix=".wp-import-", dir=store))
        )
        checked_site = site
        for item in _items(export):  # pass 2
            mapped = map_post(
                item, index, base_url=site.base_url, zone=site.timezone,
                id_prefix=options.id_prefix,
            )  # fmt: skip
            if isinstance(mapped, Skipped):
                report.skipped[mapped.reason] += 1
                continue
            clash = _clash(mapped, claims, imported_ids)
            if clash:
                report.skipped["clash"] += 1
                report.problems.append(f"post {mapped.post_id} (line {item.line}): {clash}")
                continue
            slug, name = mapped.category
            new_category = None if slug in known else Category(slug, name, name)
            candidate = _with_category(checked_site, new_category)
            old = existing.get(mapped.article_id)
            destination = old or _new_path(store, mapped, taken)
            relpath = destination.relative_to(store).as_posix()
            try:  # the file as the service will read it: rejected here, never written
                parse_article(mapped.text, path=relpath, site=candidate)
            except ArticleError as error:
                report.skipped["invalid"] += 1
                report.problems.append(f"post {mapped.post_id} (line {item.line}): {error}")
                continue
            taken.add(destination)
            if new_category is not None:
                known.add(slug)
                report.new_categories.append(new_category)
                checked_site = candidate
            if mapped.removed_shortcodes:
                names = ", ".join(dict.fromkeys(mapped.removed_shortcodes))
                report.shortcodes.append(f"post {mapped.post_id} ({relpath}): {names}")
            text = _marked(mapped)
            if old is not None:
                state = _compare(old.read_text(encoding="utf-8-sig"), text)
                if state == "unchanged":
                    report.unchanged += 1
                    continue
                if state == "edited" and not options.overwrite:
                    report.edited.append(relpath)
                    continue
                report.updated.append(relpath)
            else:
                report.created.append(relpath)
            if not options.dry_run:
                temporary = Path(scratch) / f"{len(planned)}{_TEMP_SUFFIX}"
                temporary.write_text(text, encoding="utf-8")
                planned.append((temporary, destination))
        if options.dry_run:
            return report
        if report.new_categories and options.site_changes:
            add_categories(store, report.new_categories)
        for temporary, destination in planned:
            _move_into_place(temporary, destination)
    return report


def _with_category(site: Site, category: Category | None) -> Site:
    """The site with one more category (site.toml gets it at the end of the run)."""
    if category is None:
        return site
    categories = tuple(sorted((*site.categories, category), key=lambda c: c.slug))
    return replace(site, categories=categories)


def _index(export: Path) -> ExportIndex:
    authors: dict[str, str] = {}
    categories: dict[str, str] = {}
    attachments: dict[str, Attachment] = {}
    for record in read_export(export):
        if isinstance(record, Author):
            authors[record.login] = record.display_name or record.login
        elif isinstance(record, Term):
            categories[record.term_id] = record.nicename
        elif record.post_type == "attachment":
            url = record.attachment_url or record.guid
            attachments[record.post_id] = Attachment(
                url, record.meta_value("_wp_attachment_image_alt")
            )
    return ExportIndex(authors, categories, attachments)


def _items(export: Path) -> Iterator[Item]:
    for record in read_export(export):
        if isinstance(record, Item):
            yield record


def _existing_files(store: Path, id_prefix: str) -> dict[str, Path]:
    """The store's article files with an id the importer gives, by id (file names may have
    been changed by hand: a file is found by its id, never by its name)."""
    found: dict[str, Path] = {}
    for path in sorted(store.rglob("*.md")):
        if any(part.startswith(".") for part in path.relative_to(store).parts):
            continue
        try:
            raw = path.read_bytes()
            header, _ = read_front_matter(raw, path.name)
            data = load_front_matter(header)
        except (OSError, ArticleError, ValueError):
            continue  # not an article the importer could have written
        if isinstance(data, dict):
            article_id = data.get("id")
            if isinstance(article_id, str) and article_id.startswith(id_prefix):
                found.setdefault(article_id, path)
    return found


def _store_claims(store: Path, site: Site) -> dict[tuple[str, str], tuple[str, str]]:
    """The GUIDs and links of the store's valid articles, read as the service reads them."""
    claims: dict[tuple[str, str], tuple[str, str]] = {}
    # A state database of its own: the service's belongs to the site as it is configured now.
    with tempfile.TemporaryDirectory(prefix="feedsvc-import-") as scratch:
        reader = StoreReader(store, site, State(Path(scratch)))
        for article in reader.scan().articles:
            for kind, value in (("GUID", article.guid), ("link", article.link)):
                claims[(kind, value)] = (article.id, article.path)
    return claims


def _clash(
    mapped: MappedPost, claims: dict[tuple[str, str], tuple[str, str]], imported_ids: set[str]
) -> str:
    """Why the store would reject this post beside another article (two articles never share
    an id, a GUID or a link), or ""."""
    if mapped.article_id in imported_ids:
        return f"its id {mapped.article_id} is another post's too"
    mine = [
        (kind, value) for kind, value in (("GUID", mapped.guid), ("link", mapped.link)) if value
    ]
    for key in mine:
        owner = claims.get(key)
        if owner is not None and owner[0] != mapped.article_id:
            return f"its {key[0]} {key[1]} is {owner[1]}'s too"
    imported_ids.add(mapped.article_id)
    for key in mine:
        claims[key] = (mapped.article_id, f"post {mapped.post_id}")
    return ""


def _new_path(store: Path, mapped: MappedPost, taken: set[Path]) -> Path:
    folder = store / mapped.folder
    path = folder / f"{mapped.name}.md"
    if path.exists() or path in taken:
        path = folder / f"{mapped.name}-{mapped.post_id}.md"
    return path


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _marked(mapped: MappedPost) -> str:
    """The file's text with the importer's marker as the front matter's first line."""
    marker = f"# imported from WordPress post {mapped.post_id}; sha256:{_digest(mapped.text)}\n"
    return mapped.text.replace("---\n", "---\n" + marker, 1)


def _compare(current: str, new: str) -> str:
    """ "unchanged", "edited" (by hand since it was written) or "stale" (safe to update)."""
    if current == new:
        return "unchanged"
    match = _MARKER.search(current)
    if match is None or _digest(_MARKER.sub("", current, count=1)) != match[2]:
        return "edited"
    return "stale"


def _move_into_place(temporary: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temporary, destination)  # atomic: a reader sees the old file or the new one

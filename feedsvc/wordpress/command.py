"""``feedsvc import wordpress EXPORT.xml``: the command line of the WordPress importer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..model import ID_PATTERN
from ..settings import Settings
from .importer import ImportOptions, ImportReport, import_wordpress
from .sitefile import categories_toml
from .wxr import WxrError


def add_parser(commands: Any) -> None:
    """Add ``import wordpress`` to the ``feedsvc`` command's subparsers."""
    importer = commands.add_parser("import", help="import articles from another publisher")
    sources = importer.add_subparsers(dest="source", required=True)
    wordpress = sources.add_parser(
        "wordpress",
        help="import a WordPress export (Tools -> Export, WXR 1.1 or 1.2)",
        description="Write one article file per WordPress post, keeping its GUID, so that "
        "subscribers see no post twice. Running it again updates changed posts.",
    )
    wordpress.add_argument("export", metavar="EXPORT.xml", help="the WordPress export file")
    wordpress.add_argument("--store", help="the store folder (default: FEEDSVC_ARTICLES_DIR)")
    wordpress.add_argument(
        "--dry-run", action="store_true", help="report what would be done; write nothing"
    )
    wordpress.add_argument(
        "--overwrite", action="store_true", help="also update files changed by hand since"
    )
    wordpress.add_argument(
        "--no-site-changes",
        action="store_true",
        help="print the categories to add to site.toml instead of adding them",
    )
    wordpress.add_argument(
        "--id-prefix", default="wp-", help="article ids are <prefix><post id> (default: wp-)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the import; 0 when at least one post is in the store as exported, 1 otherwise."""
    prefix: str = args.id_prefix
    if not ID_PATTERN.fullmatch(prefix + "1"):
        print(
            f"feedsvc: --id-prefix {prefix!r}: letters, digits, '.', '_', ':' or '-'",
            file=sys.stderr,
        )
        return 2
    options = ImportOptions(
        dry_run=args.dry_run,
        overwrite=args.overwrite,
        site_changes=not args.no_site_changes,
        id_prefix=prefix,
    )
    try:
        report = import_wordpress(Path(args.export), settings.articles_dir, settings.site, options)
    except WxrError as error:
        print(f"feedsvc: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(
            f"feedsvc: {error.filename or args.export}: {error.strerror or error}", file=sys.stderr
        )
        return 1
    _print_report(report, options)
    return 0 if report.imported else 1


def _print_report(report: ImportReport, options: ImportOptions) -> None:
    would = "would be " if options.dry_run else ""
    for line in report.problems:
        print(f"not imported: {line}")
    for line in report.shortcodes:
        print(f"shortcodes removed: {line}")
    for path in report.edited:
        print(
            f"changed by hand since the last import, left alone (--overwrite replaces it): {path}"
        )
    if report.new_categories:
        if options.site_changes:
            slugs = ", ".join(c.slug for c in report.new_categories)
            print(f"site.toml: categories {would}added: {slugs}")
        else:
            print("site.toml needs these categories (--no-site-changes: not added):")
            print(categories_toml(report.new_categories), end="")
    skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(report.skipped.items()))
    print(
        f"{would}created {len(report.created)}, {would}updated {len(report.updated)}, "
        f"unchanged {report.unchanged}, left alone {len(report.edited)}; "
        f"skipped {sum(report.skipped.values())}" + (f" ({skipped})" if skipped else "")
    )
    if not report.imported:
        print("nothing could be imported", file=sys.stderr)

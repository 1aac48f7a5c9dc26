"""The ``feedsvc`` command: check a store, write a new article, serve for development."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from .errors import ConfigError, ExportError
from .export import SNIPPET_NAME, build
from .settings import Settings, env_config, load_settings
from .store import StoreReader, TextError, slugify


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="feedsvc", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="list the article files that would be rejected")
    check.add_argument("store", nargs="?", help="the store folder (default: FEEDSVC_ARTICLES_DIR)")

    new = commands.add_parser("new", help="write a new draft article with a fresh id")
    new.add_argument("title")
    new.add_argument("--category", required=True, help="a category slug from site.toml")
    new.add_argument("--store", help="the store folder (default: FEEDSVC_ARTICLES_DIR)")

    build = commands.add_parser(
        "build", help="write every feed, archive, the OPML list and the home page as files"
    )
    build.add_argument("out", help="the folder to write (created, or replaced if an export)")
    build.add_argument("--store", help="the store folder (default: FEEDSVC_ARTICLES_DIR)")
    build.add_argument(
        "--no-gzip", action="store_true", help="do not write precompressed .gz files"
    )

    serve = commands.add_parser("serve", help="run the development server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return _check(_settings(args.store))
        if args.command == "new":
            return _new(_settings(args.store), args.title, args.category)
        if args.command == "build":
            return _build(_settings(args.store), Path(args.out), precompress=not args.no_gzip)
        return _serve(args.host, args.port)
    except (ConfigError, ExportError) as error:
        print(f"feedsvc: {error}", file=sys.stderr)
        return 2


def _settings(store: str | None) -> Settings:
    config = env_config()
    if store:
        config["ARTICLES_DIR"] = store
    return load_settings(config)


def _check(settings: Settings) -> int:
    # The reader logs each rejection for the service's log; here they are printed instead.
    logging.getLogger("feedsvc.store").setLevel(logging.ERROR)
    reader = StoreReader(settings.articles_dir, settings.site)
    snapshot = reader.scan()
    # The service renders texts when a feed first shows them; a check renders every one.
    for article in snapshot.articles:
        try:
            article.source.text()
        except TextError as error:
            snapshot = reader.withdraw(error)
    for problem in snapshot.problems:
        print(problem)
    rejected = len({p.path for p in snapshot.problems})
    print(f"{len(snapshot.articles)} articles valid, {rejected} files rejected")
    return 1 if rejected else 0


def _new(settings: Settings, title: str, category: str) -> int:
    site = settings.site
    if site.category(category) is None:
        known = ", ".join(c.slug for c in site.categories) or "none: add [categories.<slug>]"
        print(f"feedsvc: unknown category {category!r} (site.toml has {known})", file=sys.stderr)
        return 2
    now = datetime.now(UTC).astimezone(site.timezone)
    slug = slugify(title) or "article"
    folder = settings.articles_dir / f"{now:%Y}" / f"{now:%m}"
    path = folder / f"{slug}.md"
    counter = 2
    while path.exists():
        path = folder / f"{slug}-{counter}.md"
        counter += 1
    # A JSON string is a valid YAML double-quoted scalar: any title round-trips.
    text = (
        "---\n"
        f"id: {uuid.uuid4()}\n"
        f"title: {json.dumps(title, ensure_ascii=False)}\n"
        f"published: {now:%Y-%m-%d %H:%M}\n"
        f"category: {category}\n"
        "draft: true  # set to false (or delete this line) to publish\n"
        "---\n"
        "Write the article here, in Markdown.\n"
    )
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(path)
    return 0


def _build(settings: Settings, out: Path, *, precompress: bool) -> int:
    try:
        count = build(
            settings,
            out,
            now=datetime.now(UTC),
            state_dir=settings.state_dir,
            precompress=precompress,
        )
    except OSError as error:
        print(f"feedsvc: cannot write {out}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(f"{count} documents written to {out}; nginx: {out / SNIPPET_NAME}")
    return 0


def _serve(host: str, port: int) -> int:
    from . import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    create_app().run(host=host, port=port, threaded=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The ``feedsvc`` command: check a store, write a new article, serve for development."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from .errors import ArticleError, ConfigError, ExportError
from .export import SNIPPET_NAME, build
from .model import LANGUAGE_PATTERN, PARTNER_NAME_PATTERN, Partner
from .partners import editing, hash_token, new_token
from .settings import Settings, env_config, load_settings, read_partners_file
from .state import State
from .stats import add_parser as add_stats_parser
from .stats import run as run_stats
from .store.parse import slugify
from .store.reader import StoreReader
from .texts import Texts
from .wordpress import command as wordpress_import


def build_parser() -> argparse.ArgumentParser:
    """The ``feedsvc`` command line, every subcommand included (the docs' CLI reference)."""
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

    partner = commands.add_parser(
        "partner", help="add or revoke a syndication partner (FEEDSVC_PARTNERS_FILE)"
    )
    actions = partner.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a partner and print its token, once")
    add.add_argument("name", help="letters, digits, '-' or '_'; names its feeds' Atom ids")
    add.add_argument(
        "--categories", nargs="+", default=[], metavar="SLUG", help="allowed (default: all)"
    )
    add.add_argument(
        "--languages", nargs="+", default=[], metavar="TAG", help="allowed (default: all)"
    )
    add.add_argument(
        "--full-text",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="whole articles, or summaries only (default: whole articles)",
    )
    add.add_argument("--store", help="the store folder (default: FEEDSVC_ARTICLES_DIR)")
    revoke = actions.add_parser("revoke", help="remove a partner: its token stops working")
    revoke.add_argument("name")
    revoke.add_argument("--store", help="the store folder (default: FEEDSVC_ARTICLES_DIR)")
    actions.add_parser("list", help="list the partners and what each may read").add_argument(
        "--store", help="the store folder (default: FEEDSVC_ARTICLES_DIR)"
    )

    wordpress_import.add_parser(commands)
    add_stats_parser(commands)

    serve = commands.add_parser("serve", help="run the development server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(_settings(args.store))
        if args.command == "new":
            return _new(_settings(args.store), args.title, args.category)
        if args.command == "partner":
            return _partner(_settings(args.store), args)
        if args.command == "import":
            return wordpress_import.run(args, _settings(args.store))
        if args.command == "stats":
            return run_stats(args)
        if args.command == "build":
            return _build(_settings(args.store), Path(args.out), precompress=not args.no_gzip)
        return _serve(args.host, args.port)
    except (ConfigError, ExportError) as error:
        print(f"feedsvc: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the partners file cannot be written, for instance
        print(f"feedsvc: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 1


def _settings(store: str | None) -> Settings:
    config = env_config()
    if store:
        config["ARTICLES_DIR"] = store
    return load_settings(config)


def _check(settings: Settings) -> int:
    # The reader logs each rejection for the service's log; here they are printed instead.
    logging.getLogger("feedsvc.store").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="feedsvc-check-") as scratch:
        # With the service's state folder, files broken since the service last read them are
        # reported with the last good version it keeps serving.
        state = State(settings.state_dir or Path(scratch))
        reader = StoreReader(settings.articles_dir, settings.site, state)
        snapshot = reader.scan()
        # The service renders texts when a feed first shows them; a check renders every one.
        texts = Texts(state, reader.saved.version_bytes)
        for article in snapshot.articles:
            try:
                texts.text(article)
            except ArticleError as error:
                snapshot = reader.withdraw(article, error.detail)
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


def _partner(settings: Settings, args: argparse.Namespace) -> int:
    path = settings.partners_file
    if path is None:
        raise ConfigError(
            "FEEDSVC_PARTNERS_FILE is not set: point it at the partners file (outside the "
            "store; it is created on the first `feedsvc partner add`)"
        )
    if args.action == "list":
        for partner in read_partners_file(path):
            categories = ", ".join(partner.categories) or "all"
            languages = ", ".join(partner.languages) or "all"
            text = "full text" if partner.full_text else "summaries"
            print(f"{partner.name}: categories {categories}; languages {languages}; {text}")
        return 0
    name: str = args.name
    with editing(path) as partners:
        if args.action == "revoke":
            if partners.pop(name, None) is None:
                raise ConfigError(f"no partner named {name!r} in {path}")
            print(f"partner {name!r} revoked: its token no longer works")
            return 0
        if name in partners:
            raise ConfigError(
                f"partner {name!r} exists: `feedsvc partner revoke {name}` first for a new token"
            )
        token = new_token()
        partners[name] = _new_partner(settings, name, token, args)
    base = settings.site.base_url
    print(f"partner {name!r} added. Its token, shown this once (only its hash is kept):")
    print(f"  {token}")
    print(f"feeds: {base}/partners/{token}/feeds/all.rss (and every other feed address),")
    print(f"   or: the /feeds/ addresses with the header Authorization: Bearer {token}")
    return 0


def _new_partner(settings: Settings, name: str, token: str, args: argparse.Namespace) -> Partner:
    if not PARTNER_NAME_PATTERN.fullmatch(name):
        raise ConfigError(f"partner name {name!r}: 1 to 64 letters, digits, '-' or '_'")
    categories: list[str] = sorted(set(args.categories))
    for slug in categories:
        if settings.site.category(slug) is None:
            known = ", ".join(c.slug for c in settings.site.categories) or "none"
            raise ConfigError(f"unknown category {slug!r} (site.toml has {known})")
    languages: list[str] = sorted({language.lower() for language in args.languages})
    for language in languages:
        if not LANGUAGE_PATTERN.fullmatch(language):
            raise ConfigError(f"{language!r} is not a language tag like 'de' or 'pt-br'")
    return Partner(
        name=name,
        token_sha256=hash_token(token),
        categories=tuple(categories),
        languages=tuple(languages),
        full_text=bool(args.full_text),
    )


def _serve(host: str, port: int) -> int:
    from . import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    create_app().run(host=host, port=port, threaded=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

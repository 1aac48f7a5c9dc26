"""Table 2: rendering one 50-item feed from loaded records, against Django's feedgenerator
rendering the same 50 items in the same process.

    python -m bench.render STORE   (a store made by bench/make_store.py, 1,000 articles is plenty)
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings as django_settings
from django.utils import feedgenerator

from feedsvc.catalog import Catalog, FeedDocument, feed_url, item_content_html
from feedsvc.model import FEED_FORMATS, SITE_SCOPE, FeedKey, Site
from feedsvc.render import render_feed
from feedsvc.settings import load_settings
from feedsvc.state import State
from feedsvc.store.reader import StoreReader
from feedsvc.texts import Texts
from feedsvc.timeline import visible

from .common import table, timed

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def django_feed(site: Site, document: FeedDocument, fmt: str) -> bytes:
    """The same items (texts resolved) through django.utils.feedgenerator: what a Django site
    would serve."""
    generator_class = feedgenerator.Rss201rev2Feed if fmt == "rss" else feedgenerator.Atom1Feed
    feed = generator_class(
        title=document.title,
        link=document.page_url,
        description=document.description,
        feed_url=feed_url(site, document.key),
        language=document.language,
        feed_guid=site.tag_uri("/feeds/all"),
    )
    for article in document.articles:
        image = article.image
        enclosures = []
        if image is not None and image.type and image.length is not None:
            enclosures.append(feedgenerator.Enclosure(image.url, str(image.length), image.type))
        feed.add_item(
            title=article.title,
            link=article.link,
            # feedgenerator writes no content:encoded: a Django site puts the text here.
            description=item_content_html(article, document.text(article)),
            unique_id=article.guid,
            unique_id_is_permalink=False,
            pubdate=article.published,
            updateddate=article.updated,
            author_name=", ".join(article.authors) or None,
            categories=[article.category, *article.tags],
            enclosures=enclosures,
        )
    out = io.StringIO()
    feed.write(out, "utf-8")
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    args = parser.parse_args()
    django_settings.configure()
    config = load_settings({"ARTICLES_DIR": str(args.store)})
    site = config.site
    with tempfile.TemporaryDirectory() as scratch:
        state = State(Path(scratch))
        reader = StoreReader(config.articles_dir, site, state)
        snapshot = reader.scan()
        texts = Texts(state, reader.saved.version_bytes)
        catalog = Catalog(site, visible(snapshot.articles, FAR_FUTURE, site.timezone))
        documents = {}
        for fmt in FEED_FORMATS:
            document = catalog.document(FeedKey(SITE_SCOPE, fmt))
            assert document is not None
            resolved, failures = texts.resolve(document.articles)
            assert not failures, failures
            documents[fmt] = dataclasses.replace(document, texts=resolved)
    rows = []
    for fmt in FEED_FORMATS:
        document = documents[fmt]
        assert len(document.articles) == 50
        ours = timed(lambda: render_feed(site, document))  # noqa: B023 - called right here
        size = len(render_feed(site, document))
        if fmt == "json":
            rows.append([fmt, ours.ms(), f"{size:,}", "-", "-", "-"])
            continue
        reference = timed(lambda: django_feed(site, document, fmt))  # noqa: B023
        reference_size = len(django_feed(site, document, fmt))
        rows.append(
            [
                fmt,
                ours.ms(),
                f"{size:,}",
                reference.ms(),
                f"{reference_size:,}",
                f"{ours.median / reference.median:.2f}",
            ]
        )
    print(
        table(
            "Render one 50-item feed (median of 15 rounds of 10, min-max)",
            [
                "format",
                "feedsvc",
                "bytes",
                "Django feedgenerator",
                "bytes",
                "ratio (lower is faster)",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()

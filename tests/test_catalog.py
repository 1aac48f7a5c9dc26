"""Which feeds exist and what each document holds: pure, on records built in memory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedsvc import catalog as catalog_module
from feedsvc.catalog import Catalog
from feedsvc.model import (
    FEED_FORMATS,
    SITE_SCOPE,
    Article,
    FeedKey,
    Month,
    Scope,
    ScopeKind,
    Site,
    label_slug,
    parse_feed_path,
)
from feedsvc.settings import build_site
from feedsvc.store.parse import parse_article
from feedsvc.timeline import visible

from .factories import front_matter

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def scopes_of(site: Site, article: Article) -> dict[Scope, str]:
    """The rule, stated apart from the catalog's code: every scope an article belongs to,
    with its label (a tag or author with no letter or digit has none; the first spelling of
    a slug in the article's own list labels it)."""
    category = site.category(article.category)
    scopes = {
        SITE_SCOPE: site.title,
        Scope("category", article.category): category.title if category else article.category,
        Scope("lang", article.language.lower()): article.language,
    }
    named: dict[ScopeKind, tuple[str, ...]] = {"tag": article.tags, "author": article.authors}
    for kind, labels in named.items():
        for label in labels:
            if label_slug(label):
                scopes.setdefault(Scope(kind, label_slug(label)), label)
    return scopes


@pytest.fixture
def site() -> Site:
    return build_site(
        {
            "title": "Test Wire",
            "base_url": "https://news.example.com",
            "tag_authority": "news.example.com",
            "tag_date": "2025-01-01",
            "items_per_feed": 3,
            "categories": {"technology": {"title": "Technology"}, "energy": {"title": "Energy"}},
        }
    )


def article(site: Site, n: int, published: str, **fields: object) -> Article:
    values: dict[str, object] = {
        "id": f"id-{n}",
        "title": f'"Title {n}"',
        "published": published,
        "category": "technology",
    }
    values.update(fields)
    record, _ = parse_article(front_matter(values) + "Body.", path=f"{n}.md", site=site)
    return record


def catalog(site: Site, articles: list[Article], now: datetime = NOW) -> Catalog:
    return Catalog(site, visible(articles, now, site.timezone))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("all.rss", FeedKey(SITE_SCOPE, "rss")),
        ("technology.json", FeedKey(Scope("category", "technology"), "json")),
        ("tag/chips.atom", FeedKey(Scope("tag", "chips"), "atom")),
        ("author/jane-doe.rss", FeedKey(Scope("author", "jane-doe"), "rss")),
        ("lang/pt-br.json", FeedKey(Scope("lang", "pt-br"), "json")),
        ("all/archive/2025-03.rss", FeedKey(SITE_SCOPE, "rss", Month(2025, 3))),
        ("tag/archive.rss", FeedKey(Scope("tag", "archive"), "rss")),  # a tag named "archive"
        ("tag/archive/2025-03.rss", FeedKey(Scope("category", "tag"), "rss", Month(2025, 3))),
        ("tag/x/archive/1999-12.atom", FeedKey(Scope("tag", "x"), "atom", Month(1999, 12))),
        ("tag/芯片.rss", FeedKey(Scope("tag", "芯片"), "rss")),
    ],
)
def test_feed_paths_name_one_document_each_way(path: str, expected: FeedKey) -> None:
    assert parse_feed_path(path) == expected
    assert expected.path == path


@pytest.mark.parametrize(
    "path",
    [
        "all.xml", "all", ".rss", "Technology.rss", "tech nology.rss", "tag/.rss", "video/x.rss",
        "tag/a/b.rss", "all/archive/2025-13.rss", "all/archive/2025-3.rss",
        "all/archive/0000-01.rss", "all/archives/2025-03.rss", "tag//archive/2025-03.rss",
        "all/archive/2025-03/extra.rss",
    ],
)  # fmt: skip
def test_paths_that_name_no_document(path: str) -> None:
    assert parse_feed_path(path) is None


@pytest.mark.parametrize(
    ("label", "slug"),
    [
        ("Machine Learning", "machine-learning"),
        ("Jürgen Müller", "jurgen-muller"),
        ("  C++ / Rust_lang  ", "c-rust-lang"),
        ("芯片", "芯片"),
        ("Ελλάδα", "ελλαδα"),
        ("AI", "ai"),
        ("!!!", ""),
    ],
)
def test_label_slugs(label: str, slug: str) -> None:
    assert label_slug(label) == slug


def test_every_article_belongs_to_its_site_category_language_tags_and_authors(site: Site) -> None:
    a = article(
        site, 1, "2025-03-01 10:00", language="de-AT", tags="[Chips, chips, '!!']",
        authors="[Jürgen Müller, Ann Lee]",
    )  # fmt: skip
    assert scopes_of(site, a) == {
        SITE_SCOPE: "Test Wire",
        Scope("category", "technology"): "Technology",
        Scope("lang", "de-at"): "de-AT",
        Scope("tag", "chips"): "Chips",  # two spellings, one tag; "!!" has no address
        Scope("author", "jurgen-muller"): "Jürgen Müller",
        Scope("author", "ann-lee"): "Ann Lee",
    }


def test_scopes_exist_while_they_have_a_servable_article(site: Site) -> None:
    articles = [
        article(site, 1, "2025-03-01 10:00", tags="[chips]"),
        article(site, 2, "2025-07-01 10:00", tags="[future]", category="energy"),  # scheduled
        article(site, 3, "2025-03-02 10:00", tags="[draft]", draft="true"),
    ]
    scopes = {e.scope for e in catalog(site, articles).entries()}
    assert scopes == {SITE_SCOPE, Scope("category", "technology"), Scope("tag", "chips"),
                      Scope("lang", "en")}  # fmt: skip
    # The site feed exists before the first article.
    assert [e.scope for e in catalog(site, []).entries()] == [SITE_SCOPE]


def test_labels_do_not_depend_on_article_order(site: Site) -> None:
    one = article(site, 1, "2025-03-01 10:00", tags="[chips]")
    two = article(site, 2, "2025-03-02 10:00", tags="[Chips]")
    for articles in ([one, two], [two, one]):
        entry = catalog(site, articles).entry(Scope("tag", "chips"))
        assert entry is not None
        assert entry.label == "Chips"


def test_feed_language(site: Site) -> None:
    english = article(site, 1, "2025-03-01 10:00")
    german = article(site, 2, "2025-03-02 10:00", language="de", category="energy")
    c = catalog(site, [english, german])

    def language(path: str) -> tuple[str, bool]:
        key = parse_feed_path(path)
        assert key is not None
        document = c.document(key)
        assert document is not None
        return document.language, document.mixed_language

    assert language("all.rss") == ("en", True)  # mixed: the site's language, items say theirs
    assert language("energy.rss") == ("de", False)  # one language: the feed's
    assert language("lang/de.rss") == ("de", False)


def test_subscription_document_links_the_archive_of_its_oldest_item(site: Site) -> None:
    articles = [
        article(site, n, f"2025-0{month}-0{day} 10:00")
        for n, (month, day) in enumerate([(1, 5), (3, 1), (4, 2), (4, 3), (6, 1)])
    ]
    document = catalog(site, articles).document(FeedKey(SITE_SCOPE, "atom"))
    assert document is not None
    assert [a.id for a in document.articles] == ["id-4", "id-3", "id-2"]  # items_per_feed = 3
    assert document.prev_archive == FeedKey(SITE_SCOPE, "atom", Month(2025, 4))
    assert document.next_archive is None
    assert not document.is_archive


def test_archive_documents_cover_every_month_from_the_first_to_now(site: Site) -> None:
    articles = [
        article(site, 1, "2024-11-30 23:30"),  # 2024-11 in Berlin, though 22:30 UTC
        article(site, 2, "2025-01-01 00:30"),  # 2025-01 in Berlin, 2024-12 in UTC
        article(site, 3, "2025-01-20 10:00"),
        article(site, 4, "2025-06-01 10:00"),
    ]
    c = catalog(site, articles)

    def archive(month: Month) -> tuple[list[str], Month | None, Month | None] | None:
        document = c.document(FeedKey(SITE_SCOPE, "rss", month))
        if document is None:
            return None
        assert document.is_archive
        prev = document.prev_archive.archive if document.prev_archive else None
        following = document.next_archive.archive if document.next_archive else None
        return [a.id for a in document.articles], prev, following

    assert archive(Month(2024, 10)) is None  # before the first article
    assert archive(Month(2024, 11)) == (["id-1"], None, Month(2024, 12))
    # An empty month in between still exists: past months always link their successor.
    assert archive(Month(2024, 12)) == ([], Month(2024, 11), Month(2025, 1))
    # prev-archive skips empty months.
    assert archive(Month(2025, 1)) == (["id-3", "id-2"], Month(2024, 11), Month(2025, 2))
    assert archive(Month(2025, 5)) == ([], Month(2025, 1), Month(2025, 6))
    # The current month is open: it has no successor yet.
    assert archive(Month(2025, 6)) == (["id-4"], Month(2025, 1), None)
    assert archive(Month(2025, 7)) is None  # after now


def test_archives_of_every_format_and_scope(site: Site) -> None:
    articles = [article(site, 1, "2025-02-01 10:00", tags="[chips]", author="Ann Lee")]
    c = catalog(site, articles)
    for scope in (
        SITE_SCOPE,
        Scope("tag", "chips"),
        Scope("author", "ann-lee"),
        Scope("lang", "en"),
    ):
        for fmt in FEED_FORMATS:
            document = c.document(FeedKey(scope, fmt, Month(2025, 2)))
            assert document is not None
            assert [a.id for a in document.articles] == ["id-1"]
            assert document.title.endswith(": archive 2025-02")
    assert c.document(FeedKey(Scope("tag", "other"), "rss", Month(2025, 2))) is None


def test_a_past_archive_does_not_change_when_time_passes_or_articles_are_added(
    site: Site,
) -> None:
    old = [article(site, 1, "2025-02-01 10:00"), article(site, 2, "2025-04-01 10:00")]
    before = catalog(site, old).document(FeedKey(SITE_SCOPE, "rss", Month(2025, 2)))
    later = catalog(
        site, [*old, article(site, 3, "2025-08-01 10:00")], now=datetime(2025, 9, 1, tzinfo=UTC)
    )
    assert later.document(FeedKey(SITE_SCOPE, "rss", Month(2025, 2))) == before


def test_an_article_shows_at_its_instant_in_the_hour_winter_time_repeats(site: Site) -> None:
    # 2025-10-26 in Berlin: 02:00-03:00 happens twice, first at +02:00, then at +01:00.
    late = article(site, 1, "2025-10-26 02:30:00+01:00")  # the second 02:30: 01:30 UTC
    early = article(site, 2, "2025-10-26 02:50:00+02:00")  # the first 02:50: 00:50 UTC
    old = article(site, 3, "2025-10-20 12:00")
    soon = datetime(2025, 10, 26, 0, 55, tzinfo=UTC)  # 02:55 by the clock, the first time
    timeline = visible([late, early, old], soon, site.timezone)
    assert [a.id for a in timeline.articles] == ["id-2", "id-3"]
    assert timeline.next_due == late.published
    # (In UTC: an aware time in a repeated hour never equals one of another zone, PEP 495.)
    assert timeline.expires == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    before = visible([late, early, old], datetime(2025, 10, 25, tzinfo=UTC), site.timezone)
    assert before.next_due == early.published  # the earlier instant, a later wall time
    later = datetime(2025, 10, 26, 1, 35, tzinfo=UTC)  # 02:35 by the clock, the second time
    # Newest first by the instant: the second 02:30 came after the first 02:50.
    assert [a.id for a in visible([late, early, old], later, site.timezone).articles] == [
        "id-1",
        "id-2",
        "id-3",
    ]
    # The same moments given in the site's own zone are compared as instants too (in one zone,
    # Python compares wall times): 02:55 the first time is before the second 02:30.
    soon_local = soon.astimezone(site.timezone)
    assert soon_local.tzinfo is late.published.tzinfo
    assert [a.id for a in visible([late, early, old], soon_local, site.timezone).articles] == [
        "id-2",
        "id-3",
    ]


def test_the_catalog_groups_as_scopes_of_says(site: Site) -> None:
    spellings = ["Chips", "chips", "CHIPS", "Energy", "'!!'", "Jürgen", "jurgen"]
    articles = [
        article(
            site,
            n,
            f"2025-0{1 + n % 5}-0{1 + n % 7} 10:00",
            tags=f"[{spellings[n % 7]}, {spellings[(n * 3) % 7]}]",
            authors=f"[{spellings[(n + 4) % 7]}]",
            language=["en", "de", "DE"][n % 3],
            category=["technology", "energy"][n % 2],
        )
        for n in range(40)
    ]
    expected: dict[Scope, list[str]] = {}
    labels: dict[Scope, str] = {}
    timeline = visible(articles, NOW, site.timezone)
    for a in timeline.articles:
        for scope, label in scopes_of(site, a).items():
            expected.setdefault(scope, []).append(a.id)
            labels[scope] = min(label, labels.get(scope, label))
    built = catalog(site, articles)
    assert {e.scope: [a.id for a in e.articles] for e in built.entries()} == expected
    assert {e.scope: e.label for e in built.entries()} == labels


def test_scopes_are_grouped_on_first_use_once_and_not_for_the_site_feed(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = [article(site, n, f"2025-03-0{n + 1} 10:00", tags="[chips]") for n in range(3)]
    calls: list[str] = []
    real = catalog_module._scope_keys

    def counted(site: Site, article: Article) -> dict[tuple[ScopeKind, str], str]:
        calls.append(article.id)
        return real(site, article)

    monkeypatch.setattr(catalog_module, "_scope_keys", counted)
    built = catalog(site, articles)
    document = built.document(FeedKey(SITE_SCOPE, "rss"))
    assert document is not None
    assert [a.id for a in document.articles] == ["id-2", "id-1", "id-0"]
    assert calls == []  # the site feed needs no grouping
    assert built.document(FeedKey(Scope("tag", "chips"), "atom")) is not None
    assert built.document(FeedKey(Scope("category", "technology"), "json")) is not None
    assert len(built.entries()) == 4
    assert sorted(calls) == ["id-0", "id-1", "id-2"]  # grouped once

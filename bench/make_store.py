"""Generate a realistic article store for benchmarks: ``python bench/make_store.py N DIR``.

N articles in English and German (about one in five German), 300 to 1,500 words of body with
headings, lists, links and emphasis, eight categories, tags, authors, images on most articles,
a few sources, published over five years (one folder per year and month), some summaries with
inline HTML. Deterministic: the same N gives the same files.
"""

from __future__ import annotations

import argparse
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

CATEGORIES = {
    "technology": "Technology",
    "energy": "Energy",
    "economy": "Economy",
    "transport": "Transport",
    "culture": "Culture",
    "industry": "Industry",
    "automotive": "Automotive",
    "science": "Science",
}
TAGS = [
    "semiconductors", "ai", "batteries", "lng", "rail", "trade", "policy", "china", "europe",
    "eu", "research", "startups", "markets", "climate", "shipping", "film", "music", "chips",
    "Machine Learning", "Elektromobilität", "Wasserstoff", "Datenschutz",
]  # fmt: skip
AUTHORS = [
    "Lena Hartmann", "Daniel Okafor", "Mei Lin Vogt", "Tomasz Nowak", "Jürgen Müller",
    "Ana Souza", "Priya Raman", "Sven Lindqvist",
]  # fmt: skip
SOURCES = ["Guancha", "Wccftech", "Xinmin", "China Daily", "Reuters", "Batteries News", "Medium"]
WORDS = {
    "en": (
        "the market grid supply demand chip factory policy research export energy price "
        "government company investment growth battery network engineers data model report "
        "analysts customers rail freight port capacity quarter revenue costs plant region "
        "standard partners security industry share production technology transition"
    ).split(),
    "de": (
        "der die das Markt Netz Angebot Nachfrage Fabrik Politik Forschung Export Energie "
        "Preis Regierung Unternehmen Investition Wachstum Batterie Ingenieure Daten Modell "
        "Bericht Kunden Bahn Hafen Kapazität Quartal Umsatz Kosten Werk Region Partner "
        "Sicherheit Industrie Anteil Produktion Technik Wandel über für mit und"
    ).split(),
}
START = datetime(2021, 1, 1, 6, 0, tzinfo=UTC)
SPAN = timedelta(days=5 * 365)

SITE_TOML = """\
title = "Benchmark Wire"
description = "A generated store for benchmarks"
base_url = "https://news.example.com"
language = "en"
timezone = "Europe/Berlin"
tag_authority = "news.example.com"
tag_date = "2020-01-01"
"""


def sentence(rng: random.Random, language: str) -> str:
    words = rng.choices(WORDS[language], k=rng.randint(8, 22))
    if rng.random() < 0.15:
        words[rng.randrange(len(words))] = f"*{words[0]}*"
    if rng.random() < 0.08:
        words[rng.randrange(len(words))] = (
            f"[{words[1]}](https://example.org/{rng.randint(1, 999)})"
        )
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def body(rng: random.Random, language: str, words: int) -> str:
    parts: list[str] = []
    written = 0
    while written < words:
        kind = rng.random()
        if kind < 0.1:
            parts.append("## " + sentence(rng, language).rstrip("."))
        elif kind < 0.2:
            items = [sentence(rng, language) for _ in range(rng.randint(2, 5))]
            parts.append("\n".join(f"- {item}" for item in items))
            written += sum(len(i.split()) for i in items)
        else:
            paragraph = " ".join(sentence(rng, language) for _ in range(rng.randint(2, 6)))
            parts.append(paragraph)
            written += len(paragraph.split())
    return "\n\n".join(parts) + "\n"


def article(rng: random.Random, n: int, count: int) -> tuple[str, str]:
    """(relative path, file text) of article n of count, spread evenly over five years."""
    language = "de" if rng.random() < 0.2 else "en"
    published = START + SPAN * (n + rng.random()) / count
    title = sentence(rng, language).rstrip(".")[:90]
    slug = f"article-{n:06d}"
    lines = [
        "---",
        f"id: {uuid.UUID(int=rng.getrandbits(128), version=4)}",
        f'title: "{title}"',
        f"published: {published:%Y-%m-%d %H:%M}",
        f"category: {rng.choice(list(CATEGORIES))}",
        "tags: [" + ", ".join(f'"{t}"' for t in rng.sample(TAGS, rng.randint(1, 4))) + "]",
        f'author: "{rng.choice(AUTHORS)}"',
        f"language: {language}",
        f"slug: {slug}",
    ]
    if rng.random() < 0.3:
        lines.append(f'summary: "A <em>short</em> summary: {sentence(rng, language)}"')
    if rng.random() < 0.7:
        lines.append(
            f'image: {{url: "/media/{published:%Y}/{n}.jpg", alt: "Picture {n}", '
            f"type: image/jpeg, length: {rng.randint(20_000, 400_000)}}}"
        )
    if rng.random() < 0.4:
        lines.append("sources: [" + ", ".join(rng.sample(SOURCES, rng.randint(1, 3))) + "]")
    lines.append("---")
    text = "\n".join(lines) + "\n" + body(rng, language, rng.randint(300, 1500))
    return f"{published:%Y}/{published:%m}/{slug}.md", text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="number of articles")
    parser.add_argument("directory", type=Path, help="the store folder to create")
    args = parser.parse_args()
    root: Path = args.directory
    root.mkdir(parents=True, exist_ok=True)
    categories = "".join(
        f'\n[categories.{slug}]\ntitle = "{title}"\ndescription = "{title} news"\n'
        for slug, title in CATEGORIES.items()
    )
    (root / "site.toml").write_text(SITE_TOML + categories, encoding="utf-8")
    rng = random.Random(20261129)
    for n in range(args.count):
        path, text = article(rng, n, args.count)
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    print(f"{args.count} articles in {root}")


if __name__ == "__main__":
    main()

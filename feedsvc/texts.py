"""Article texts, resolved as an explicit step before a document is rendered.

A version's text is rendered once per machine: looked up in this process's memory, then in the
state database (shared by the machine's processes, kept across restarts), and only then
rendered from the version's bytes (Markdown, sanitizing: about 2 ms) and stored in both.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cachetools import LRUCache

from .errors import ArticleError
from .model import Article, ArticleText
from .state import State
from .store.files import printable_path
from .store.parse import article_text

log = logging.getLogger(__name__)

# Rendered texts kept per process (characters of HTML and plain text): enough for every
# subscription feed's items several times over; others come from the state database.
TEXT_MEMO_CHARS = 48 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Failure:
    """An article version whose text cannot be rendered, and why."""

    article: Article
    reason: str


class Texts:
    """Resolves the texts of article versions; ``read_version`` gives a version's bytes
    (OSError when they are not at hand any more)."""

    def __init__(
        self,
        state: State,
        read_version: Callable[[Article], bytes],
        budget: int = TEXT_MEMO_CHARS,
    ) -> None:
        self._state = state
        self._read_version = read_version
        self._memo: LRUCache[tuple[str, str], ArticleText] = LRUCache(
            budget,
            getsizeof=lambda t: len(t.content_html) + len(t.summary_html) + len(t.summary_text),
        )
        self._lock = threading.Lock()  # an LRUCache is not thread-safe

    def resolve(self, articles: Iterable[Article]) -> tuple[dict[str, ArticleText], list[Failure]]:
        """The text of each article, by id, and the articles whose text failed."""
        texts: dict[str, ArticleText] = {}
        failures: list[Failure] = []
        for article in articles:
            try:
                texts[article.id] = self.text(article)
            except ArticleError as e:
                failures.append(Failure(article, e.detail))
        return texts, failures

    def text(self, article: Article) -> ArticleText:
        """One article version's text. Raises ArticleError when it cannot be rendered."""
        key = (article.version, article.link)
        with self._lock:
            text = self._memo.get(key)
        if text is not None:
            return text
        text = self._state.text(*key)
        if text is None:
            # Outside the lock: two threads may render one text; no harm.
            text = self._render(article)
            self._state.put_text(*key, text)
        with self._lock, contextlib.suppress(ValueError):  # larger than the whole budget
            self._memo[key] = text
        return text

    def _render(self, article: Article) -> ArticleText:
        try:
            return article_text(self._read_version(article), article)
        except ArticleError:
            raise
        except OSError as e:
            raise ArticleError(article.path, e.strerror or str(e)) from None
        except Exception:  # a bug of ours or of a library: this article only, not the feed
            log.exception("unexpected error rendering %s", printable_path(article.path))
            reason = "could not be rendered because of an unexpected error (see the log)"
            raise ArticleError(article.path, reason) from None

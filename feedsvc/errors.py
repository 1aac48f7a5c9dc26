"""The exceptions feedsvc raises: one root, with context attributes."""

from __future__ import annotations


class FeedsvcError(Exception):
    """Root of every error feedsvc raises on purpose."""


class ConfigError(FeedsvcError, ValueError):
    """The site configuration is missing or invalid; the service refuses to start."""


class ArticleError(FeedsvcError, ValueError):
    """One article file cannot be served; every other article still is."""

    def __init__(self, path: str, reason: str, field: str | None = None) -> None:
        self.path = path
        self.field = field
        self.reason = reason
        super().__init__(str(self))

    @property
    def detail(self) -> str:
        """The message without the path: ``field: reason``."""
        return f"{self.field}: {self.reason}" if self.field else self.reason

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


class ExportError(FeedsvcError):
    """A static export cannot be written where asked."""

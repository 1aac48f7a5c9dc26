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

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}" if self.field else self.path
        return f"{where}: {self.reason}"

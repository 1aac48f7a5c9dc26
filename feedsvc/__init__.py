"""feedsvc: a folder of Markdown articles published as RSS 2.0, Atom 1.0 and JSON Feed 1.1 feeds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

from . import redact, web
from .fastpath import FastPath
from .keeper import Clock
from .partners import PartnerRegistry
from .service import FeedService, Policy
from .settings import env_config, load_settings
from .state import State
from .websub.notifier import EXTENSION_KEY, Notifier, install_fork_hooks

__all__ = ["create_app"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    config: Mapping[str, object] | None = None,
    *,
    clock: Clock | None = None,
    policy: Policy | None = None,
) -> Flask:
    """The Flask app over one article store.

    Configuration: defaults < the store's site.toml < FEEDSVC_* environment < ``config``
    (upper-case keys without the prefix, e.g. ``{"ARTICLES_DIR": ...}``). ``clock`` decides
    what is published yet; tests pass a fixed one, and their own tuning ``policy``. Raises
    ConfigError when the site is misconfigured. With hub_urls (and WEBSUB_NOTIFY on), a
    WebSub notifier thread starts (``app.extensions["feedsvc.websub"]``; ``stop()`` ends it).
    """
    app = Flask(__name__)
    app.config.update(env_config())
    if config:
        app.config.update(config)
    settings = load_settings(app.config)
    # The machine's state database (state.py), shared by every process serving this store.
    state = State(settings.state_dir or Path(app.instance_path))
    registry = None
    if settings.partners_file is not None:
        # Looked at no more often than the store, and never per request.
        registry = PartnerRegistry(settings.partners_file, settings.rescan_interval)
    # Partner tokens travel in paths and headers: keep them out of every server's log.
    redact.install()
    service = FeedService(settings, clock=clock or _utc_now, state=state, policy=policy)
    web.register(app, service, registry)
    # Aggregators poll cached feeds all day: the fast path answers those GETs and HEADs before
    # Flask's request machinery, at a fraction of its cost (bench/serve.py), and hands every
    # other request to the Flask app (web.py). Both answer alike through headers.py.
    app.wsgi_app = FastPath(app.wsgi_app, service)  # type: ignore[method-assign]
    if settings.site.hub_urls and settings.websub_notify:
        notifier = Notifier(service)
        service.on_new_view(notifier.wake)
        app.extensions[EXTENSION_KEY] = notifier
        # A thread does not survive fork, and one caught mid-work could leave a lock held in
        # the child (gunicorn's preloading master forks its workers after create_app).
        install_fork_hooks()
        notifier.start()
    return app

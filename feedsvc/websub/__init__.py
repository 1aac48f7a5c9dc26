"""WebSub publishing (https://www.w3.org/TR/websub/): telling the hubs which feeds changed.

- ``topics``, pure: from two catalogs, the subscription documents whose bytes changed, each
  format its own topic URL;
- ``outbox``, pure: the ETags announced, the notifications still to send, and which are due
  (settled, per-hub backoff, the retry window), with time passed in;
- ``notifier``, the shell: one ``Notifier`` per process, a thread that wins the election,
  asks the service, posts to the hubs and saves the outbox in the state database.
"""

from __future__ import annotations

from .notifier import SETTLE_MARGIN, Notifier, install_fork_hooks, post_publish
from .outbox import MAX_DOUBLINGS, Moment, Outbox, Pending, RetryPolicy
from .topics import changed_topics, topic_etags, topic_urls, touched_scopes

EXTENSION_KEY = "feedsvc.websub"

__all__ = [
    "EXTENSION_KEY",
    "MAX_DOUBLINGS",
    "SETTLE_MARGIN",
    "Moment",
    "Notifier",
    "Outbox",
    "Pending",
    "RetryPolicy",
    "changed_topics",
    "install_fork_hooks",
    "post_publish",
    "topic_etags",
    "topic_urls",
    "touched_scopes",
]

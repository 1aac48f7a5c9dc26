"""gunicorn settings for feedsvc: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Run it from the repository root, so that ``wsgi`` imports and relative paths resolve there.
Feeds are rendered lazily inside each worker (on the first request after a store change) and
kept in that worker's memory; requests for unchanged feeds are answered from those bytes.

Because the app is preloaded, ``kill -HUP`` rereads this file and replaces the workers but keeps
the code, site.toml and FEEDSVC_* values it started with: restart the service for those.
Article edits need neither: each worker rescans the store by itself.

With WebSub hubs (FEEDSVC_HUB_URLS), one worker notifies them, the one holding the notifier
lock in the state folder; the master, which forks, never does (README, "Push (WebSub)").
"""

import os

from feedsvc import redact

# Loopback by default: a reverse proxy (TLS, logging) sits in front; FEEDSVC_BIND changes it.
bind = os.environ.get("FEEDSVC_BIND", "127.0.0.1:8000")
# Each worker holds its own store copy and rendered feeds; two keep serving if one dies.
workers = int(os.environ.get("FEEDSVC_WORKERS", "2"))
# Threads serve ready bytes while one thread of the worker rescans the store or renders.
worker_class = "gthread"
# Requests are short lookups of rendered bytes: a few threads cover slow clients.
threads = 4
# Settings and first scan run once in the master: a bad site.toml stops start-up before any fork.
preload_app = True
# A worker silent for this long is killed and replaced by a fresh fork of the master.
timeout = 30
# On HUP or TERM, requests in flight get this long to finish.
graceful_timeout = 30
# Readers polling every few minutes reuse a connection only briefly; idle ones close after 5 s.
keepalive = 5
# Partner tokens (in /partners/<token>/ paths and Bearer headers) are replaced by [redacted]
# in the access and error logs, whatever their format (the app installs the same filter).
redact.install()
# Access log to stdout, where journald (or the container runtime) collects it; behind nginx,
# which logs every request itself, FEEDSVC_ACCESS_LOG=off saves a third of a cached request's cost.
accesslog = None if os.environ.get("FEEDSVC_ACCESS_LOG") == "off" else "-"
# Error log to stderr, next to the access log.
errorlog = "-"

"""A real WebSub hub for tests/test_websub_hub.py: flask-websub's Hub, its endpoint served by
Werkzeug and its tasks run by a Celery worker, with Redis (Debian's redis-server) as broker.

Both halves are separate processes configured by the environment:
- ``python -m tests.websub_hub PORT`` serves the hub endpoint on 127.0.0.1:PORT;
- ``celery -A tests.websub_hub worker`` runs the tasks (verifying subscribers, fetching
  topics, delivering content).
``WEBSUB_HUB_BROKER`` is the Redis URL, ``WEBSUB_HUB_DB`` the SQLite file of subscriptions.
"""

from __future__ import annotations

import os
import sys

from celery import Celery
from flask import Flask
from flask_websub.hub import Hub, SQLite3HubStorage
from werkzeug.serving import make_server

celery = Celery("websub_hub", broker=os.environ["WEBSUB_HUB_BROKER"])
# JSON only (Celery's default) and no result backend: the hub's tasks return nothing.
celery.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True)
hub = Hub(
    SQLite3HubStorage(os.environ["WEBSUB_HUB_DB"]),
    celery,
    # Content delivery to a subscriber that fails is retried quickly in tests.
    BACKOFF_BASE=0.5,
    REQUEST_TIMEOUT=5,
)


def make_app() -> Flask:
    app = Flask(__name__)
    # Publishers may POST hub.mode=publish: how feedsvc tells this hub about a change.
    app.config["PUBLISH_SUPPORTED"] = True
    app.register_blueprint(hub.build_blueprint(url_prefix="/hub"))
    return app


if __name__ == "__main__":
    make_server("127.0.0.1", int(sys.argv[1]), make_app(), threaded=True).serve_forever()

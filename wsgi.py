"""The WSGI entry point: ``gunicorn wsgi:app``. Configured by FEEDSVC_* variables."""

import sys

from feedsvc import create_app
from feedsvc.errors import ConfigError

try:
    app = create_app()
except ConfigError as error:
    sys.exit(f"feedsvc cannot start: {error}")

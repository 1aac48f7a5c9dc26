"""The WSGI entry point: ``gunicorn wsgi:app``. Configured by FEEDSVC_* variables."""

import logging
import sys

from feedsvc import create_app
from feedsvc.errors import ConfigError

# Rejected articles and store trouble are logged by feedsvc; send them where gunicorn logs.
logging.basicConfig(
    level=logging.INFO, format="[%(asctime)s] [%(levelname)s] %(name)s: %(message)s"
)

try:
    app = create_app()
except ConfigError as error:
    print(f"feedsvc cannot start: {error}", file=sys.stderr)
    # 3 is gunicorn's "worker failed to boot": it stops instead of booting workers forever.
    sys.exit(3)

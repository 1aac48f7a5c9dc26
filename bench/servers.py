"""What the benchmarks need to drive the production servers on 127.0.0.1: the small HTTP
client calls that wait for a server to answer. The servers themselves are started and stopped
as the tests do it (tests/servers.py: ``start_granian``, ``start_gunicorn``, ``stop_process``)."""

from __future__ import annotations

import http.client
from collections.abc import Mapping

HOST = "127.0.0.1"  # never anything but this machine's loopback


def get(
    port: int, path: str, headers: Mapping[str, str] | None = None, timeout: float = 30
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One GET on a connection of its own: (status, headers, body); OSError when nothing
    answers. Header names are case-insensitive (granian sends them in lower case)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()

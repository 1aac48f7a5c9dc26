"""The production servers as the benchmarks start them: deploy/granian.sh on 127.0.0.1, and the
small HTTP client calls that wait for a server to answer. (gunicorn is started by
tests/servers.py's ``start_gunicorn``, which bench/load.py shares with the tests.)"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from tests.servers import free_port

__all__ = ["HOST", "free_port", "get", "start_granian", "stop_server"]

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # never anything but this machine's loopback
GRANIAN = Path(sys.executable).parent / "granian"


def start_granian(
    store: Path,
    state: Path,
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    stdout: IO[bytes] | int = subprocess.DEVNULL,
    stderr: IO[bytes] | int = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """``deploy/granian.sh`` from the repository root (it execs granian: the process is the
    server), serving ``store`` on 127.0.0.1:``port`` with its state in ``state``; ``env`` adds
    or overrides FEEDSVC_* variables. Never a pipe for the output: a full one stops a server."""
    return subprocess.Popen(
        [str(REPO / "deploy" / "granian.sh")],
        cwd=REPO,
        env={
            **os.environ,
            "GRANIAN": str(GRANIAN),
            "FEEDSVC_ARTICLES_DIR": str(store),
            "FEEDSVC_STATE_DIR": str(state),
            "FEEDSVC_BIND": f"{HOST}:{port}",
            **(env or {}),
        },
        stdout=stdout,
        stderr=stderr,
    )


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


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (both servers give requests in flight 30 s), then wait for the exit."""
    if server.poll() is None:
        server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()

"""Real servers on 127.0.0.1 for tests and benchmarks: a WSGI app in a thread, the README's
production commands (gunicorn, granian) and nginx with deploy/nginx.conf, each on a free port
and always stopped; and a client that fetches from them without following redirects."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from werkzeug.serving import make_server

# --- a WSGI app in a thread ---------------------------------------------------------------


class StatusLog:
    """WSGI middleware that records each response's status code."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.codes: list[int] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def recording(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            self.codes.append(int(status.split()[0]))
            return start_response(status, headers, *args)

        return self.app(environ, recording)


@contextmanager
def serving(app: Callable[..., Iterable[bytes]]) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()  # the listening socket too, not left to the collector
        thread.join(timeout=10)


# --- the README's production commands, started for real -----------------------------------
# (tests/test_production.py, test_nginx.py)

REPO = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the system's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Redirects point at base_url, which is not this machine: never follow them.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` on 127.0.0.1 without following redirects; (status, headers, body), error
    statuses included."""
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def start_gunicorn(
    store_root: Path,
    home: Path,
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    stdout: IO[bytes] | int = subprocess.DEVNULL,
    stderr: IO[bytes] | int = subprocess.PIPE,
) -> subprocess.Popen[bytes]:
    """``gunicorn -c deploy/gunicorn.conf.py wsgi:app`` from the repository root, serving
    ``store_root`` on 127.0.0.1:``port`` with its state folder in ``home``; ``env`` adds or
    overrides FEEDSVC_* variables. The access log goes to ``stdout``, errors to ``stderr``
    (a pipe unless given: a long run must pass a file, or a full pipe stops the server)."""
    return subprocess.Popen(
        [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        cwd=REPO,
        env={
            **os.environ,
            "HOME": str(home),  # gunicorn keeps a control socket under ~/.gunicorn
            "FEEDSVC_ARTICLES_DIR": str(store_root),
            "FEEDSVC_STATE_DIR": str(home / "state"),
            "FEEDSVC_BIND": f"127.0.0.1:{port}",
            "FEEDSVC_WORKERS": "2",
            "FEEDSVC_RESCAN_INTERVAL": "0.2",
            **(env or {}),
        },
        stdout=stdout,
        stderr=stderr,
    )


# gunicorn's default access log format: ... "GET /feeds/all.rss HTTP/1.1" 200 ...
_ACCESS_LINE = re.compile(r'"[A-Z]+ (?P<target>\S+) HTTP/[0-9.]+" (?P<status>[0-9]{3}) ')


@dataclass
class Gunicorn:
    """A running production server and the file its access log is written to."""

    process: subprocess.Popen[bytes]
    base: str
    access_log: Path

    def statuses(self, target: str, at_least: int = 0) -> list[int]:
        """The status of every request for ``target`` (path and query) so far, in order.
        gunicorn logs a request just after answering it: wait (10 s at most) until the log
        holds ``at_least`` of them."""
        deadline = time.monotonic() + 10
        while True:
            lines = self.access_log.read_text("utf-8").splitlines()
            found = (_ACCESS_LINE.search(line) for line in lines)
            codes = [int(m["status"]) for m in found if m is not None and m["target"] == target]
            if len(codes) >= at_least or time.monotonic() > deadline:
                return codes
            time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.process)


@contextmanager
def production_server(
    store_root: Path, home: Path, env: Mapping[str, str] | None = None
) -> Iterator[Gunicorn]:
    """The README's production command on a free port, ready to answer; always stopped."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    access_log = home / "access.log"
    # The tests read what reached feedsvc in its access log: keep it on whatever the caller's
    # environment says.
    env = {**(env or {}), "FEEDSVC_ACCESS_LOG": "on"}
    with access_log.open("wb") as log:
        process = start_gunicorn(store_root, home, port, env=env, stdout=log)
    server = Gunicorn(process, f"http://127.0.0.1:{port}", access_log)
    try:
        wait_until_listening(port, process, "gunicorn")
        yield server
    finally:
        server.stop()


@contextmanager
def granian_server(
    store_root: Path, state: Path, env: Mapping[str, str], log: IO[bytes] | int
) -> Iterator[str]:
    """deploy/granian.sh on a free port, ready to answer; yields its base URL; always stopped.
    ``log`` takes its output (the access log, when FEEDSVC_ACCESS_LOG is on)."""
    port = free_port()
    process = start_granian(store_root, state, port, env=env, stdout=log, stderr=subprocess.PIPE)
    try:
        wait_until_listening(port, process, "granian")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def start_granian(
    store_root: Path,
    state: Path,
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    stdout: IO[bytes] | int = subprocess.DEVNULL,
    stderr: IO[bytes] | int = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """``deploy/granian.sh`` from the repository root (it execs granian: the process is the
    server), serving ``store_root`` on 127.0.0.1:``port`` with its state in ``state``; ``env``
    adds or overrides FEEDSVC_* variables. A pipe for the output must be read: a full one
    stops the server."""
    return subprocess.Popen(
        [str(REPO / "deploy" / "granian.sh")],
        cwd=REPO,
        env={
            **os.environ,
            "GRANIAN": str(Path(sys.executable).parent / "granian"),
            "FEEDSVC_ARTICLES_DIR": str(store_root),
            "FEEDSVC_STATE_DIR": str(state),
            "FEEDSVC_BIND": f"127.0.0.1:{port}",
            **(env or {}),
        },
        stdout=stdout,
        stderr=stderr,
    )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """SIGTERM (the servers give requests in flight 30 s), then wait for the exit; SIGKILL if
    it takes longer than ``timeout``. Closes the error pipe, if any."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stderr:
        process.stderr.close()


def wait_until_listening(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    """Wait (30 s at most) until something accepts connections on 127.0.0.1:``port``; fail
    with the process's error output if it exits first."""
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None:
                errors = process.stderr.read() if process.stderr else b""
                pytest.fail(f"{name} exited: {errors.decode(errors='replace')}")
            assert time.monotonic() < deadline, f"{name} did not start within 30 s"
            time.sleep(0.05)


# --- nginx with deploy/nginx.conf ---------------------------------------------------------

# nginx lives in /usr/sbin, which a user's PATH may lack.
NGINX = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))


def requires_nginx() -> pytest.MarkDecorator:
    """Skip without nginx, except in CI, where a missing nginx is a failure (.ci/run installs
    it). Called when a test module that runs nginx is imported."""
    if NGINX is None and os.environ.get("CI"):
        pytest.fail("nginx is not installed: .ci/run installs it", pytrace=False)
    return pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def render_deploy_conf(port: int, upstreams: Sequence[str], folder: Path) -> str:
    """deploy/nginx.conf with this test's address, instances, cache folder and log: the only
    lines replaced. Each must be found exactly once, so an edit there cannot go untested."""
    text = (REPO / "deploy" / "nginx.conf").read_text("utf-8")

    def replace(pattern: str, new: Callable[[re.Match[str]], str]) -> None:
        nonlocal text
        text, count = re.subn(pattern, new, text, flags=re.MULTILINE)
        assert count == 1, f"deploy/nginx.conf: expected one line matching {pattern!r}"

    replace(r"^(\s*)listen 80;$", lambda m: f"{m[1]}listen 127.0.0.1:{port};")
    replace(r"^\s*listen \[::\]:80;\n", lambda m: "")
    replace(
        r"^(\s*)server 127\.0\.0\.1:8000( [^;]*)?;$",
        lambda m: "\n".join(f"{m[1]}server {address}{m[2] or ''};" for address in upstreams),
    )
    replace(r"/var/cache/nginx/feedsvc(?= )", lambda m: str(folder / "cache"))
    replace(r"/var/log/nginx/feedsvc\.access\.log(?= )", lambda m: str(folder / "access.log"))
    return text


def write_nginx_conf(
    folder: Path, port: int, upstreams: Sequence[str], *, worker_processes: int = 1
) -> Path:
    """A main nginx.conf in ``folder`` that includes deploy/nginx.conf (rendered for this port
    and these instances) the way Debian's does, with every path it writes in ``folder``.
    Returns the main file, for ``nginx -p folder/ -c``."""
    (folder / "feedsvc.conf").write_text(render_deploy_conf(port, upstreams, folder), "utf-8")
    temp_paths = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, workers would run as nobody and could not write the cache under tmp_path.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(
        f"""daemon off;
{user}worker_processes {worker_processes};
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} notice;
events {{
    worker_connections 1024;
}}
http {{
{temp_paths}
    access_log off;
    # As in Debian's /etc/nginx/nginx.conf, which deploy/nginx.conf is included in.
    sendfile on;
    tcp_nopush on;
    gzip on;
    include {folder / "feedsvc.conf"};
}}
""",
        "utf-8",
    )
    return main

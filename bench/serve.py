"""Table 3: serving one cached feed under load, with wrk on 127.0.0.1, against references
measured in the same run.

    python -m bench.serve [--store DIR] [--seconds 5] [--rounds 3] [--connections 64]
                          [--only "feedsvc (granian),feedsvc behind nginx"]

Targets, each on its own port:
- nginx serving the same bytes as static files (``all.rss`` and ``all.rss.gz`` with
  gzip_static): the machine's floor;
- a bare WSGI callable returning the same bytes (bench/bare_wsgi.py) under the README's
  production command (gunicorn with deploy/gunicorn.conf.py): the framework floor;
- feedsvc under the README's production command;
- the same two under deploy/granian.sh, the README's command for serving clients directly;
- feedsvc under the production command behind nginx configured by deploy/nginx.conf.
Scenarios: a 200 without compression, a 200 with gzip, and a conditional GET answering 304.
All servers run side by side; the rounds take turns, each measuring every column once, and
each ratio to nginx static is taken within one round (this machine's drift is large).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.servers import free_port, write_nginx_conf

from .common import summarize, table

ROOT = Path(__file__).resolve().parent.parent
FEED = "/feeds/all.rss"
SCENARIOS = ("200 identity", "200 gzip", "304")
COLUMNS = ("nginx static", "bare WSGI (gunicorn)", "feedsvc (gunicorn)", "bare WSGI (granian)",
           "feedsvc (granian)", "feedsvc behind nginx")  # fmt: skip


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def running(
    command: list[str], env: dict[str, str], url: str, cwd: Path, log: Path | None = None
) -> Iterator[None]:
    """The server ``command`` until the block ends; its standard output (an access log) goes
    to ``log``, or nowhere."""
    with open(log or os.devnull, "ab") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_up(url, process)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def fetch(url: str, headers: dict[str, str]) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read(), response.headers["ETag"]


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> float:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Socket errors: .*|Non-2xx or 3xx responses: \d+", output)
    if errors:
        raise RuntimeError(f"wrk against {url}: {errors.group(0)}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert match, output
    return float(match.group(1))


NGINX_CONF = """\
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/client;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types {{ application/rss+xml rss; }}
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/static;
        location /feeds/ {{
            gzip_static on;
            add_header Vary Accept-Encoding;
            add_header Cache-Control "public, max-age=300";
        }}
    }}
}}
"""


def scenario_headers(scenario: str, etag: str) -> dict[str, str]:
    if scenario == "200 gzip":
        return {"Accept-Encoding": "gzip"}
    if scenario == "304":
        return {"If-None-Match": etag}
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="a store (default: 1,000 generated articles)")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--only", help="the columns to measure, comma-separated (nginx static always is)"
    )
    args = parser.parse_args()
    wanted = set(COLUMNS if args.only is None else args.only.split(",")) | {"nginx static"}
    if wanted - set(COLUMNS):
        parser.error(f"--only: no column named {', '.join(sorted(wanted - set(COLUMNS)))}")
    columns = [column for column in COLUMNS if column in wanted]
    python = sys.executable
    bin_dir = Path(python).parent
    with tempfile.TemporaryDirectory(prefix="feedsvc-bench-") as tmp_name, ExitStack() as servers:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # nginx's workers run as another user
        store = args.store
        if store is None:
            store = tmp / "store"
            subprocess.run([python, str(ROOT / "bench/make_store.py"), "1000", str(store)],
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        # gunicorn logs nothing (nginx in front logs in production); granian, which answers
        # clients directly, logs to a file as its default is, as nginx static does.
        base_env = {**os.environ, "FEEDSVC_ARTICLES_DIR": str(store), "FEEDSVC_WORKERS": "2",
                    "FEEDSVC_ACCESS_LOG": "off",
                    "FEEDSVC_STATE_DIR": str(tmp / "state")}  # fmt: skip
        urls: dict[str, str] = {}

        def start(
            name: str, command: list[str], env: dict[str, str], port: int, log: bool = False
        ) -> None:
            url = f"http://127.0.0.1:{port}{FEED}"
            log_file = tmp / f"{name.replace(' ', '-')}.log" if log else None
            servers.enter_context(running(command, env, url, ROOT, log_file))
            urls[name] = url

        # Every server runs from here to the end, idle but for its turn: the rounds take turns
        # (each round measures every column once), so that the machine's drift, which is large
        # here, reaches every column alike, and each ratio is taken within one round.
        gunicorn = [str(bin_dir / "gunicorn"), "-c", "deploy/gunicorn.conf.py"]
        port = free_port()
        start("feedsvc (gunicorn)", [*gunicorn, "wsgi:app"],
              {**base_env, "FEEDSVC_BIND": f"127.0.0.1:{port}"}, port)  # fmt: skip
        body, etag = fetch(urls["feedsvc (gunicorn)"], {})
        gzip_body, _ = fetch(urls["feedsvc (gunicorn)"], {"Accept-Encoding": "gzip"})
        static = tmp / "static/feeds"
        static.mkdir(parents=True)
        (static / "all.rss").write_bytes(body)
        (static / "all.rss.gz").write_bytes(gzip_body)
        bare_env = {**base_env, "BENCH_BODY": str(static / "all.rss"),
                    "BENCH_ETAG": etag.strip('"')}  # fmt: skip

        port = free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port))
        start("nginx static", ["nginx", "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"],
              dict(os.environ), port)  # fmt: skip

        if "feedsvc behind nginx" in wanted:
            app_port, port = free_port(), free_port()
            start("feedsvc behind nginx (instance)", [*gunicorn, "wsgi:app"],
                  {**base_env, "FEEDSVC_BIND": f"127.0.0.1:{app_port}"}, app_port)  # fmt: skip
            proxy = tmp / "behind-nginx"
            proxy.mkdir()
            main_conf = write_nginx_conf(proxy, port, [f"127.0.0.1:{app_port}"], worker_processes=2)
            start("feedsvc behind nginx",
                  ["nginx", "-p", f"{proxy}/", "-c", str(main_conf), "-e", "stderr"],
                  dict(os.environ), port)  # fmt: skip

        if "bare WSGI (gunicorn)" in wanted:
            port = free_port()
            start("bare WSGI (gunicorn)", [*gunicorn, "bench.bare_wsgi:app"],
                  {**bare_env, "FEEDSVC_BIND": f"127.0.0.1:{port}"}, port)  # fmt: skip

        granian = {"GRANIAN": str(bin_dir / "granian")}
        for name, module, env in (
            ("feedsvc (granian)", "wsgi:app", base_env),
            ("bare WSGI (granian)", "bench.bare_wsgi:app", bare_env),
        ):
            if name in wanted:
                port = free_port()
                start(name, ["deploy/granian.sh", module],
                      {**env, **granian, "FEEDSVC_BIND": f"127.0.0.1:{port}",
                       "FEEDSVC_ACCESS_LOG": "on"}, port, log=True)  # fmt: skip

        etags = {name: fetch(urls[name], {})[1] for name in columns}
        rates: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for scenario in SCENARIOS:
                for name in columns:
                    headers = scenario_headers(scenario, etags[name])
                    rate = wrk(urls[name], headers, args.seconds, args.connections)
                    rates.setdefault((name, scenario), []).append(rate)

    rows = []
    for scenario in SCENARIOS:
        floors = rates[("nginx static", scenario)]
        row = [scenario]
        for column in columns:
            timing = summarize(rates[(column, scenario)])
            cell = f"{timing.median:,.0f} ({timing.low:,.0f}-{timing.high:,.0f})"
            if column != "nginx static":
                ratios = summarize(
                    [
                        rate / floor
                        for rate, floor in zip(rates[(column, scenario)], floors, strict=True)
                    ]
                )
                cell += f", {ratios.median:.2f} ({ratios.low:.2f}-{ratios.high:.2f})"
            row.append(cell)
        rows.append(row)
    print(
        table(
            f"Requests/s for {FEED} ({len(body):,} bytes; gzip {len(gzip_body):,}), wrk -t2 "
            f"-c{args.connections}, {args.rounds} rounds of {args.seconds} s per column, taking "
            "turns (nginx and granian log to a file, gunicorn logs nothing): median (min-max), and "
            "the ratio to nginx static within each round: median (min-max)",
            ["scenario", *columns],
            rows,
        )
    )


if __name__ == "__main__":
    main()

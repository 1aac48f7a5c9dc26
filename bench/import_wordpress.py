"""Table: ``feedsvc import wordpress`` against ``pelican-import --wpfile`` on one large export.

    python -m bench.import_wordpress [--posts 20000] [--work DIR] [--pelican pelican-import]

The export is made from WordPress's own (tests/fixtures/wordpress/export.xml): its channel
(authors, categories) and its posts, repeated with new ids, slugs, dates and GUIDs until
``--posts`` posts (20,000 make about 100 MB). Each importer runs once in a fresh process on the
same file, writing into an empty folder; the table gives its wall time and its peak resident
memory (``wait4``'s ``ru_maxrss``: the process and the children it waited for, pandoc for
pelican). Pelican is not a dependency of feedsvc; install it, and pandoc, to run this:

    python3 -m venv /tmp/pelican && /tmp/pelican/bin/pip install pelican beautifulsoup4 lxml
    apt-get install pandoc
    python -m bench.import_wordpress --pelican /tmp/pelican/bin/pelican-import
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

from .common import table

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "wordpress" / "export.xml"
WP = "{http://wordpress.org/export/1.2/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
# A post of the fixture is short; repeated this often, a post's text is a few kilobytes, as
# on a news site.
CONTENT_REPEATS = 28


def make_export(posts: int, target: Path) -> int:
    """Write an export of ``posts`` posts made from the fixture's; its size in bytes."""
    parser = etree.XMLParser(strip_cdata=False, resolve_entities=False, no_network=True)
    tree = etree.parse(str(FIXTURE), parser)
    channel = tree.getroot().find("channel")
    assert channel is not None
    items = channel.findall("item")
    templates = [
        i
        for i in items
        if i.findtext(f"{WP}post_type") == "post" and i.findtext(f"{WP}status") == "publish"
    ]
    for item in items:
        if item.findtext(f"{WP}post_type") == "post":
            channel.remove(item)  # the attachment and pages stay
    head, tail = etree.tostring(tree, encoding="unicode").split("</channel>")
    with target.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8" ?>\n' + head)
        for n in range(posts):
            item = copy.deepcopy(templates[n % len(templates)])
            post_id = str(100_000 + n)
            year, day = 2010 + n % 15, n % 28 + 1
            month = (n // 15) % 12 + 1
            date = f"{year}-{month:02}-{day:02} {n % 24:02}:{n % 60:02}:00"
            name = f"{item.findtext(f'{WP}post_name')}-{n}"
            _set(item, "title", f"{item.findtext('title')} #{n}")
            _set(item, "link", f"https://blog.example.com/{year}/{month:02}/{name}/")
            _set(item, "guid", f"https://blog.example.com/?p={post_id}")
            for tag, value in (("post_id", post_id), ("post_name", name), ("post_date", date),
                               ("post_date_gmt", date), ("post_modified", date),
                               ("post_modified_gmt", date)):  # fmt: skip
                _set(item, f"{WP}{tag}", value)
            content = item.find(CONTENT)
            assert content is not None
            content.text = etree.CDATA("\n\n".join([content.text or ""] * CONTENT_REPEATS))
            out.write("\n\t\t" + etree.tostring(item, encoding="unicode"))
        out.write("</channel>" + tail)
    return target.stat().st_size


def _set(item: etree._Element, tag: str, value: str) -> None:
    element = item.find(tag)
    assert element is not None, tag
    element.text = etree.CDATA(value) if tag.startswith(WP) else value


def measure(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one run of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    errors = process.stderr.read().decode(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {errors[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024  # KiB on Linux


SITE = """\
title = "Bench Blog"
base_url = "https://blog.example.com"
timezone = "Europe/Berlin"
tag_authority = "blog.example.com"
tag_date = "2010-01-01"
"""


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--posts", type=int, default=20_000)
    options.add_argument("--work", type=Path, help="a folder for the export and outputs (kept)")
    options.add_argument("--pelican", default="pelican-import", help="the pelican-import command")
    args = options.parse_args()
    pelican = shutil.which(args.pelican)
    if pelican is None:
        raise SystemExit(f"{args.pelican} not found: see this script's docstring")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    export = work / f"export-{args.posts}.xml"
    if not export.exists():
        size = make_export(args.posts, export)
    size = export.stat().st_size
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir()
    (store / "site.toml").write_text(SITE)
    feedsvc = [
        sys.executable,
        "-m",
        "feedsvc.cli",
        "import",
        "wordpress",
        str(export),
        "--store",
        str(store),
    ]
    ours = measure(feedsvc, work)
    written = sum(1 for _ in store.rglob("*.md"))
    out = work / "pelican"
    shutil.rmtree(out, ignore_errors=True)
    peer = measure([pelican, "--wpfile", "-m", "markdown", "-o", str(out), str(export)], work)
    rows = [
        ["feedsvc import wordpress", f"{ours[0]:.1f} s", f"{ours[1]:.0f} MiB", str(written),
         "1.00"],
        ["pelican-import --wpfile -m markdown", f"{peer[0]:.1f} s", f"{peer[1]:.0f} MiB",
         f"{sum(1 for _ in out.rglob('*.md'))}", f"{peer[0] / ours[0]:.2f}"],
    ]  # fmt: skip
    title = f"Importing a WordPress export: {args.posts} posts, {size / 1e6:.0f} MB"
    header = ["importer", "time", "peak RSS", "files written", "time vs feedsvc"]
    print(table(title, header, rows))


if __name__ == "__main__":
    main()

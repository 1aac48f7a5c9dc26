"""Listing and reading the store's files safely: regular files only, symbolic links only
inside the store, a FIFO never waited for, a file growing while read never read past the limit.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from .parse import MAX_FILE_BYTES

# A file's stamp: it changes whenever the file may have ("mtime:size:inode:ctime"; "" when
# unknown). A string: kept as it is in the state database, and read back without parsing.
Stamp = str


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a store's records are built: Python would otherwise
    walk the growing heap again and again (half the time of reading 100,000 records). The
    records hold no cycles; reference counting frees what they drop."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def link_problem(root: Path, full: str) -> str | None:
    """Why a symbolic link is not followed: a loop, a missing target, or one outside."""
    if not os.path.islink(full):
        return None
    try:
        target = os.path.realpath(full, strict=True)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a symbolic link in a loop"
        return "a symbolic link to a missing file"
    # A link out of the store would publish whatever file it points at.
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, target]) != real_root:
        return "a symbolic link to a file outside the store (not followed)"
    return None


def stamp_of(st: os.stat_result) -> Stamp:
    return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}:{st.st_ctime_ns}"


def file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "of another kind"


def printable_path(path: str) -> str:
    """A path as messages show it: bytes that are not UTF-8 (which Python keeps as lone
    surrogates) as \\x escapes, control characters as \\u escapes."""
    decoded = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", decoded)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def read_regular_file(path: str) -> tuple[bytes, Stamp]:
    """At most MAX_FILE_BYTES + 1 bytes of a regular file, and its stamp after reading.
    Non-blocking open: a file swapped for a FIFO after it was listed must not hang the scanner.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file")
        # One read of the size the file has (plus one byte, to see it grow); a buffered read
        # of the full limit would allocate a megabyte for every file.
        limit = MAX_FILE_BYTES + 1
        want = min(st.st_size + 1, limit)
        data = os.read(fd, want)
        if len(data) == want:  # it grew since fstat: read on, up to the limit
            while len(data) < limit and (more := os.read(fd, limit - len(data))):
                data += more
        return data, stamp_of(os.fstat(fd))
    finally:
        os.close(fd)


def list_store(root: Path) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(relative posix path, full path) of every ``*.md`` below root, hidden ones skipped and
    symbolic links to folders not followed; and the folders below root that cannot be listed
    or are not followed, with why. OSError when root itself cannot be listed."""
    found: list[tuple[str, str]] = []
    unlisted: dict[str, str] = {}
    pending = [""]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(os.path.join(root, folder)) as listing:
                entries = [(e.name, e.path, e.is_dir(follow_symlinks=False)) for e in listing]
        except OSError as e:
            if not folder:
                raise
            unlisted[folder] = f"folder cannot be listed ({e.strerror}); its articles are kept"
            continue
        for name, full, is_folder in entries:
            if name.startswith("."):
                continue
            relpath = f"{folder}/{name}" if folder else name
            if is_folder:
                pending.append(relpath)
            elif name.endswith(".md"):
                found.append((relpath, full))
            elif os.path.islink(full) and os.path.isdir(full):
                unlisted[relpath] = "a symbolic link to a folder (not followed)"
    return sorted(found), unlisted

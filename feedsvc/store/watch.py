"""Which files of a folder tree changed, from Linux inotify: an idle change check of a store of
100,000 articles is one read() that finds nothing, where a stat of every file costs a second.

Only a hint: the reader still sweeps the whole store now and then, and whenever the watch
cannot say (events lost, a folder added or moved, no inotify on this system or file system).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import struct
import weakref
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_MODIFY = 0x2
_ATTRIB = 0x4
_CLOSE_WRITE = 0x8
_MOVED_FROM = 0x40
_MOVED_TO = 0x80
_CREATE = 0x100
_DELETE = 0x200
_DELETE_SELF = 0x400
_MOVE_SELF = 0x800
_UNMOUNT = 0x2000
_Q_OVERFLOW = 0x4000
_IGNORED = 0x8000
_ONLYDIR = 0x01000000
_DONT_FOLLOW = 0x02000000
_ISDIR = 0x40000000
_MASK = (
    _MODIFY | _ATTRIB | _CLOSE_WRITE | _MOVED_FROM | _MOVED_TO | _CREATE | _DELETE
    | _DELETE_SELF | _MOVE_SELF | _ONLYDIR | _DONT_FOLLOW
)  # fmt: skip
# Events after which the watch cannot tell which files changed.
_LOST = _Q_OVERFLOW | _IGNORED | _DELETE_SELF | _MOVE_SELF | _UNMOUNT
_EVENT = struct.Struct("iIII")


@dataclass(slots=True)
class Changes:
    """What happened since the last look: file paths (relative, forward slashes), or
    ``everything`` when the watch lost track and the whole tree must be looked at."""

    paths: set[str] = field(default_factory=set)
    everything: bool = False


class TreeWatch:
    """An inotify watch on every folder of a tree (hidden ones and symbolic links skipped)."""

    def __init__(self, root: Path) -> None:
        """Raises OSError when inotify is not available or refuses (limits reached)."""
        self.root = root
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            number = ctypes.get_errno()
            raise OSError(number, os.strerror(number))
        self._fd = fd
        self.owner = os.getpid()  # a forked child shares the descriptor: it needs its own
        self._folders: dict[int, str] = {}  # watch descriptor -> folder relative to root
        self._closer = weakref.finalize(self, os.close, fd)
        self.watch_tree()

    def close(self) -> None:
        self._closer()

    def watch_tree(self) -> None:
        """Watch every folder of the tree (again: folders added since are picked up).
        Raises OSError when a folder cannot be watched."""
        pending = [""]
        while pending:
            folder = pending.pop()
            self._watch(folder)
            try:
                with os.scandir(os.path.join(self.root, folder)) as listing:
                    for entry in listing:
                        if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                            pending.append(f"{folder}/{entry.name}" if folder else entry.name)
            except OSError:
                continue  # the reader reports folders it cannot list

    def _watch(self, folder: str) -> None:
        path = os.fsencode(os.path.join(self.root, folder))
        wd = self._add(self._fd, path, _MASK)
        if wd < 0:
            number = ctypes.get_errno()
            if number in (errno.EACCES, errno.ENOENT, errno.ENOTDIR):
                return  # gone or unreadable: the sweep sees it
            raise OSError(number, os.strerror(number), folder)
        self._folders[wd] = folder

    def changes(self) -> Changes:
        """Everything that happened since the last call; never blocks."""
        found = Changes()
        while True:
            try:
                data = os.read(self._fd, 64 * 1024)
            except BlockingIOError:
                return found
            offset = 0
            while offset < len(data):
                wd, mask, _, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0")
                offset += _EVENT.size + length
                if mask & _LOST or mask & _ISDIR:
                    # A folder came, went or moved (its files with it), or events were lost.
                    found.everything = True
                    if mask & _IGNORED:
                        self._folders.pop(wd, None)
                    continue
                folder = self._folders.get(wd)
                if folder is None:
                    continue
                filename = os.fsdecode(name)
                if filename.endswith(".md") and not filename.startswith("."):
                    found.paths.add(f"{folder}/{filename}" if folder else filename)

"""Which files of a folder tree changed, from Linux inotify: an idle change check of a store of
100,000 articles is one read() that finds nothing, where a stat of every file costs a second.

Only a hint: the reader still sweeps the whole store now and then, and whenever the watch
cannot say (events lost, a folder added or moved, no inotify on this system or file system).
"""

from __future__ import annotations

import errno
import os
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from inotify_simple import INotify, flags

_MASK = (
    flags.MODIFY | flags.ATTRIB | flags.CLOSE_WRITE | flags.MOVED_FROM | flags.MOVED_TO
    | flags.CREATE | flags.DELETE | flags.DELETE_SELF | flags.MOVE_SELF | flags.ONLYDIR
    | flags.DONT_FOLLOW
)  # fmt: skip
# Events after which the watch cannot tell which files changed.
_LOST = flags.Q_OVERFLOW | flags.IGNORED | flags.DELETE_SELF | flags.MOVE_SELF | flags.UNMOUNT


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
        # Non-blocking: should the events counted be gone when read (another reader of the
        # descriptor), the read fails rather than waits.
        self._inotify = INotify(nonblocking=True)
        self.owner = os.getpid()  # a forked child shares the descriptor: it needs its own
        self._folders: dict[int, str] = {}  # watch descriptor -> folder relative to root
        # INotify is a FileIO: collected unclosed, it closes its descriptor with a
        # ResourceWarning; this closes it without one when the watch is dropped. Not at exit:
        # a daemon thread (the keeper's) may still be watching; the kernel closes it then.
        self._closer = weakref.finalize(self, self._inotify.close)
        self._closer.atexit = False
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
        try:
            wd: int = self._inotify.add_watch(os.path.join(self.root, folder), _MASK)
        except OSError as e:
            if e.errno in (errno.EACCES, errno.ENOENT, errno.ENOTDIR):
                return  # gone or unreadable: the sweep sees it
            raise OSError(e.errno, e.strerror, folder) from e
        self._folders[wd] = folder

    def changes(self) -> Changes:
        """Everything that happened since the last call; never blocks."""
        found = Changes()
        # timeout=0: read what the kernel says is queued (FIONREAD), or nothing; never wait.
        for wd, mask, _, name in self._inotify.read(timeout=0):
            if mask & _LOST or mask & flags.ISDIR:
                # A folder came, went or moved (its files with it), or events were lost.
                found.everything = True
                if mask & flags.IGNORED:
                    self._folders.pop(wd, None)
                continue
            folder = self._folders.get(wd)
            if folder is None:
                continue
            # name: decoded by inotify_simple with os.fsdecode (undecodable bytes as surrogates)
            if name.endswith(".md") and not name.startswith("."):
                found.paths.add(f"{folder}/{name}" if folder else name)
        return found

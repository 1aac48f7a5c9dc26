"""When a store reader looks at every file, and which files it looks at in between.

With a change watch (inotify), a scan looks only at the files the watch names, and sweeps the
whole store every ``full_sweep_interval`` as a safety net, or when the watch lost track.
Without one, sweeps are spaced so that checking costs a few percent of a core, whatever the
store's size.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from time import monotonic

from .watch import Changes, TreeWatch

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScanPolicy:
    """How the reader spends its effort; tests pass their own."""

    # A scan that finds at most this many new or changed files renders their texts at once.
    max_eager_files: int = 200
    # Seconds between two looks at every file while a change watch names the files that
    # change: a safety net for changes the watch misses (network file systems).
    full_sweep_interval: float = 300.0
    # Without a change watch, sweeps are at least this many times their own duration apart
    # (at most max_sweep_spacing seconds): about 5% of a core, whatever the store's size.
    sweep_spacing: float = 20.0
    max_sweep_spacing: float = 60.0
    cheap_sweep: float = 0.05  # seconds; cheaper sweeps are not spaced
    # Bytes of the versions read kept in memory until they are saved (then read again from
    # their files): a version listed stays at hand even if its file changes before the save.
    unsaved_bytes: int = 32 * 1024 * 1024
    watch: bool = True  # use inotify where the system has it


class Sweeps:
    """One reader's schedule of sweeps, and its change watch."""

    def __init__(self, root: Path, policy: ScanPolicy) -> None:
        self.root = root
        self.policy = policy
        self._watch: TreeWatch | None = None
        self._watch_failed = not policy.watch
        self.swept = 0.0  # when the whole store was last looked at (monotonic)
        self.sweep_seconds = 0.0  # how long the last sweep that read nothing took

    def changes(self) -> Changes | None:
        """The files that changed since the last scan, if the watch can tell and no full
        sweep is due; None: sweep. (Re)starts the watch before a sweep, so that nothing
        changing during the sweep is missed."""
        if self._watch is not None and self._watch.owner != os.getpid():
            # A worker forked from a preloading parent: the parent's inotify descriptor is
            # shared, and each event would reach only one of the processes reading it.
            self._watch.close()
            self._watch = None
        if self._watch is None:
            if not self._watch_failed:
                try:
                    self._watch = TreeWatch(self.root)
                except OSError as e:  # no inotify here, or its limits reached
                    self._watch_failed = True
                    log.info("no change watch on %s (%s); the store is swept on every check",
                             self.root, e.strerror)  # fmt: skip
            return None
        changes = self._watch.changes()
        if changes.everything or monotonic() - self.swept >= self.policy.full_sweep_interval:
            self._watch.watch_tree()
            return None
        return changes

    def too_soon(self) -> bool:
        """Whether a sweep now would come too soon: without a watch, sweeps are spaced."""
        if self._watch is not None or self.sweep_seconds < self.policy.cheap_sweep:
            return False  # a small store: sweeping at every check costs next to nothing
        policy = self.policy
        spacing = min(self.sweep_seconds * policy.sweep_spacing, policy.max_sweep_spacing)
        return monotonic() - self.swept < spacing

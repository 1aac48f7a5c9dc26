"""The first scan of a large store with no state to start from, shared with forked processes.

It is the one start that reads and validates every file: about 140 µs a file, 14 s for
100,000 files in one process, where the target is 10 s (bench/store.py). Every later start
restores the records from the state database instead.

The files are cut into batches, handed out through a pipe to whichever process is free next,
so that each takes as many as it has time for. A child reads and validates its batches,
writes each batch's records as plain values into a records file of its own, and tells the
parent through a pipe; between two of its own batches, the parent takes in the batches the
children have finished. (Records are not sent through a pipe: a child would stall as soon as
it was full.) A child that fails leaves its batches to the parent.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import tempfile
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from .records import dumps, loads

log = logging.getLogger(__name__)

_R = TypeVar("_R")
Batch = Sequence[tuple[str, str]]  # (relative path, full path) of each file

_BATCH_NUMBER = struct.Struct("=I")
_FINISHED = struct.Struct("=IQQ")  # a batch's number, and where its records are


class _Child(NamedTuple):
    pid: int
    records: int  # the file descriptor of its records file (unlinked)
    notes: int  # the pipe on which it says which batch is where in ``records``


def scan_processes(limit: int) -> int:
    """How many processes may share a scan: one per core, at most ``limit``."""
    if not hasattr(os, "fork"):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, limit))


def read_in_parallel(
    batches: Sequence[Batch],
    processes: int,
    read: Callable[[Batch], list[_R]],
    plain: Callable[[list[_R]], list[Any]],
    unplain: Callable[[list[Any]], list[_R]],
    take: Callable[[list[_R]], None],
) -> None:
    """Read every batch once, here or in one of ``processes - 1`` forked children: ``read``
    gives a batch's records, ``plain`` turns them into plain values in a child and ``unplain``
    back here, where ``take`` receives every batch's records."""
    queue, queue_writer = os.pipe()
    # Every batch number at once, then end of file: the pipe is the queue (a batch number is
    # one read of a few bytes, which no two processes can share). Even 10 million files make
    # 5,000 numbers: far less than a pipe holds, so this write does not wait.
    os.write(queue_writer, b"".join(_BATCH_NUMBER.pack(n) for n in range(len(batches))))
    os.close(queue_writer)
    children = [_fork(batches, queue, read, plain) for _ in range(processes - 1)]
    done: set[int] = set()
    while (number := _next_batch(queue)) is not None:
        take(read(batches[number]))
        done.add(number)
        for child in children:
            done.update(_merge_finished(child, batches, unplain, take, wait=False))
    os.close(queue)
    for child in children:
        done.update(_merge_finished(child, batches, unplain, take, wait=True))
        os.close(child.notes)
        os.close(child.records)
        _, status = os.waitpid(child.pid, 0)
        if status != 0:
            log.warning("a scanning process failed (status %d)", status)
    missing = [n for n in range(len(batches)) if n not in done]
    if missing:
        log.warning("a scanning process left %d batches unread; reading them here", len(missing))
        for number in missing:
            take(read(batches[number]))


def _fork(
    batches: Sequence[Batch],
    queue: int,
    read: Callable[[Batch], list[_R]],
    plain: Callable[[list[_R]], list[Any]],
) -> _Child:
    records, name = tempfile.mkstemp(prefix="feedsvc-scan-")
    os.unlink(name)  # an anonymous file, gone with its last descriptor
    notes, notes_writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: batches until there are none, then exit without any cleanup
        code = 1
        try:
            os.close(notes)
            offset = 0
            while (number := _next_batch(queue)) is not None:
                data = dumps(plain(read(batches[number])))
                written = 0
                while written < len(data):
                    written += os.pwrite(records, data[written:], offset + written)
                # One write, smaller than PIPE_BUF: never mixed with another process's.
                os.write(notes_writer, _FINISHED.pack(number, offset, len(data)))
                offset += len(data)
            code = 0
        finally:
            os._exit(code)
    os.close(notes_writer)
    os.set_blocking(notes, False)
    return _Child(pid, records, notes)


def _merge_finished(
    child: _Child,
    batches: Sequence[Batch],
    unplain: Callable[[list[Any]], list[_R]],
    take: Callable[[list[_R]], None],
    *,
    wait: bool,
) -> list[int]:
    """Take in the batches ``child`` has finished (with ``wait``: until it exits); their
    numbers."""
    os.set_blocking(child.notes, wait)
    merged: list[int] = []
    while True:
        try:
            notes = os.read(child.notes, _FINISHED.size * 256)
        except BlockingIOError:
            return merged
        if not notes:
            return merged  # the child has exited
        for number, offset, length in _FINISHED.iter_unpack(notes):
            try:
                values = loads(os.pread(child.records, length, offset))
                if not isinstance(values, list) or len(values) != len(batches[number]):
                    raise ValueError("records of another shape")
                records = unplain(values)
            except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as e:
                log.warning("cannot read the records of a scanning process (%s)", e)
                continue
            take(records)
            merged.append(number)


def _next_batch(queue: int) -> int | None:
    data = os.read(queue, _BATCH_NUMBER.size)
    return _BATCH_NUMBER.unpack(data)[0] if data else None

"""Pure: the WebSub outbox. What each topic was last announced as, which notifications are
still to be sent, and which of them are due: settled, within the retry window, to a hub that
is not waiting out its backoff. No I/O and no clock: time comes in as a ``Moment``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from .topics import changed_topics

MAX_DOUBLINGS = 6  # retries are at most 64 times the first retry delay apart


@dataclass(frozen=True, slots=True)
class Moment:
    """One instant on the two clocks the outbox needs. ``wall`` (Unix time) dates a change:
    it is kept in the state database, so it must mean the same after a restart or in another
    process; the settle time and the retry window count from it. ``monotonic`` times a hub's
    backoff, which setting the wall clock back must not stretch."""

    wall: float
    monotonic: float


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    delay: float  # seconds before a failed hub's first retry, doubled per failure
    window: float  # seconds after a change that it is retried before it is given up
    # Seconds between seeing a change and telling the hubs, so that every worker serves the
    # new bytes when a hub fetches them (the workers' rescan interval plus a margin).
    settle: float = 0.0


@dataclass(frozen=True, slots=True)
class Pending:
    """A notification not delivered yet: tell ``hub`` that ``topic`` changed."""

    hub: str
    topic: str
    since: float  # when the change was seen (Unix time): the retry window runs from here


@dataclass(slots=True)
class Outbox:
    """What was announced and what is to be sent; see the module docstring. One notification
    per hub and topic: a hub fetches the latest bytes anyway."""

    policy: RetryPolicy
    announced: dict[str, str] = field(default_factory=dict)  # topic URL -> ETag
    _queue: dict[tuple[str, str], Pending] = field(default_factory=dict, init=False)
    _failures: dict[str, int] = field(default_factory=dict, init=False)  # by hub, in a row
    _next_try: dict[str, float] = field(default_factory=dict, init=False)  # monotonic, by hub

    @property
    def pending(self) -> list[Pending]:
        """The notifications not delivered yet, oldest queued first."""
        return list(self._queue.values())

    def seen(self, current: Mapping[str, str], looked_at: Collection[str] | None) -> list[str]:
        """Take ``current`` (topic -> ETag of the documents just looked at) as announced, and
        return the topics whose ETag differs from the one announced before, sorted.
        ``looked_at``: the topics the look covered, of which those missing from ``current`` no
        longer exist and are forgotten; None for a look at every document. A first look at
        every document with nothing announced yet is the baseline: nothing changed."""
        baseline = looked_at is None and not self.announced
        gone = set(self.announced) if looked_at is None else set(looked_at)
        for topic in gone - current.keys():
            del self.announced[topic]
        changed = [] if baseline else changed_topics(self.announced, current)
        self.announced.update(current)
        return changed

    def record(self, topics: Iterable[str], hubs: Collection[str], since: float) -> None:
        """Queue telling each hub that each topic changed at ``since`` (Unix time). A
        notification already queued for a hub and topic is replaced: the new bytes need their
        own settle time, and its retry window starts again."""
        for topic in topics:
            for hub in hubs:
                self._queue.pop((hub, topic), None)  # to the end of the queue
                self._queue[hub, topic] = Pending(hub, topic, since)

    def due(self, now: Moment) -> list[Pending]:
        """What to send now, in queue order: settled, within the retry window, and to a hub
        whose backoff is over."""
        return [p for p in self._queue.values() if self._is_due(p, now)]

    def _is_due(self, p: Pending, now: Moment) -> bool:
        age = now.wall - p.since
        backing_off = self._next_try.get(p.hub, now.monotonic) > now.monotonic
        return self.policy.settle <= age <= self.policy.window and not backing_off

    def delivered(self, sent: Pending) -> None:
        """``sent`` reached its hub: it leaves the queue (unless the topic changed again
        meanwhile) and the hub's backoff ends."""
        if self._queue.get((sent.hub, sent.topic)) == sent:
            del self._queue[sent.hub, sent.topic]
        self._failures.pop(sent.hub, None)
        self._next_try.pop(sent.hub, None)

    def failed(self, hub: str, now: Moment) -> float:
        """``hub`` did not take a notification at ``now``: its next try waits the retry delay,
        doubled for each failure in a row (MAX_DOUBLINGS times at most). Returns the wait."""
        failures = self._failures.get(hub, 0) + 1
        self._failures[hub] = failures
        delay = self.policy.delay * 2.0 ** min(failures - 1, MAX_DOUBLINGS)
        self._next_try[hub] = now.monotonic + delay
        return delay

    def waiting(self, hub: str) -> int:
        """How many notifications wait for ``hub``."""
        return sum(1 for p in self._queue.values() if p.hub == hub)

    def given_up(self, now: Moment) -> list[Pending]:
        """Remove and return the notifications older than the retry window."""
        old = [p for p in self._queue.values() if now.wall - p.since > self.policy.window]
        for p in old:
            del self._queue[p.hub, p.topic]
        return old

    def sleep(self, now: Moment) -> float | None:
        """Seconds until a notification is due (0 when one is), None when none waits."""
        if not self._queue:
            return None
        until = min(
            max(
                self._next_try.get(p.hub, now.monotonic) - now.monotonic,
                p.since + self.policy.settle - now.wall,
            )
            for p in self._queue.values()
        )
        return max(0.0, until)

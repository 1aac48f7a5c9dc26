"""The WebSub outbox (feedsvc/websub/outbox.py) with plain values: what changed since the last
announcement, one notification per hub and topic, the settle time, per-hub backoff (doubling,
capped), the retry window, and how long the notifier may sleep."""

from __future__ import annotations

import pytest

from feedsvc.websub.outbox import MAX_DOUBLINGS, Moment, Outbox, Pending, RetryPolicy

UP, DOWN = "https://up.example.net/hub", "https://down.example.org/hub"
ALL, TECH = "https://news.example.com/feeds/all.rss", "https://news.example.com/feeds/tech.rss"
T0 = Moment(wall=1_750_000_000.0, monotonic=500.0)
POLICY = RetryPolicy(delay=10.0, window=3600.0, settle=2.0)


def at(seconds: float, wall: float | None = None) -> Moment:
    """``seconds`` after T0 on both clocks (the wall clock ``wall`` seconds after, if given)."""
    return Moment(T0.wall + (seconds if wall is None else wall), T0.monotonic + seconds)


def outbox(policy: RetryPolicy = POLICY) -> Outbox:
    """An outbox with ALL and TECH changed at T0, for UP then DOWN."""
    box = Outbox(policy)
    box.record([ALL, TECH], [UP, DOWN], T0.wall)
    return box


def test_the_first_look_is_the_baseline_and_later_looks_find_changes() -> None:
    box = Outbox(POLICY)
    assert box.seen({ALL: '"a1"', TECH: '"t1"'}, None) == []  # nothing announced yet
    assert box.announced == {ALL: '"a1"', TECH: '"t1"'}
    assert box.seen({ALL: '"a2"'}, {ALL}) == [ALL]
    assert box.seen({ALL: '"a2"', TECH: '"t1"'}, {ALL, TECH}) == []  # the same bytes
    # A scope looked at whose document no longer exists: forgotten, nothing to announce.
    assert box.seen({}, {TECH}) == []
    assert box.announced == {ALL: '"a2"'}
    assert box.seen({TECH: '"t1"'}, {TECH}) == [TECH]  # back again: a change


def test_a_full_look_after_an_election_compares_with_what_was_announced() -> None:
    box = Outbox(POLICY, {ALL: '"a1"', TECH: '"t1"'})  # as loaded from the state database
    # Changed while no process notified: announced; vanished meanwhile: forgotten.
    assert box.seen({ALL: '"a2"'}, None) == [ALL]
    assert box.announced == {ALL: '"a2"'}


def test_one_notification_per_hub_and_topic() -> None:
    box = outbox()
    assert box.pending == [
        Pending(UP, ALL, T0.wall),
        Pending(DOWN, ALL, T0.wall),
        Pending(UP, TECH, T0.wall),
        Pending(DOWN, TECH, T0.wall),
    ]
    # ALL changes again before it was sent: one notification each, at the end, settling anew.
    box.record([ALL], [UP, DOWN], T0.wall + 1)
    assert box.pending == [
        Pending(UP, TECH, T0.wall),
        Pending(DOWN, TECH, T0.wall),
        Pending(UP, ALL, T0.wall + 1),
        Pending(DOWN, ALL, T0.wall + 1),
    ]
    assert box.due(at(2)) == box.pending[:2]
    assert box.due(at(3)) == box.pending
    assert box.waiting(UP) == box.waiting(DOWN) == 2


def test_nothing_is_due_before_the_change_has_settled() -> None:
    box = outbox()
    assert box.due(T0) == []
    assert box.sleep(T0) == 2.0
    assert box.due(at(1.5)) == []
    assert box.sleep(at(1.5)) == 0.5
    assert box.due(at(2)) == box.pending
    assert box.sleep(at(2)) == 0.0


def test_a_failing_hub_backs_off_doubling_up_to_the_cap() -> None:
    box = outbox()
    delays = [box.failed(DOWN, at(2)) for _ in range(MAX_DOUBLINGS + 3)]
    cap = POLICY.delay * 2**MAX_DOUBLINGS
    assert delays == [10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, cap, cap]
    assert cap == 640.0
    # The wait counts from the last failure, on the monotonic clock.
    assert [p.hub for p in box.due(at(2 + cap - 1))] == [UP, UP]
    assert box.due(at(2 + cap)) == box.pending
    assert box.sleep(at(2 + cap + 5)) == 0.0  # overdue: at once, not a negative wait


def test_backoff_runs_on_the_monotonic_clock() -> None:
    box = outbox()
    box.failed(DOWN, at(2))
    # The wall clock is set half an hour forward a second later: DOWN still waits its 10 s.
    assert [p.hub for p in box.due(at(3, wall=1800))] == [UP, UP]
    assert [p.hub for p in box.due(at(12))] == [UP, DOWN, UP, DOWN]


def test_one_hub_down_does_not_hold_up_another() -> None:
    box = outbox()
    now = at(2)
    first = box.due(now)
    assert first == box.pending
    # The round: the first POST to DOWN fails, so its other notification waits; UP's go.
    assert box.failed(DOWN, now) == 10.0
    for p in box.due(now):
        assert p.hub == UP
        box.delivered(p)
    assert box.pending == [Pending(DOWN, ALL, T0.wall), Pending(DOWN, TECH, T0.wall)]
    assert box.due(at(11)) == []
    assert box.sleep(at(11)) == pytest.approx(1.0)
    # DOWN is back: both go, and its backoff starts over at the next failure.
    assert box.due(at(12)) == box.pending
    box.failed(DOWN, at(12))  # a second failure in a row: twice the delay
    assert box.due(at(31)) == []
    assert box.due(at(32)) == box.pending
    box.delivered(box.pending[0])
    assert box.failed(DOWN, at(32)) == 10.0
    assert box.waiting(DOWN) == 1
    assert box.waiting(UP) == 0


def test_a_notification_delivered_after_its_topic_changed_again_stays_queued() -> None:
    box = outbox(RetryPolicy(delay=10.0, window=3600.0))
    sent = box.due(T0)[0]
    box.record([sent.topic], [sent.hub], T0.wall + 5)  # changed while being sent
    box.delivered(sent)
    assert Pending(sent.hub, sent.topic, T0.wall + 5) in box.pending
    assert len(box.pending) == 4


def test_notifications_older_than_the_retry_window_are_given_up() -> None:
    box = outbox()
    box.record([ALL], [UP], T0.wall + 100)
    assert box.given_up(at(3600)) == []  # the window's last second still counts
    gone = box.given_up(at(3600.5))
    assert gone == [Pending(DOWN, ALL, T0.wall), Pending(UP, TECH, T0.wall),
                    Pending(DOWN, TECH, T0.wall)]  # fmt: skip
    assert box.pending == [Pending(UP, ALL, T0.wall + 100)]
    assert box.given_up(at(3600.5)) == []
    # Past the window but not given up yet: never due.
    assert box.due(at(3701)) == []
    assert box.given_up(at(3701)) == [Pending(UP, ALL, T0.wall + 100)]
    assert box.pending == []


def test_an_empty_outbox_has_nothing_due_and_no_wake_up_of_its_own() -> None:
    box = Outbox(POLICY)
    assert box.due(T0) == []
    assert box.given_up(T0) == []
    assert box.sleep(T0) is None
    box.record([ALL], [], T0.wall)  # no hubs: nothing to tell
    assert box.pending == []

"""Who waits at the channel actor, driven alone: no Ray, no asyncio.

``WaitingCalls`` (``waiting.py``): parked receive calls are served in arrival
order and a newcomer never barges; the blocked tasks reported by each process
are summed without the asker's own. ``ChannelStore.reserve`` (``store.py``): a
task blocked sending holds its place in the line of puts from when it blocked,
its put is admitted in that place, and a place given up frees the line.
"""

from __future__ import annotations

from klaw_core.runtime.channels.ray.store import ChannelStore, Frame
from klaw_core.runtime.channels.ray.waiting import WaitingCalls

P1, P2, P3, R1 = 1, 2, 3, 11


def full_store() -> ChannelStore:
    store = ChannelStore("c", 1, lease_timeout=5.0, now=0.0, senders=[P1, P2, P3], receivers=[R1])
    assert store.admit(P1, (P1, 0), 1) == "ok"
    store.store(Frame(b"f", producer=P1, stream=P1, seq=0, count=1), 0.0)
    return store


def free_one(store: ChannelStore, delivered: int) -> None:
    assert store.take(R1, session=1, max_messages=1, now=0.0)
    assert store.ack(R1, session=1, delivered=delivered, now=0.0)


def test_parked_receive_calls_are_served_in_arrival_order() -> None:
    calls = WaitingCalls()
    first, second, newcomer = object(), object(), object()
    calls.park(first)
    calls.park(second)
    calls.park(first)  # parking again keeps the place
    assert list(calls.receives) == [first, second]
    assert not calls.may_take(newcomer)  # no barging past parked calls
    assert not calls.may_take(second)
    assert calls.may_take(first)
    assert not calls.unpark(second)  # timed out from the middle: not first
    assert calls.unpark(first)
    assert calls.may_take(newcomer)
    assert not calls.unpark(newcomer)  # never parked: nothing changes


def test_waiting_tasks_are_summed_over_processes_but_the_askers_own() -> None:
    calls = WaitingCalls()
    calls.report(1, send=2, receive=0, until=10.0)
    calls.report(2, send=0, receive=3, until=10.0)
    calls.object_gets = 1
    assert calls.totals(exclude=None, now=0.0) == (2, 4)
    assert calls.totals(exclude=2, now=0.0) == (2, 1)
    calls.report(2, send=0, receive=0, until=10.0)  # nothing waits there any more
    assert calls.reports == {1: (2, 0, 10.0)}


def test_a_report_not_renewed_stops_counting() -> None:
    calls = WaitingCalls()
    calls.report(1, send=1, receive=1, until=5.0)
    calls.report(2, send=1, receive=0, until=9.0)  # renewed later
    assert calls.totals(exclude=None, now=6.0) == (1, 0)  # process 1 died: its tasks are gone
    assert 1 not in calls.reports


def test_a_blocked_senders_place_counts_from_when_it_blocked() -> None:
    store = full_store()
    assert store.reserve(P2, first=True) == "wait"  # blocked first
    assert store.admit(P3, (P3, 0), 1) == "wait"  # a put arriving later queues behind
    free_one(store, 1)
    assert store.reserve(P2, first=False) == "ok"  # first, and one message fits
    assert store.admit(P3, (P3, 0), 1) == "wait"  # the place is kept for P2's put
    assert store.admit(P2, (P2, 0), 1) == "ok"  # its put takes the place
    assert store.admit(P3, (P3, 0), 1) == "ok"


def test_a_place_given_up_frees_the_line_and_is_not_taken_again() -> None:
    store = full_store()
    assert store.reserve(P2, first=True) == "wait"
    assert store.admit(P3, (P3, 0), 1) == "wait"
    store.withdraw(P2, (P2, -1))  # timed out or cancelled
    assert store.reserve(P2, first=False) == "withdrawn"
    free_one(store, 1)
    assert store.admit(P3, (P3, 0), 1) == "ok"


def test_reserving_fails_for_a_closed_sender_or_when_no_receiver_is_left() -> None:
    store = full_store()
    assert store.reserve(P2, first=True) == "wait"
    store.close_sender(P2)
    assert store.reserve(P2, first=False) == "sender_closed"
    assert not store.waiting
    assert store.reserve(P3, first=True) == "wait"
    store.close_receiver(R1, None)
    assert store.reserve(P3, first=False) == "closed"
    assert not store.waiting


def test_an_unbounded_channel_always_has_room_for_a_reserved_turn() -> None:
    store = ChannelStore("c", None, lease_timeout=5.0, now=0.0, senders=[P1])
    assert store.reserve(P1, first=True) == "ok"

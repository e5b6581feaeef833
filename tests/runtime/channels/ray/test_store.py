"""The channel actor's state machine (``ChannelStore``), driven alone: no Ray, no asyncio.

Each test plays a sequence of calls with an explicit clock and checks what the
channel promises: capacity never exceeded, blocked senders admitted in arrival
order, acknowledged frames forgotten, a dead receiver's frames redelivered and
marked, a dead producer ended by a marker after its messages, and end of
channel only when nothing can come back.
"""

from __future__ import annotations

import sys

import pytest

from klaw_core._wirecore import peek_header
from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.store import (
    PRODUCER_FAILED,
    PRODUCER_LOST,
    ChannelStore,
    Frame,
    marker_frame,
)
from klaw_core.runtime.channels.wire import MessageKind, WireError

CID = "chan"
P1, P2, R1, R2 = 1, 2, 11, 12
LEASE = 5.0


def make(capacity: int | None = 10) -> ChannelStore:
    return ChannelStore(
        CID, capacity, lease_timeout=LEASE, now=0.0, senders=[P1, P2], receivers=[R1, R2]
    )


def frame(producer: int, seq: int, count: int) -> Frame:
    return Frame(b"x" * count, producer=producer, stream=producer, seq=seq, count=count)


def put(store: ChannelStore, producer: int, seq: int, count: int, now: float = 0.0) -> str:
    verdict = store.admit(producer, (producer, seq), count)
    if verdict == "ok":
        store.store(frame(producer, seq, count), now)
    return verdict


def seqs(frames: list[Frame]) -> list[tuple[int, int, int]]:
    return [(f.producer, f.seq, f.pending) for f in frames]


def test_importing_the_protocol_core_does_not_import_ray() -> None:
    assert "klaw_core.runtime.channels.ray.actor" not in sys.modules or "ray" in sys.modules


def test_capacity_counts_buffered_and_unacknowledged_messages() -> None:
    store = make(10)
    assert put(store, P1, 0, 6) == "ok"
    assert put(store, P1, 6, 4) == "ok"
    assert store.room() == 0
    assert seqs(store.take(R1, 100, 100, now=1.0)) == [(P1, 0, 6), (P1, 6, 4)]
    assert store.room() == 0  # handed out, not acknowledged: still counted
    assert store.ack(R1, 100, 6, now=1.0)
    assert store.room() == 6
    assert store.stats().buffered == 4
    assert store.high_watermark == 10


def test_blocked_senders_are_admitted_in_arrival_order() -> None:
    store = make(4)
    assert put(store, P1, 0, 4) == "ok"
    assert put(store, P2, 0, 2) == "wait"  # first in line
    assert put(store, P1, 4, 1) == "wait"  # behind it, although 1 < 2
    store.take(R1, 100, 100, now=0.0)
    store.ack(R1, 100, 3, now=0.0)  # room for 3: the head (2) goes first
    assert put(store, P1, 4, 1) == "wait"  # no barging past the head
    assert put(store, P2, 0, 2) == "ok"
    assert put(store, P1, 4, 1) == "ok"
    assert not store.waiting


def test_a_batch_larger_than_the_capacity_enters_an_empty_channel() -> None:
    store = make(3)
    assert put(store, P1, 0, 9) == "ok"
    assert put(store, P1, 9, 1) == "wait"


def test_withdrawn_and_ended_senders_leave_the_line() -> None:
    store = make(1)
    put(store, P1, 0, 1)
    assert put(store, P2, 0, 1) == "wait"
    store.withdraw(P2, (P2, 0))
    assert not store.waiting
    assert put(store, P2, 0, 1) == "wait"
    store.close_sender(P2)
    assert not store.waiting
    assert store.admit(P2, (P2, 1), 1) == "sender_closed"


def test_partial_acknowledgement_gives_back_only_the_rest() -> None:
    store = make(None)
    put(store, P1, 0, 5)
    put(store, P1, 5, 5)
    store.take(R1, 100, 100, now=0.0)
    store.ack(R1, 100, 7, now=0.0)
    store.close_receiver(R1, delivered=7)
    back = store.take(R2, 200, 100, now=0.0)
    assert [(f.seq, f.skip, f.pending, f.redelivered) for f in back] == [(5, 2, 3, False)]
    assert store.stats().received == 7  # by R1; the 3 handed to R2 count as buffered
    assert store.stats().buffered == 3
    store.ack(R2, 200, 3, now=0.0)
    assert store.stats().received == 10


def test_acknowledgements_only_move_forward_and_never_past_what_was_handed() -> None:
    store = make(None)
    put(store, P1, 0, 2)
    store.take(R1, 100, 100, now=0.0)
    assert store.ack(R1, 100, 1, now=0.0)
    assert not store.ack(R1, 100, 1, now=0.0)
    assert not store.ack(R1, 100, 0, now=0.0)
    assert store.ack(R1, 100, 50, now=0.0)
    assert store.used() == 0
    assert not store.ack(R1, 999, 5, now=0.0)  # an old session's ack is ignored


def test_a_dead_receivers_frames_are_redelivered_marked_and_its_room_released() -> None:
    store = make(4)
    put(store, P1, 0, 4)
    store.take(R1, 100, 100, now=0.0)
    store.ack(R1, 100, 1, now=0.0)
    assert put(store, P2, 0, 2) == "wait"  # R1 holds 3 of 4
    store.renew(R2, now=4.0)
    store.renew(P1, now=4.0)
    store.renew(P2, now=4.0)
    assert store.expire(now=5.5) == [("receiver", R1)]
    assert R1 not in store.receivers
    again = store.take(R2, 200, 100, now=5.5)
    assert [(f.seq, f.skip, f.redelivered) for f in again] == [(0, 1, True)]
    store.ack(R2, 200, 3, now=5.5)
    assert put(store, P2, 0, 2) == "ok"


def test_a_lost_producer_ends_with_a_marker_after_its_frames() -> None:
    store = make(None)
    put(store, P1, 0, 3)
    store.renew(P2, now=4.0)
    store.renew(R1, now=4.0)
    store.renew(R2, now=4.0)
    assert store.expire(now=5.0) == [("producer", P1)]
    assert store.producers[P1].status == "lost"
    assert not store.senders_closed  # P2 still open
    taken = store.take(R1, 100, 100, now=5.0)
    assert [f.count for f in taken] == [3, 0]
    marker = taken[1].data
    assert marker is not None
    assert peek_header(marker[4:]).kind == MessageKind.ERROR
    error = get_codec_pool().decode_frames(marker, WireError)[0]
    assert error.code == PRODUCER_LOST
    assert store.admit(P1, (P1, 3), 1) == "sender_closed"  # a late call of the lost producer


def test_a_failed_producer_marker_follows_its_frames_and_the_channel_ends() -> None:
    store = make(None)
    put(store, P1, 0, 2)
    failed = marker_frame(CID, PRODUCER_FAILED, P1, "boom", {"error_type": "ValueError"})
    store.close_sender(P1, failed)
    store.close_sender(P2)
    assert store.senders_closed
    assert not store.ended_for(R1)  # the buffer still holds P1's frames and marker
    taken = store.take(R1, 100, 100, now=0.0)
    assert [f.data for f in taken][1] == failed
    store.ack(R1, 100, 2, now=0.0)
    assert store.ended_for(R1)
    assert store.ended_for(R2)


def test_end_waits_for_what_another_receiver_holds() -> None:
    store = make(None)
    put(store, P1, 0, 2)
    store.close_sender(P1)
    store.close_sender(P2)
    store.take(R1, 100, 100, now=0.0)
    assert store.ended_for(R1)  # its own batch does not hold it back ...
    assert not store.ended_for(R2)  # ... but R2 must wait: it could come back to it
    store.ack(R1, 100, 2, now=0.0)
    assert store.ended_for(R2)


def test_frames_of_a_lost_reply_are_handed_again() -> None:
    store = make(None)
    put(store, P1, 0, 2)
    put(store, P1, 2, 3)
    store.take(R1, 100, 2, now=0.0)  # this reply is lost on the way
    assert seqs(store.take(R1, 100, 100, now=0.0, received=0)) == [(P1, 0, 2), (P1, 2, 3)]


def test_a_new_session_of_the_same_receiver_takes_over_unmarked() -> None:
    store = make(None)
    put(store, P1, 0, 2)
    store.take(R1, 100, 100, now=0.0)
    again = store.take(R1, 101, 100, now=0.0)  # the endpoint moved to another process
    assert [(f.seq, f.redelivered) for f in again] == [(0, False)]


def test_last_receiver_gone_refuses_puts_and_registrations() -> None:
    store = make(None)
    store.close_receiver(R1, None)
    assert store.admit(P1, (P1, 0), 1) == "ok"
    store.close_receiver(R2, None)
    assert store.receivers_closed
    assert store.admit(P1, (P1, 0), 1) == "closed"
    assert not store.add_receiver(99, now=0.0)


def test_object_path_frames_can_be_taken_in_part() -> None:
    store = make(None)
    store.store(Frame(None, producer=0, stream=0, seq=0, count=5, values=[1, 2, 3, 4, 5]), 0.0)
    taken = store.take_values(2)
    assert taken is not None
    store.put_back(taken, 2)
    assert store.buffered == 3
    assert [(f.skip, f.pending) for f in store.buffer] == [(2, 3)]
    assert store.take_values(0) is None


def test_leases_renew_with_traffic_and_expire_only_when_silent() -> None:
    store = make(None)
    assert store.next_deadline() == LEASE
    for now in (4.0, 8.0, 12.0):
        store.renew(P1, now)
        store.renew(P2, now)
        store.renew(R1, now)
        store.renew(R2, now)
        assert store.expire(now + 1.0) == []
    assert sorted(store.expire(20.0)) == [
        ("producer", P1),
        ("producer", P2),
        ("receiver", R1),
        ("receiver", R2),
    ]
    assert store.senders_closed
    assert store.receivers_closed
    assert store.next_deadline() is None


def test_registration_after_the_end_is_refused() -> None:
    store = make(None)
    store.close_sender(P1)
    store.close_sender(P2)
    assert not store.add_sender(3, now=0.0)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        ChannelStore(CID, 0, lease_timeout=LEASE, now=0.0)


def test_transit_beats_hold_a_moved_endpoint_until_its_copy_speaks() -> None:
    store = make(None)
    assert not store.renew(P1, 4.0, session=100, transit=True)  # the copy is on its way
    assert store.expire(now=8.0) == [("producer", P2), ("receiver", R1), ("receiver", R2)]
    assert store.producers[P1].status == "open"
    assert not store.renew(P1, 8.5, session=200)  # the copy speaks itself
    assert store.renew(P1, 9.0, session=100, transit=True)  # superseded: renews nothing
    assert store.expire(now=13.6) == [("producer", P1)]


def test_a_repeated_put_is_stored_once_and_a_part_repeat_skips_the_repeated_messages() -> None:
    store = make(None)
    assert store.fresh(P1, 0, 3) == 3
    assert put(store, P1, 0, 3) == "ok"
    assert store.fresh(P1, 0, 3) == 0  # a retried put whose reply was lost
    store.store(frame(P1, 0, 3), 0.0)
    assert store.fresh(P1, 1, 4) == 2  # a re-run producer batching differently
    store.store(frame(P1, 1, 4), 0.0)
    assert store.fresh(P1, 9, 1) is None  # past the watermark: a gap
    assert seqs(store.take(R1, 1, 100, now=0.0)) == [(P1, 0, 3), (P1, 1, 2)]
    assert store.stats().sent == 5


def test_a_re_run_producer_takes_the_place_in_line_of_its_dead_instance() -> None:
    store = make(4)
    assert put(store, P1, 0, 4) == "ok"
    assert put(store, P1, 4, 2) == "wait"  # the instance is killed while waiting
    assert put(store, P2, 0, 1) == "wait"
    assert store.fresh(P1, 0, 3) == 0  # the re-run repeats stored messages: "ok" at once
    assert put(store, P1, 3, 2) == "wait"  # ...and asks again, first in line
    assert list(store.waiting) == [(P1, P1, 3), (P2, P2, 0)]


def test_a_restarted_store_waits_for_every_receiver_and_drops_what_was_delivered() -> None:
    store = ChannelStore(
        CID, 10, lease_timeout=LEASE, now=0.0, senders=[P1], receivers=[R1, R2], epoch=1
    )
    store.forget_below(P1, 2)  # the producer kept seqs from 2 on: below was delivered
    assert put(store, P1, 2, 4) == "ok"  # replayed: seqs 2..5
    assert store.take(R1, 1, 100, now=0.0) == []  # R2 has not told what it delivered
    store.resume(R2, {P1: [(2, 3), (4, 5)]}, {}, now=0.0)
    store.resume(R1, {}, {P1: 6}, now=0.0)  # R1 saw P1 close after seq 5
    (taken,) = store.take(R1, 1, 100, now=0.0)
    assert (taken.seq, taken.skip, store.delivered_within([taken])) == (2, 1, ((P1, 4, 5),))
    assert store.ack(R1, 1, 3, now=0.0)  # 3 and 5 delivered now (4 was dropped)
    assert store.delivered_through(P1, 2) == 6
    assert not store.senders_closed
    store.settle_closed()  # everything up to its end is delivered: P1 counts as closed
    assert store.senders_closed
    assert store.ended_for(R1)


def test_a_receiver_that_died_before_telling_makes_the_new_epoch_mark_redelivered() -> None:
    store = ChannelStore(
        CID, 10, lease_timeout=LEASE, now=0.0, senders=[P1], receivers=[R1, R2], epoch=1
    )
    store.resume(R1, {}, {}, now=4.0)
    assert put(store, P1, 0, 2, now=4.0) == "ok"
    assert store.expire(now=6.0) == [("receiver", R2)]  # R2 never told
    (taken,) = store.take(R1, 1, 100, now=6.0)
    assert taken.redelivered
    assert not store.is_exclusive(R1)


def test_a_sender_closed_before_the_restart_is_not_declared_lost_while_reports_are_due() -> None:
    """Simulation seed 40150: P2 closed and was gone before the restart; the
    receiver that delivered its first seqs reported after P2's lease ran out,
    and P2 was declared lost although everything it sent had been delivered."""
    store = ChannelStore(
        CID, 10, lease_timeout=LEASE, now=0.0, senders=[P1, P2], receivers=[R1, R2], epoch=1
    )
    store.resume(R1, {P2: [(4, 10)]}, {P2: 10}, now=1.0)  # R1 saw P2 close after seq 9
    assert store.next_deadline() == LEASE  # P1's lease, and the receivers': not P2's
    for endpoint in (P1, R1, R2):  # alive: their heartbeats go on
        store.renew(endpoint, now=LEASE)
    assert store.expire(now=LEASE + 1.0) == []  # R2 has yet to tell: P2's fate is open
    store.resume(R2, {P2: [(0, 4)]}, {}, now=LEASE + 2.0)
    assert store.producers[P2].status == "closed"
    assert store.expire(now=LEASE + 3.0) == []


def test_a_sender_closed_before_the_restart_with_messages_never_delivered_is_lost() -> None:
    store = ChannelStore(
        CID, 10, lease_timeout=LEASE, now=0.0, senders=[P1], receivers=[R1], epoch=1
    )
    store.resume(R1, {P1: [(0, 4)]}, {P1: 10}, now=1.0)  # seqs 4..9 were stored, not delivered
    store.renew(R1, now=LEASE)
    assert store.expire(now=LEASE + 1.0) == [("producer", P1)]  # and P1 never came back

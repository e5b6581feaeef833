"""RayChannelActor's own logic, driven as a plain object (no Ray cluster needed).

The actor is an ordinary class until ``remote_actor_class()`` wraps it, so its
buffer, capacity accounting, header checks, close semantics and object path are
tested here in-process, fast; the Ray-level behaviour is in the other modules.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import msgspec
import pytest
from actor_support import CID, READER, SENDER, STREAM, WAIT, ack_frame, frame, payloads

from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.actor import RayChannelActor, type_name
from klaw_core.runtime.channels.ray.actor_core import _TypeValidator
from klaw_core.runtime.channels.ray.constants import (
    OBJECT_PATH_STREAM,
    ChannelMetadata,
    ReaderInfo,
)
from klaw_core.runtime.channels.ray.store import PRODUCER_FAILED, marker_frame
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.channels.wire import ControlMessage, DataMessage, Heartbeat
from klaw_core.runtime.errors import (
    MalformedHeader,
    TruncatedFrame,
    UnknownSchemaVersion,
)


def make(capacity: int | None = 10, value_type: Any = int) -> RayChannelActor[Any]:
    return RayChannelActor(CID, capacity, value_type, senders=(SENDER,), receivers=(READER,))


# Per actor (weakly: an id() could be reused by the next test's actor).
_next_seq: weakref.WeakKeyDictionary[RayChannelActor[Any], int] = weakref.WeakKeyDictionary()


async def put(
    actor: RayChannelActor[Any],
    items: list[Any],
    seq: int | None = None,
    timeout: float | None = 0.0,
) -> Any:
    """Put ``items`` as the stream's next seqs (a stream's seqs follow on, as a sender's do)."""
    if seq is None:
        seq = _next_seq.get(actor, 0)
    ack = await actor.put_frames(frame(items, seq), len(items), SENDER, STREAM, timeout)
    if ack.status == "ok":
        _next_seq[actor] = max(_next_seq.get(actor, 0), seq + len(items))
    return ack


async def get(
    actor: RayChannelActor[Any], max_messages: int = 1000, timeout: float | None = 0.0
) -> Any:
    return await actor.get_frames(READER, STREAM, max_messages, timeout)


# ----------------------------------------------------------------- leases


async def test_the_actor_expires_silent_endpoints_on_its_own_clock() -> None:
    actor = RayChannelActor(CID, 4, int, senders=(SENDER,), receivers=(READER,), lease_timeout=0.2)
    await put(actor, [1])  # the first call starts the lease checks
    await asyncio.sleep(0.6)  # well past one lease: checked at least every half lease
    reply = await get(actor)
    assert reply.status == "closed"  # the silent receiver was declared lost
    assert actor._store.senders_closed  # and so was the silent sender


async def test_lease_checks_leave_no_task_behind_when_the_actor_is_torn_down() -> None:
    # A task sleeping between checks was reported as "Task was destroyed but
    # it is pending!" each time Ray tore a channel actor down.
    actor = make()
    await put(actor, [1])
    assert asyncio.all_tasks() == {asyncio.current_task()}


# ----------------------------------------------------------------- frame path


async def test_capacity_is_counted_in_messages_not_frames() -> None:
    actor = make(10)
    assert (await put(actor, [1, 2, 3, 4, 5, 6])).room == 4
    refused = await put(actor, [7, 8, 9, 10, 11])
    assert (refused.status, refused.room) == ("full", 4)
    assert (await put(actor, [7, 8, 9, 10])).room == 0
    batch = await get(actor)
    assert batch.status == "ok"
    assert batch.counts == (6, 4)
    assert batch.streams == (SENDER, SENDER)  # a sender's seq stream is its id
    assert payloads(batch.frames) == list(range(1, 11))
    # Fetched is not delivered: the ten still fill the channel ...
    assert (await actor.stats()).buffered == 10
    assert (await put(actor, [11])).status == "full"
    await actor.ack(READER, STREAM, ack_frame(10))  # ... until the receiver reports them delivered.
    stats = await actor.stats()
    assert stats == ChannelStats(
        buffered=0, capacity=10, senders=1, receivers=1, sent=10, received=10, high_watermark=10
    )


async def test_frames_are_stored_and_handed_out_byte_for_byte() -> None:
    actor = make(None)
    data = frame([1, 2, 3], seq=40)
    await actor.put_frames(data, 3, SENDER, STREAM)
    assert (await get(actor)).frames == (data,)


async def test_get_returns_whole_frames_up_to_max_messages_but_at_least_one() -> None:
    actor = make(None)
    for seq in range(0, 9, 3):
        await put(actor, [seq, seq + 1, seq + 2], seq=seq)
    assert (await get(actor, max_messages=2)).counts == (3,)  # never split, never empty
    assert (await get(actor, max_messages=6)).counts == (3, 3)
    assert (await get(actor)).status == "empty"


async def test_a_batch_larger_than_capacity_is_admitted_into_an_empty_buffer() -> None:
    actor = make(4)
    assert (await put(actor, list(range(9)))).status == "ok"
    assert (await put(actor, [1])).status == "full"
    assert (await actor.stats()).high_watermark == 9


async def test_blocked_put_is_admitted_when_a_get_frees_room() -> None:
    actor = make(4)
    await put(actor, [1, 2, 3])
    waiting = asyncio.create_task(put(actor, [4, 5], timeout=None))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await get(actor)
    await asyncio.sleep(0.01)
    assert not waiting.done()  # fetched, not yet delivered
    # The receiver's next get reports what it delivered (here: 1 of the 3).
    await actor.get_frames(READER, STREAM, 10, 0.0, 0, delivered=1)
    assert (await asyncio.wait_for(waiting, WAIT)).status == "ok"
    assert (await actor.stats()).buffered == 4  # 2 held by the receiver, 2 stored


async def test_put_timeout_leaves_nothing_stored() -> None:
    actor = make(2)
    await put(actor, [1, 2])
    assert (await put(actor, [3], timeout=0.02)).status == "full"
    assert (await actor.stats()).sent == 2


async def test_wait_room_reports_room_or_full() -> None:
    actor = make(2)
    assert (await actor.wait_room(0.0)).room == 2
    await put(actor, [1, 2])
    assert (await actor.wait_room(0.01)).status == "full"
    waiting = asyncio.create_task(actor.wait_room(None))
    await asyncio.sleep(0.01)
    await get(actor)
    await actor.ack(READER, STREAM, ack_frame(2))
    assert (await asyncio.wait_for(waiting, WAIT)).room == 2
    await actor.ack(READER, STREAM, ack_frame(1))  # acks only ever move forward ...
    await actor.ack(READER, STREAM, ack_frame(5))  # ... and never past what was handed out
    await actor.ack(READER, STREAM + 9, ack_frame(5))  # a stream that fetched nothing: ignored
    assert (await actor.stats()).buffered == 0


async def test_parked_gets_are_served_in_arrival_order_and_a_newcomer_never_barges() -> None:
    other, newcomer = READER + 1, READER + 2
    actor = RayChannelActor(CID, 10, int, senders=(SENDER,), receivers=(READER, other, newcomer))
    first = asyncio.create_task(actor.get_frames(READER, STREAM, 10, WAIT))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(actor.get_frames(other, STREAM + 1, 10, WAIT))
    await asyncio.sleep(0.01)
    await put(actor, [1])
    polled = await actor.get_frames(newcomer, STREAM + 2, 10, 0.0)  # before the parked ones ran
    assert polled.status == "empty"
    assert payloads((await asyncio.wait_for(first, WAIT)).frames) == [1]
    await put(actor, [2])
    assert payloads((await asyncio.wait_for(second, WAIT)).frames) == [2]


async def test_a_blocked_senders_place_is_kept_for_its_put() -> None:
    late, blocked = SENDER + 1, SENDER + 2
    actor = RayChannelActor(CID, 1, int, senders=(SENDER, late, blocked), receivers=(READER,))
    await put(actor, [0])
    turn = asyncio.create_task(actor.wait_room(WAIT, blocked, final=True))
    await asyncio.sleep(0.01)
    await get(actor)
    await actor.ack(READER, STREAM, ack_frame(1))  # room for one
    assert (await asyncio.wait_for(turn, WAIT)).status == "ok"
    barging = await actor.put_frames(frame([9]), 1, late, late, 0.0)
    assert barging.status == "full"  # the room is kept for the blocked sender's put
    stored = await actor.put_frames(frame([1]), 1, blocked, blocked, 0.0)
    assert stored.status == "ok"


async def test_a_place_given_up_or_timed_out_frees_the_line() -> None:
    late, blocked = SENDER + 1, SENDER + 2
    actor = RayChannelActor(CID, 1, int, senders=(SENDER, late, blocked), receivers=(READER,))
    await put(actor, [0])
    assert (await actor.wait_room(0.01, blocked, final=False)).status == "full"  # place kept
    kept = asyncio.create_task(actor.wait_room(WAIT, blocked, final=False))
    await asyncio.sleep(0.01)
    await actor.withdraw_turn(blocked)  # the blocked task was cancelled
    assert (await asyncio.wait_for(kept, WAIT)).status == "full"
    assert (await actor.wait_room(0.01, blocked, final=True)).status == "full"  # gives it up
    await get(actor)
    await actor.ack(READER, STREAM, ack_frame(1))
    assert (await actor.put_frames(frame([1]), 1, late, late, 0.0)).status == "ok"


async def test_stats_count_waiting_tasks_of_other_processes_and_parked_object_calls() -> None:
    actor = make(1)
    await actor.report_waiting(7, 2, 0)
    await actor.report_waiting(8, 0, 1)
    stats = await actor.stats()
    assert stats is not None
    assert (stats.tasks_waiting_send, stats.tasks_waiting_receive) == (2, 1)
    mine = await actor.stats(link_id=7)  # the asker counts its own tasks itself
    assert mine is not None
    assert (mine.tasks_waiting_send, mine.tasks_waiting_receive) == (0, 1)
    getting = asyncio.create_task(actor.get(WAIT))
    await asyncio.sleep(0.01)
    parked = await actor.stats(link_id=8)
    assert parked is not None
    assert parked.tasks_waiting_receive == 1  # the object-path get
    await actor.put(5)
    assert (await asyncio.wait_for(getting, WAIT)).value == 5


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (frame([1], channel_id="other"), MalformedHeader),
        (frame([1], version=9), UnknownSchemaVersion),
        (
            bytes(get_codec_pool().encode_frames([ControlMessage.new("x", channel_id=CID)])),
            MalformedHeader,
        ),
        (frame([1])[:-1], TruncatedFrame),
        (b"", MalformedHeader),
        (b"\x00\x00\x00\x02\xc0\xc0", MalformedHeader),
    ],
    ids=[
        "other-channel",
        "unknown-version",
        "control-kind",
        "truncated",
        "empty",
        "not-an-envelope",
    ],
)
async def test_headers_are_checked_by_peeking(data: bytes, error: type[Exception]) -> None:
    actor = make()
    with pytest.raises(error):
        await actor.put_frames(data, 1, SENDER, STREAM)
    assert (await actor.stats()).sent == 0


async def test_payloads_are_never_decoded_by_the_frame_path() -> None:
    actor = make(value_type=int)  # strings are the wrong type, but only receivers check
    assert (await put(actor, ["not", "ints"])).status == "ok"
    assert payloads((await get(actor)).frames) == ["not", "ints"]


async def test_put_needs_a_positive_count_and_a_registered_sender() -> None:
    actor = make()
    with pytest.raises(ValueError, match="at least 1"):
        await actor.put_frames(frame([1]), 0, SENDER, STREAM)
    refused = await actor.put_frames(frame([1]), 1, 999, STREAM)
    assert (refused.status, refused.detail) == ("closed", "sender is closed")


async def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RayChannelActor(CID, 0)


# ----------------------------------------------------------------- end of channel


async def test_end_of_channel_only_after_last_sender_closed_and_buffer_drained() -> None:
    actor = make()
    second = 12
    assert (await actor.register_sender(second)).status == "ok"
    await put(actor, [1, 2])
    await actor.close_sender(SENDER)
    assert (await get(actor)).status == "ok"
    assert (await get(actor)).status == "empty"  # `second` is still open
    stats = await actor.close_sender(second)
    assert stats is not None
    assert stats.senders_closed
    closed = await get(actor)
    assert (closed.status, closed.detail) == ("closed", "all senders closed")
    assert (await actor.register_sender(13)).status == "closed"


async def test_waiting_get_wakes_at_end_of_channel() -> None:
    actor = make()
    waiting = asyncio.create_task(get(actor, timeout=None))
    await asyncio.sleep(0.01)
    await actor.close_sender(SENDER)
    assert (await asyncio.wait_for(waiting, WAIT)).status == "closed"


async def test_last_receiver_closing_refuses_puts_and_wakes_blocked_ones() -> None:
    actor = make(2)
    await put(actor, [1, 2])
    blocked = asyncio.create_task(put(actor, [3], timeout=None))
    await asyncio.sleep(0.01)
    stats = await actor.close_receiver(READER)
    assert stats is not None
    assert stats.receivers_closed
    assert (await asyncio.wait_for(blocked, WAIT)).detail == "all receivers closed"
    assert (await put(actor, [4])).status == "closed"
    assert (await actor.register_receiver(22)).status == "closed"
    assert (await actor.wait_room(0.0)).status == "closed"


async def test_closing_one_receiver_puts_its_frames_back_at_the_front() -> None:
    actor = make(None)
    other = 22
    await actor.register_receiver(other)
    await put(actor, [1, 2], seq=0)
    await put(actor, [3, 4], seq=2)
    await put(actor, [5], seq=4)
    taken = await get(actor, max_messages=4)
    assert taken.counts == (2, 2)
    await actor.ack(READER, STREAM, ack_frame(0))
    stats = await actor.close_receiver(READER, 1, STREAM)  # delivered one of four
    assert stats is not None
    assert (stats.buffered, stats.sent, stats.received) == (4, 5, 1)
    back = await actor.get_frames(other, STREAM + 1, 100, 0.0)
    assert payloads(back.frames) == [1, 2, 3, 4, 5]  # whole frames ...
    assert back.skips == (1, 0, 0)  # ... and how much of each was delivered
    assert back.redelivered == (False, False, False)  # a clean close: not redelivered
    assert (await get(actor)).detail == "receiver is closed"


async def test_wake_reader_ends_a_waiting_get_and_a_later_one() -> None:
    actor = make()
    waiting = asyncio.create_task(actor.get_frames(READER, STREAM, 10, None, 0))
    await asyncio.sleep(0.01)
    await actor.wake_reader(READER, 1)
    assert (await asyncio.wait_for(waiting, WAIT)).status == "empty"
    # A wake that arrives before the get it is meant for still counts.
    await actor.wake_reader(READER, 2)
    assert (
        await asyncio.wait_for(actor.get_frames(READER, STREAM, 10, None, 1), WAIT)
    ).status == "empty"
    # Data wins over a wake.
    await put(actor, [1])
    assert (await actor.get_frames(READER, STREAM, 10, None, 0)).status == "ok"


async def test_exclusive_until_a_second_receiver_stream_fetches() -> None:
    actor = make(None)
    await actor.register_receiver(22)
    await put(actor, [1])
    assert (await get(actor)).exclusive
    await put(actor, [2])
    assert not (await actor.get_frames(22, STREAM + 1, 10, 0.0)).exclusive
    await put(actor, [3])
    assert not (await get(actor)).exclusive  # monotonic: never exclusive again


# ----------------------------------------------------------------- object path


async def test_object_path_validates_and_converts() -> None:
    actor = make(value_type=int)
    assert await actor.put(1) == "ok"
    assert await actor.put("x") == "invalid"  # type: ignore[arg-type]
    refused = await actor.put_batch((2, "y", 3))  # type: ignore[arg-type]
    assert refused.status == "invalid"
    assert refused.detail  # says why (in msgspec's words, not asserted here)
    assert (await actor.stats()).sent == 1  # all or nothing
    assert (await actor.get_nowait()).value == 1
    assert (await actor.get_nowait()).status == "empty"


async def test_object_path_respects_capacity_and_close() -> None:
    actor = make(2)
    assert (await actor.put_batch((1, 2))).status == "ok"
    assert await actor.put_nowait(3) == "full"
    await actor.close_sender(SENDER)
    assert (await actor.get_batch(5)).items == (1, 2)
    assert (await actor.get(0.0)).status == "closed"
    await actor.close_receiver(READER)
    assert await actor.put(4) == "closed"
    with pytest.raises(ValueError, match="max_items"):
        await actor.get_batch(0)


async def test_object_and_frame_paths_share_one_buffer_in_order() -> None:
    actor = make(None, value_type=int)
    await put(actor, [1, 2, 3, 4, 5], seq=100)
    await actor.put_batch((6, 7))
    assert (await actor.get_batch(2)).items == (1, 2)  # decodes the frame, keeps the rest
    batch = await get(actor)
    assert batch.streams == (SENDER, OBJECT_PATH_STREAM)
    messages = [get_codec_pool().decode_frames(f, DataMessage[list[int]])[0] for f in batch.frames]
    assert [(m.header.seq, m.payload) for m in messages] == [(100, [1, 2, 3, 4, 5]), (0, [6, 7])]
    assert batch.skips == (2, 0)  # the frame as stored, minus what was delivered
    assert not batch.exclusive  # an object-path get competes with frame receivers


async def test_object_path_drops_a_frame_of_the_wrong_type() -> None:
    actor = make(value_type=int)
    await put(actor, ["a", "b"])
    await put(actor, [3])
    result = await actor.get_batch(10)
    assert result.status == "invalid"
    assert result.detail  # says why (in msgspec's words, not asserted here)
    assert (await actor.get_batch(10)).items == (3,)
    stats = await actor.stats()
    assert (stats.buffered, stats.received) == (0, 3)


async def test_values_taken_before_a_dropped_frame_leave_the_buffer() -> None:
    actor = make(capacity=4, value_type=int)
    await put(actor, [1, 2])
    await put(actor, ["x"], seq=2)
    result = await actor.get_batch(10)
    assert (result.status, result.items) == ("invalid", (1, 2))
    stats = await actor.stats()
    assert (stats.buffered, stats.received) == (0, 3)
    ack = await put(actor, [4, 5, 6, 7], seq=3)
    assert (ack.status, ack.room) == ("ok", 0)  # all four places were free again


async def test_object_path_waits_for_an_item() -> None:
    actor = make(value_type=int)
    waiting = asyncio.create_task(actor.get(None, READER))
    await asyncio.sleep(0.01)
    await actor.put(5)
    assert (await asyncio.wait_for(waiting, WAIT)).value == 5
    info = (await actor.reader_stats())[0]
    assert (info.reader_id, info.total_received) == (READER, 1)
    assert info.last_seen_at is not None


def test_type_validator_caches_one_converter() -> None:
    validator = _TypeValidator(int)
    assert validator.convert(3) == 3
    assert validator.check(3) is None
    reason = validator.check("3")
    assert isinstance(reason, str)
    assert reason
    assert _TypeValidator(None).convert(object) is object


# ----------------------------------------------------------------- metadata and state


async def test_metadata_describes_the_channel_and_omits_defaults() -> None:
    actor = RayChannelActor(CID, 8, int, name="jobs", namespace="ns")
    metadata = await actor.metadata()
    assert (metadata.channel_id, metadata.name, metadata.capacity) == (CID, "jobs", 8)
    assert metadata.value_type == "builtins.int"
    assert metadata.wire_versions == (1,)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(ChannelMetadata("c"))) == {
        "channel_id": "c"
    }
    with pytest.raises(AttributeError):
        metadata.capacity = 9  # type: ignore[misc]
    assert await actor.value_type() is int
    assert not await actor.is_lost()


def test_replies_are_not_gc_tracked() -> None:
    assert not gc.is_tracked(ReaderInfo(1))
    assert not gc.is_tracked(ChannelMetadata("c"))


def test_type_name() -> None:
    assert type_name(ReaderInfo) == "klaw_core.runtime.channels.ray.constants.ReaderInfo"
    assert type_name(list[int]) == "list[int]"
    assert type_name(None) is None


# ------------------------------------------------------------------- restart


async def test_calls_for_another_epoch_are_refused_and_apply_nothing() -> None:
    actor = make(10)
    ack = await actor.put_frames(frame([1, 2]), 2, SENDER, STREAM, 0.0, epoch=3, oldest=0)
    assert (ack.status, ack.epoch) == ("restarted", 0)
    assert (await actor.stats()).buffered == 0
    batch = await actor.get_frames(READER, STREAM, 10, 0.0, epoch=3)
    assert (batch.status, batch.epoch) == ("restarted", 0)
    assert (await actor.end_sender(SENDER, None, 3, 0, 0)).status == "restarted"
    assert (await actor.resume_receiver(READER, 3, {})).status == "restarted"
    assert await actor.epoch() == 0


async def test_every_put_reply_says_how_far_the_sender_s_messages_were_delivered() -> None:
    actor = make(10)
    ack = await actor.put_frames(frame([1, 2, 3]), 3, SENDER, STREAM, 0.0, epoch=0, oldest=0)
    assert (ack.status, ack.through) == ("ok", 0)
    await actor.get_frames(READER, STREAM, 10, 0.0, delivered=0, epoch=0)
    await actor.ack(READER, STREAM, ack_frame(3), epoch=5)  # another epoch's: ignored
    ack = await actor.put_frames(frame([4], 3), 1, SENDER, STREAM, 0.0, epoch=0, oldest=0)
    assert ack.through == 0
    await actor.ack(READER, STREAM, ack_frame(3), epoch=0)
    again = await actor.put_frames(frame([1, 2, 3]), 3, SENDER, STREAM, 0.0, epoch=0, oldest=0)
    assert (again.status, again.through) == ("ok", 3)  # a repeat, and 0..2 are delivered


async def test_end_sender_answers_once_every_message_is_delivered() -> None:
    actor = make(10)
    await actor.put_frames(frame([1, 2]), 2, SENDER, STREAM, 0.0, epoch=0, oldest=0)
    close = bytes(get_codec_pool().encode_frames([ControlMessage.new("close", channel_id=CID)]))
    early = await actor.end_sender(SENDER, close, 0, 2, 0, 0.0)
    assert (early.status, early.through) == ("full", 0)  # closed, not yet delivered
    waiting = asyncio.create_task(actor.end_sender(SENDER, close, 0, 2, 0, WAIT))
    await actor.get_frames(READER, STREAM, 10, 0.0)
    await actor.ack(READER, STREAM, ack_frame(2))
    done = await asyncio.wait_for(waiting, WAIT)
    assert (done.status, done.through) == ("ok", 2)
    assert (await actor.get_frames(READER, STREAM, 10, 0.0)).status == "closed"


async def test_end_sender_of_a_failed_producer_answers_at_once() -> None:
    actor = make(10)
    await actor.put_frames(frame([1]), 1, SENDER, STREAM, 0.0, epoch=0, oldest=0)
    failure = marker_frame(CID, PRODUCER_FAILED, SENDER, "boom", {})
    assert (await actor.end_sender(SENDER, failure, 0, 1, 0, WAIT)).status == "ok"


async def test_a_receiver_s_report_drops_what_it_delivered_before_a_restart() -> None:
    actor = make(10)
    assert (await actor.resume_receiver(READER, 0, {SENDER: [(0, 2)]})).status == "ok"
    await actor.put_frames(frame([1, 2, 3]), 3, SENDER, STREAM, 0.0, epoch=0, oldest=0)
    batch = await actor.get_frames(READER, STREAM, 10, 0.0, epoch=0)
    assert (batch.counts, batch.skips) == ((3,), (2,))  # only seq 2 is new
    other = 22
    await actor.register_receiver(other)
    batch = await actor.get_frames(other, STREAM + 1, 10, 0.0, epoch=0, report={SENDER: [(2, 3)]})
    assert batch.status == "empty"


async def test_closing_a_receiver_of_an_earlier_epoch_keeps_its_report() -> None:
    actor = make(10)
    other = 22
    await actor.register_receiver(other)
    await actor.close_receiver(other, 5, STREAM, epoch=9, report={SENDER: [(0, 4)]})
    ack = await actor.put_frames(frame([0, 1, 2, 3]), 4, SENDER, STREAM, 0.0, epoch=0, oldest=0)
    assert ack.through == 4  # what it delivered is not delivered again


async def test_a_heartbeat_reply_carries_the_epoch() -> None:
    actor = make(10)
    beats = [Heartbeat.new(f"{SENDER}/{STREAM}", channel_id=CID)]
    reply = await actor.heartbeat(bytes(get_codec_pool().encode_frames(beats)))
    assert (reply.superseded, reply.epoch) == ((), 0)

"""The receiver's inbox (``Inbox``), driven alone: no Ray, no asyncio.

Frames are built exactly as senders and the actor build them; the inbox must
deliver every good message in order, raise each bad one in its turn, drop what
a part-delivered frame already gave, report a gap for an exclusive receiver,
and turn a producer's end marker into its error after its messages.
"""

from __future__ import annotations

from typing import Any

import pytest

from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.constants import FrameBatch
from klaw_core.runtime.channels.ray.inbox import NOTHING, Inbox
from klaw_core.runtime.channels.ray.store import PRODUCER_FAILED, PRODUCER_LOST, marker_frame
from klaw_core.runtime.channels.wire import DataMessage
from klaw_core.runtime.errors import (
    ChannelLostError,
    InvalidMessageError,
    ProducerFailedError,
    ProducerLostError,
)

CID = "chan"


def frame(items: list[Any], seq: int = 0) -> bytes:
    return bytes(get_codec_pool().encode_frames([DataMessage.new(items, channel_id=CID, seq=seq)]))


def batch(
    *entries: tuple[bytes, int, int],
    skips: tuple[int, ...] = (),
    marks: tuple[bool, ...] = (),
    exclusive: bool = True,
) -> FrameBatch:
    return FrameBatch(
        "ok",
        tuple(e[0] for e in entries),
        tuple(e[1] for e in entries),
        tuple(e[2] for e in entries),
        skips,
        marks,
        exclusive=exclusive,
    )


def drain(inbox: Inbox) -> list[Any]:
    out: list[Any] = []
    while (item := inbox.next()) is not NOTHING:
        out.append(item)
    return out


def test_messages_come_out_in_order_and_are_counted() -> None:
    inbox = Inbox(CID, int)
    assert inbox.accept(batch((frame([1, 2], 0), 7, 2), (frame([3], 2), 7, 1)))
    assert inbox.received == 3
    assert drain(inbox) == [1, 2, 3]
    assert inbox.delivered == 3


def test_a_bad_message_raises_in_its_turn_and_spares_its_neighbours() -> None:
    inbox = Inbox(CID, int)
    inbox.accept(batch((frame([1, "two", 3], 10), 7, 3), exclusive=False))
    assert inbox.next() == 1
    with pytest.raises(InvalidMessageError) as info:
        inbox.next()
    assert info.value.seq == 11
    assert inbox.next() == 3
    assert inbox.delivered == 3  # the bad one counts: it frees its room


def test_take_stops_before_a_bad_message() -> None:
    inbox = Inbox(CID, int)
    inbox.accept(batch((frame([1, "x", 3], 0), 7, 3)))
    out: list[Any] = [inbox.next()]
    assert not inbox.take(out, 10)  # stops before the bad one
    assert out == [1]
    with pytest.raises(InvalidMessageError):
        inbox.next()
    assert inbox.take(out, 2)
    assert out == [1, 3]


def test_an_undecodable_frame_is_skipped_with_one_error() -> None:
    inbox = Inbox(CID, int)
    inbox.accept(batch((b"\x00\x00\x00\x02\xc1\xc1", 7, 4), (frame([5], 4), 7, 1), exclusive=False))
    with pytest.raises(InvalidMessageError, match="could not be decoded"):
        inbox.next()
    assert drain(inbox) == [5]
    assert inbox.delivered == 5


def test_a_part_delivered_frame_gives_only_the_rest_marked() -> None:
    inbox = Inbox(CID, int)
    inbox.accept(batch((frame([1, 2, 3, 4], 0), 7, 4), skips=(3,), marks=(True,), exclusive=False))
    assert inbox.received == 1
    assert inbox.next() == 4
    assert inbox.redelivered
    assert inbox.delivered == 1


def test_a_gap_is_loss_for_an_exclusive_receiver_and_repeats_are_dropped() -> None:
    inbox = Inbox(CID, int)
    inbox.accept(batch((frame([0, 1], 0), 7, 2), (frame([5], 5), 7, 1)))
    assert inbox.next() == 0
    assert inbox.next() == 1
    with pytest.raises(ChannelLostError, match="messages 2 to 4"):
        inbox.next()
    assert inbox.next() == 5
    inbox.accept(batch((frame([5, 6], 5), 7, 2)))  # 5 again: dropped
    assert drain(inbox) == [6]
    assert inbox.last_seen().endswith("0x7: 6")


def test_producer_markers_raise_after_the_producers_messages() -> None:
    inbox = Inbox(CID, int)
    failed = marker_frame(
        CID, PRODUCER_FAILED, 0x2A, "boom", {"error_type": "ValueError", "error_message": "boom"}
    )
    lost = marker_frame(CID, PRODUCER_LOST, 0x2B, "lease expired", {"delivered": 3})
    inbox.accept(batch((frame([1], 0), 7, 1), (failed, 0, 0), (lost, 0, 0)))
    assert inbox.next() == 1
    with pytest.raises(ProducerFailedError) as failure:
        inbox.next()
    assert (failure.value.producer, failure.value.error_type) == ("0x2a", "ValueError")
    with pytest.raises(ProducerLostError) as loss:
        inbox.next()
    assert (loss.value.producer, loss.value.delivered) == ("0x2b", 3)
    assert inbox.next() is NOTHING


def test_end_of_channel_and_clear() -> None:
    inbox = Inbox(CID, int)
    inbox.accept(batch((frame([1, 2], 0), 7, 2)))
    assert inbox.next() == 1
    assert not inbox.accept(FrameBatch("closed", detail="all senders closed"))
    assert inbox.eof == "all senders closed"
    assert inbox.undelivered == 1
    inbox.clear()
    assert inbox.next() is NOTHING
    assert inbox.delivered == 1
    assert not inbox.accept(FrameBatch("empty"))


def test_after_an_actor_restart_it_reports_what_it_delivered_and_drops_what_it_held() -> None:
    inbox = Inbox(CID, int)
    inbox.accept(batch((frame([0, 1, 2], 0), 7, 3), (frame([3, 4], 3), 7, 2)))
    assert [inbox.next(), inbox.next()] == [0, 1]
    assert inbox.restart() == {7: [(0, 2)]}  # 2, 3, 4 were held, not delivered
    assert (inbox.delivered, inbox.received, inbox.next()) == (0, 0, NOTHING)
    # The producer replays a batch cut differently; what was delivered is dropped.
    inbox.accept(batch((frame([1, 2, 3], 1), 7, 3), (frame([4], 4), 7, 1)))
    assert drain(inbox) == [2, 3, 4]
    assert inbox.report() == {7: [(0, 5)]}


def test_seqs_the_actor_says_were_delivered_are_dropped_inside_a_frame() -> None:
    inbox = Inbox(CID, int)
    replayed = FrameBatch("ok", (frame([0, 1, 2, 3], 0),), (7,), (4,), spans=((7, 1, 3),))
    inbox.accept(replayed)
    out: list[int] = []
    assert not inbox.take(out, 10)
    assert out == [0, 3]
    assert inbox.delivered == 4  # the dropped ones count as delivered: their room is freed

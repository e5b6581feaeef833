"""The sender's outbox (``Outbox``), driven alone: no Ray, no asyncio."""

from __future__ import annotations

from collections import deque
from typing import Any

from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.outbox import Outbox
from klaw_core.runtime.channels.wire import DataMessage


def make(limit: int = 100, batch_bytes: int = 1 << 20) -> Outbox[Any]:
    return Outbox("chan", limit=limit, batch_bytes=batch_bytes, max_frame_size=1 << 24)


def decode(data: bytes) -> list[tuple[int, list[Any]]]:
    messages = get_codec_pool().decode_frames(data, DataMessage[list[Any]])
    return [(m.header.seq, m.payload) for m in messages]


def test_a_batch_is_one_frame_whose_seq_is_its_first_messages() -> None:
    box = make()
    box.pending.extend([1, 2, 3])
    data, count = box.take()
    assert (count, decode(data)) == (3, [(0, [1, 2, 3])])
    box.confirm()
    box.pending.extend([4, 5])
    data, count = box.take()
    assert decode(data) == [(3, [4, 5])]
    assert box.in_flight == (data, 2)


def test_lost_names_the_batch_in_flight_and_the_one_forming() -> None:
    box = make()
    assert box.lost() == ()
    box.pending.extend(range(5))
    box.take()
    box.confirm()
    box.pending.extend(range(3))
    box.take()  # in flight: seqs 5-7
    box.pending.extend(range(2))  # forming: would be 8-9
    assert box.lost() == ((5, 9),)
    box.confirm()
    assert box.lost() == ((8, 9),)


def test_a_value_that_cannot_be_encoded_is_dropped_and_reported_once() -> None:
    box = make()
    box.pending.extend([1, object(), 3])
    data, count = box.take()
    assert count == 2
    assert [v for _, payload in decode(data) for v in payload] == [1, 3]
    assert isinstance(box.error, TypeError)
    assert "could not be encoded" in str(box.error.__notes__)
    box.pending.append(object())
    assert box.take() == (b"", 0)


def test_the_batch_limit_shrinks_for_large_messages() -> None:
    box = make(limit=1000, batch_bytes=10_000)
    assert box.space() == 1000
    box.pending.extend(["x" * 1000] * 5)
    box.take()
    assert box.max_items < 20
    assert box.space() == box.max_items - 5  # the batch in flight uses the budget
    box.confirm()
    assert box.space() == box.max_items


def test_the_batch_in_flight_and_the_one_forming_share_one_batch() -> None:
    box = make(limit=10)
    box.pending.extend(range(6))
    box.take()  # 6 in flight
    assert box.space() == 4
    box.pending.extend(range(4))
    assert box.space() == 0
    assert box.lost() == ((0, 9),)  # at most one batch (10) accepted and unconfirmed
    box.confirm()
    assert box.space() == 6


def test_stored_batches_are_kept_until_delivered_to_replay_after_a_restart() -> None:
    box: Outbox[int] = Outbox("c", limit=10, batch_bytes=1 << 20, max_frame_size=1 << 24)
    box.keep_until_delivered()
    for values in ([1, 2], [3], [4, 5]):
        box.pending.extend(values)
        box.take()
        box.confirm()
    assert [(seq, count) for seq, count, _ in box.kept or ()] == [(0, 2), (2, 1), (3, 2)]
    box.release(3)  # the actor says seqs below 3 were delivered
    assert ([(seq, count) for seq, count, _ in box.kept or ()], box.oldest()) == ([(3, 2)], 3)
    box.release(5)
    assert (box.kept, box.oldest(), box.following_seq()) == (deque(), 5, 5)


def test_a_copy_goes_on_from_the_seq_the_original_reached() -> None:
    box: Outbox[int] = Outbox("c", limit=10, batch_bytes=1 << 20, max_frame_size=1 << 24)
    box.pending.extend([1, 2, 3])
    copy: Outbox[int] = Outbox(
        "c", limit=10, batch_bytes=1 << 20, max_frame_size=1 << 24, first_seq=box.following_seq()
    )
    copy.pending.append(4)
    copy.take()
    assert (copy.stored_seq, copy.next_seq) == (3, 4)

"""The packed form of the frame path (``put_frames_inline``/``_packed``, ``get_frames_packed``), in-process.

The endpoints make only these calls; they must mean exactly what the unpacked
``put_frames``/``get_frames`` mean, and refuse a malformed call in klaw's words.
"""

from __future__ import annotations

import pytest
from actor_support import CID, READER, SENDER, STREAM, frame, payloads

from klaw_core.runtime.channels.ray.actor import RayChannelActor
from klaw_core.runtime.channels.ray.constants import FrameBatch
from klaw_core.runtime.channels.ray.packed import (
    INLINE_REPLY_BYTES,
    GetCall,
    PutCall,
    frame_batch,
    pack,
    put_ack,
)
from klaw_core.runtime.errors import MalformedPayload


def make(capacity: int | None = 10) -> RayChannelActor[int]:
    return RayChannelActor(CID, capacity, int, senders=(SENDER,), receivers=(READER,))


def get_call(max_messages: int = 100, delivered: int = -1) -> bytes:
    return pack(GetCall(READER, STREAM, max_messages, 0.0, 0, delivered, -1, None, None, False))


async def test_packed_put_and_get_mean_what_the_unpacked_calls_mean() -> None:
    actor = make(10)
    reply = await actor.put_frames_packed(
        frame([1, 2, 3]), pack(PutCall(3, SENDER, STREAM, 0.0, 0, -1))
    )
    assert isinstance(reply, bytes)
    ack = put_ack(reply)
    assert (ack.status, ack.room) == ("ok", 7)
    fetched = await actor.get_frames_packed(get_call())
    assert isinstance(fetched, bytes)  # small: packed
    batch = frame_batch(fetched)
    assert (batch.status, batch.counts, batch.streams) == ("ok", (3,), (SENDER,))
    assert payloads(batch.frames) == [1, 2, 3]
    # The next fetch reports the three delivered: the room comes back.
    assert frame_batch(await actor.get_frames_packed(get_call(delivered=3))).status == "empty"
    assert (await actor.stats()).buffered == 0


async def test_an_inline_put_carries_its_frames_inside_the_call() -> None:
    actor = make(10)
    call = PutCall(2, SENDER, STREAM, 0.0, 0, -1, frame([4, 5]))
    ack = put_ack(await actor.put_frames_inline(pack(call)))
    assert (ack.status, ack.room) == ("ok", 8)
    again = put_ack(await actor.put_frames_inline(pack(call)))  # a repeated put stores nothing
    assert (again.status, again.room) == ("ok", 8)
    batch = frame_batch(await actor.get_frames_packed(get_call()))
    assert (batch.counts, payloads(batch.frames)) == ((2,), [4, 5])


async def test_an_inline_put_without_frames_is_refused_and_changes_nothing() -> None:
    actor = make(10)
    with pytest.raises(MalformedPayload, match="holds no frames"):
        await actor.put_frames_inline(pack(PutCall(1, SENDER, STREAM, 0.0, 0, -1)))
    assert (await actor.stats()).buffered == 0


async def test_a_packed_put_for_an_older_epoch_is_not_applied() -> None:
    actor = make(10)
    ack = put_ack(
        await actor.put_frames_packed(frame([1]), pack(PutCall(1, SENDER, STREAM, 0.0, 5, -1)))
    )
    assert (ack.status, ack.epoch) == ("restarted", 0)
    assert (await actor.stats()).buffered == 0


async def test_a_large_fetch_reply_is_the_struct_itself() -> None:
    actor = make(None)
    items = list(range(1 << 20, (1 << 20) + INLINE_REPLY_BYTES // 2))  # 5 bytes each encoded
    await actor.put_frames_packed(
        frame(items), pack(PutCall(len(items), SENDER, STREAM, 0.0, 0, -1))
    )
    reply = await actor.get_frames_packed(get_call(max_messages=len(items)))
    assert isinstance(reply, FrameBatch)
    assert frame_batch(reply) is reply
    assert payloads(reply.frames) == items


@pytest.mark.parametrize(
    "call", [b"", b"\xc1", pack([1, 2]), pack(PutCall(1, 2, 3, None, None, -1)) + b"x"]
)
async def test_a_malformed_packed_call_is_refused_and_changes_nothing(call: bytes) -> None:
    actor = make(10)
    with pytest.raises(MalformedPayload, match="PutCall call"):
        await actor.put_frames_packed(frame([1]), call)
    with pytest.raises(MalformedPayload, match="PutCall call"):
        await actor.put_frames_inline(call)
    with pytest.raises(MalformedPayload, match="GetCall call"):
        await actor.get_frames_packed(call)
    assert (await actor.stats()).buffered == 0

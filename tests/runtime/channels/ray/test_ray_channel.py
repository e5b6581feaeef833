"""RaySender/RayReceiver across real Ray processes (one local Ray for the session).

The backend-agnostic contract runs in ``test_channel_semantics.py`` on this
backend too; this module covers what only a Ray channel has: producers in other
processes, validation at the receiving boundary, pickled endpoints, named
channels, batching limits and sequence checks.
"""

from __future__ import annotations

import asyncio
import pickle
import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

import msgspec
import pytest
import ray
from ray_messages import Alert, Reading, produce, reading, receive, send_as, send_values

from klaw_core.runtime.channels import Receiver, Sender, channel
from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.protocols import ReferenceReceiver, ReferenceSender
from klaw_core.runtime.channels.ray import (
    RayChannel,
    RayChannelOptions,
    RayReceiver,
    RaySender,
    ensure_ray,
    ray_channel,
)
from klaw_core.runtime.channels.ray.constants import FrameBatch
from klaw_core.runtime.channels.ray.packed import INLINE_PUT_BYTES
from klaw_core.runtime.channels.wire import DataMessage
from klaw_core.runtime.errors import (
    ChannelClosedError,
    ChannelLostError,
    FrameTooLarge,
    InvalidMessageError,
)

pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("ray_cluster")]

T = TypeVar("T")
WAIT = 60.0  # bound on any wait: a broken channel fails the test instead of hanging it


async def within(awaitable: Awaitable[T], seconds: float = WAIT) -> T:
    async with asyncio.timeout(seconds):
        return await awaitable


async def drain(rx: Receiver[T]) -> list[T]:
    async def collect() -> list[T]:
        return [item async for item in rx]

    return await within(collect())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ----------------------------------------------------------------- across processes


async def test_producer_tasks_to_driver_100k_typed_messages_exactly_once_in_order() -> None:
    producers, per_producer = 3, 34_000
    tx, rx = channel(8192, backend="ray", value_type=Reading)
    task = ray.remote(produce)
    # One producer sends message by message, the others in chunks.
    refs = [
        task.remote(tx.clone(), p, per_producer, 0 if p == 0 else 1000) for p in range(producers)
    ]
    await tx.close()
    received = await drain(rx)
    assert await within(asyncio.gather(*refs)) == [per_producer] * producers

    assert len(received) == producers * per_producer
    assert all(type(item) is Reading for item in received)
    for p in range(producers):
        mine = [item for item in received if item.producer == p]
        assert [item.seq for item in mine] == list(range(per_producer))  # order, no dup, no gap
    assert received[7] == reading(received[7].producer, received[7].seq)
    stats = await rx.stats()
    assert (stats.sent, stats.received, stats.buffered) == (102_000, 102_000, 0)
    assert stats.high_watermark <= 8192


async def test_receiver_in_a_task_and_sender_in_the_driver() -> None:
    tx, rx = channel(64, backend="ray", value_type=Reading)
    ref = ray.remote(receive).remote(rx, 1_000)
    async with tx:
        await tx.send_batch([reading(9, s) for s in range(1_000)])
    got = await within(ref)
    assert [item.seq for item in got] == list(range(1_000))


async def test_stats_count_tasks_blocked_in_another_process() -> None:
    """anyio's ``tasks_waiting_receive``, summed over processes: the receiving
    task's process reports its blocked task to the actor, and reports it gone."""
    tx, rx = channel(4, backend="ray", value_type=Reading)
    ref = ray.remote(receive).remote(rx, 1)

    async def until_waiting(receive: int) -> None:
        while (await tx.stats()).tasks_waiting_receive != receive:
            await asyncio.sleep(0.02)

    await within(until_waiting(1))
    async with tx:
        await tx.send(reading(1, 0))
        await tx.flush()
        assert [item.seq for item in await within(ref)] == [0]
        await within(until_waiting(0))


async def test_endpoints_pickle_as_their_public_class() -> None:
    tx, rx = channel(8, backend="ray", value_type=int)
    tx2 = pickle.loads(pickle.dumps(tx))
    rx2 = pickle.loads(pickle.dumps(rx))
    assert type(tx2) is RaySender
    assert type(rx2) is RayReceiver
    assert (tx2.channel_id, rx2.channel_id) == (tx.channel_id, tx.channel_id)
    assert isinstance(tx, ReferenceSender)
    assert isinstance(rx, ReferenceReceiver)
    assert tx.name is None
    assert b"RaySender" in pickle.dumps(tx)
    await tx2.send(5)
    await tx2.close()  # the same registration as tx: closing it ends the channel
    assert await drain(rx2) == [5]
    assert tx2.closed
    await rx.close()


# ----------------------------------------------------------------- validation at the boundary


async def test_wrong_type_from_another_process_raises_invalid_message_and_channel_goes_on() -> None:
    tx, rx = channel(64, backend="ray", value_type=Reading)
    bad = tx.clone()  # handed to a peer that sends another type
    ref = ray.remote(send_values).remote(bad, [Alert("E1", 3), Alert("E2", 4)])
    assert await within(ref) == "ok"  # senders do not validate: receivers do
    for seq in (0, 1):
        with pytest.raises(InvalidMessageError) as info:
            await within(rx.recv())
        error = info.value
        assert (error.channel, error.seq) == (tx.channel_id, seq)
        assert "missing required field `producer`" in error.detail
    await tx.send(reading(1, 0))  # later good messages still arrive
    await tx.close()
    assert await drain(rx) == [reading(1, 0)]


async def test_one_bad_message_in_a_batch_spares_its_neighbours() -> None:
    tx, rx = channel(64, backend="ray", value_type=int)
    loose = cast(Sender[Any], tx)
    await loose.send_batch([1, 2, "three", 4])
    await tx.close()
    assert await within(rx.recv()) == 1
    assert list(await within(rx.recv_batch(10))) == [2]  # stops before the bad one
    with pytest.raises(InvalidMessageError) as info:
        await within(rx.recv())
    assert (info.value.seq, info.value.channel) == (2, tx.channel_id)
    assert "does not match the expected type" in str(info.value)
    assert await drain(rx) == [4]


async def test_a_raw_sender_forced_to_another_type_on_the_same_actor() -> None:
    chan = RayChannel.create(32, value_type=Reading)
    rx = chan.receiver()
    good = chan.sender()
    await within(chan.actor.register_sender.remote(4242))
    # A peer process builds a sender on the same actor, declaring another type.
    ref = ray.remote(send_as).remote(chan.actor, chan.channel_id, 4242, Alert, [Alert("E", 1)])
    assert await within(ref) == "ok"
    await good.send(reading(0, 0))
    await good.close()
    with pytest.raises(InvalidMessageError) as info:
        await within(rx.recv())
    assert (info.value.channel, info.value.seq) == (chan.channel_id, 0)
    assert await drain(rx) == [reading(0, 0)]


async def test_untyped_channel_carries_messagepack_values() -> None:
    tx, rx = channel(8, backend="ray")
    async with tx:
        await tx.send_batch([1, "two", {"three": 3}, [4], None])
    assert await drain(rx) == [1, "two", {"three": 3}, [4], None]


async def test_a_value_that_cannot_be_encoded_is_dropped_and_reported() -> None:
    tx, rx = channel(8, backend="ray")
    await tx.send_batch([1, object(), 3])
    with pytest.raises(TypeError) as info:
        await tx.flush()
    assert "could not be encoded" in "".join(getattr(info.value, "__notes__", []))
    await tx.close()
    assert await drain(rx) == [1, 3]  # no gap in sequence numbers either


# ----------------------------------------------------------------- batching limits


async def test_batches_split_to_respect_the_frame_size_limit() -> None:
    tx, rx = ray_channel(
        None, unbounded=True, value_type=str, max_frame_size=4_000, batch_size=4096
    )
    values = [f"{i:0100d}" for i in range(500)]  # ~50 kB as one batch: 20+ frames
    await tx.send_batch(values)
    await tx.send("x" * 5_000)  # alone, still too large: dropped and reported
    with pytest.raises(FrameTooLarge):
        await tx.flush()
    await tx.close()
    assert await drain(rx) == values


async def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        RayChannelOptions(batch_size=0)
    with pytest.raises(ValueError, match="linger"):
        RayChannelOptions(linger=-1.0)
    with pytest.raises(TypeError):
        channel(4, backend="ray", no_such_option=1)


async def test_linger_sends_a_partial_batch_without_flush() -> None:
    tx, rx = ray_channel(16, value_type=int, linger_ms=1.0)
    await tx.send(1)  # no flush: the linger timer sends it
    assert await within(rx.recv()) == 1
    await tx.close()
    await rx.close()


# ----------------------------------------------------------------- sequence numbers


async def test_a_gap_in_a_stream_is_reported_to_an_exclusive_receiver() -> None:
    chan = RayChannel.create(None, unbounded=True, value_type=int)
    rx = chan.receiver()
    actor, stream = chan.actor, 777
    await within(actor.register_sender.remote(55))

    def frame(items: list[int], seq: int) -> bytes:
        message = DataMessage.new(items, channel_id=chan.channel_id, seq=seq)
        return bytes(get_codec_pool().encode_frames([message]))

    await within(actor.put_frames.remote(frame([0, 1], 0), 2, 55, stream))
    await within(actor.put_frames.remote(frame([5, 6], 5), 2, 55, stream))  # 2..4 never sent
    await within(actor.put_frames.remote(frame([5, 6, 7], 5), 3, 55, stream))  # 5, 6 repeated
    await within(actor.close_sender.remote(55))
    assert [await within(rx.recv()) for _ in range(2)] == [0, 1]
    with pytest.raises(ChannelLostError, match="messages 2 to 4 of sender stream 0x37 were lost"):
        await within(rx.recv())
    assert await drain(rx) == [5, 6, 7]  # the repeat is dropped, not delivered twice


async def test_competing_receivers_do_not_see_gaps() -> None:
    tx, rx = channel(4, backend="ray", value_type=int)
    rx2 = rx.clone()

    async def produce_all() -> None:
        async with tx:
            for i in range(40):
                await tx.send(i)
                if i % 4 == 3:
                    await tx.flush()

    producer = asyncio.create_task(produce_all())
    a, b = await within(asyncio.gather(drain(rx), drain(rx2)))
    await within(producer)
    assert sorted(a + b) == list(range(40))
    assert a == sorted(a)
    assert b == sorted(b)


# ----------------------------------------------------------------- closing with undelivered messages


async def test_closing_a_receiver_gives_back_what_it_fetched_and_did_not_deliver() -> None:
    tx, rx = channel(64, backend="ray", value_type=int)
    rx2 = rx.clone()
    await tx.send_batch(range(10))
    await tx.close()
    assert [await within(rx.recv()) for _ in range(3)] == [0, 1, 2]  # rx fetched all ten
    await rx.close()
    assert await drain(rx2) == list(range(3, 10))


async def test_closing_a_receiver_with_a_fetch_in_flight_loses_nothing() -> None:
    tx, rx = channel(64, backend="ray", value_type=int)
    rx2 = rx.clone()
    waiting = asyncio.create_task(rx.recv())
    await asyncio.sleep(0.2)
    await rx.close()
    with pytest.raises(ChannelClosedError):
        await within(waiting)
    async with tx:
        await tx.send_batch([1, 2, 3])
    assert await drain(rx2) == [1, 2, 3]


# ----------------------------------------------------------------- named channels


async def test_named_channel_attach_from_another_task() -> None:
    name = unique("jobs")
    chan = RayChannel.create(16, value_type=Reading, name=name)
    rx = chan.receiver()
    assert rx.name == name

    def attach_and_produce(name: str, count: int) -> int:
        sender = RayChannel.attach(name, namespace="klaw").sender()
        return produce(sender, 4, count, 0)

    ref = ray.remote(attach_and_produce).remote(name, 50)  # 50 > capacity: drain meanwhile
    assert [item.seq for item in await drain(rx)] == list(range(50))
    assert await within(ref) == 50
    assert (await chan.metadata()).name == name
    assert len(await chan.reader_stats()) == 1
    chan.destroy()


async def test_named_channel_names_are_unique_and_must_exist() -> None:
    name = unique("dup")
    chan = RayChannel.create(4, name=name, namespace="klaw-tests")
    with pytest.raises(ValueError, match="already exists"):
        RayChannel.create(4, name=name, namespace="klaw-tests")
    with pytest.raises(LookupError, match="no channel named"):
        RayChannel.attach(unique("missing"))
    attached = RayChannel.attach(name, namespace="klaw-tests")
    assert (attached.channel_id, attached.capacity) == (chan.channel_id, 4)
    assert "RayChannel" in repr(attached)
    with pytest.raises(ValueError, match="needs a name"):
        RayChannel.create(4, detached=True)
    chan.destroy()
    with pytest.raises(ChannelLostError):
        attached.sender()


# ----------------------------------------------------------------- portability


def test_types_defined_in_main_are_refused_before_anything_starts() -> None:
    main_type = msgspec.defstruct("Local", [("x", int)], module="__main__")
    with pytest.raises(TypeError, match="defined in __main__"):
        channel(4, backend="ray", value_type=main_type)
    with pytest.raises(TypeError, match="defined in __main__"):
        channel(4, backend="ray", value_type=list[main_type])  # type: ignore[valid-type]


def test_ensure_ray_keeps_an_existing_connection() -> None:
    before = ray.get_runtime_context().get_job_id()
    ensure_ray()
    assert ray.get_runtime_context().get_job_id() == before


def test_clone_registers_new_endpoints() -> None:
    tx, rx = channel(4, backend="ray", value_type=int)
    tx2, rx2 = tx.clone(), rx.clone()
    assert isinstance(tx2, RaySender)
    assert isinstance(rx2, RayReceiver)
    assert "open" in repr(tx2)
    assert "open" in repr(rx2)
    stats = ray.get(cast(RaySender[int], tx)._link.actor.stats.remote())
    assert (stats.senders, stats.receivers) == (2, 2)


async def test_an_undecodable_batch_is_skipped_with_invalid_message() -> None:
    chan = RayChannel.create(None, unbounded=True, value_type=int)
    rx = chan.receiver()
    await within(chan.actor.register_sender.remote(66))

    def frame(payload: object, seq: int) -> bytes:
        message = DataMessage.new(payload, channel_id=chan.channel_id, seq=seq)
        return bytes(get_codec_pool().encode_frames([message]))

    # The header is valid (the actor only peeks at it); the payload is not a list.
    await within(chan.actor.put_frames.remote(frame(5, 0), 1, 66, 1))
    await within(chan.actor.put_frames.remote(frame([7, 8], 1), 2, 66, 1))
    await within(chan.actor.close_sender.remote(66))
    with pytest.raises(InvalidMessageError, match="could not be decoded and was skipped") as info:
        await within(rx.recv())
    assert (info.value.channel, info.value.seq) == (chan.channel_id, 0)
    assert await drain(rx) == [7, 8]


def test_endpoints_work_across_event_loops() -> None:
    tx, rx = channel(16, backend="ray", value_type=int)
    asyncio.run(tx.send(1))  # this loop ends with the value still in the local batch
    asyncio.run(tx.send(2))
    asyncio.run(tx.close())  # flushes both, in order
    assert asyncio.run(within(rx.recv())) == 1  # its prefetch dies with this loop ...
    assert asyncio.run(within(rx.recv())) == 2
    with pytest.raises(ChannelClosedError):
        asyncio.run(within(rx.recv()))  # ... and a fresh one serves the next loop


async def test_seqs_the_actor_says_were_delivered_are_dropped_by_recv_and_async_for() -> None:
    # After an actor restart, a replayed frame may hold seqs delivered already;
    # the actor names them (FrameBatch.spans) and every receiving path drops them.
    tx, rx = channel(8, backend="ray", value_type=int)
    assert isinstance(rx, RayReceiver)
    data = bytes(
        get_codec_pool().encode_frames(
            [DataMessage.new([10, 11, 12, 13, 14], channel_id=rx.channel_id, seq=0)]
        )
    )
    spans = ((7, 1, 3),)  # stream 7, seqs 1 and 2 delivered before
    rx._accept(FrameBatch("ok", (data,), (7,), (5,), spans=spans))
    got = [await within(rx.recv()), await within(rx.recv())]
    got.append(await within(anext(rx)))
    assert got == [10, 13, 14]
    await tx.close()
    await rx.close()


async def test_batches_larger_and_smaller_than_the_inline_put_size_both_arrive() -> None:
    # A put of at most INLINE_PUT_BYTES travels inside its packed call; a
    # larger one beside it (packed.put_arguments).
    tx, rx = channel(None, backend="ray", value_type=int)
    big = list(range(1 << 20, (1 << 20) + INLINE_PUT_BYTES // 4))  # 5 bytes each encoded
    await within(tx.send_batch(big))
    await within(tx.flush())
    await tx.send(7)
    await tx.close()
    assert await within(drain(rx)) == [*big, 7]
    await rx.close()


async def test_a_small_first_batch_does_not_split_the_batch_budget_for_good() -> None:
    # The batch in flight and the one forming share one budget of batch_size
    # messages. A producer that sends one message, yields (it leaves alone)
    # and then floods must still get full batches: the pump lets blocked sends
    # refill before it takes, or every other put would carry one message.
    batch, batches = 64, 40
    tx, rx = channel(None, backend="ray", value_type=int, batch_size=batch)
    assert isinstance(tx, RaySender)
    await tx.send(-1)
    await asyncio.sleep(0)  # the pump puts the lone message
    for i in range(batch * batches):
        await tx.send(i)
    await within(tx.close())
    assert await within(drain(rx)) == [-1, *range(batch * batches)]
    assert tx._replies <= batches + 2  # split for good: about 2 * batches
    await rx.close()

"""The channel contract, checked the same way on every backend.

Written only against the ``Sender``/``Receiver`` protocols and ``channel()``
(through the ``make_channel`` fixture), never against a backend's internals, so
it runs unchanged on each entry of ``BACKENDS`` in ``conftest.py``.

Batching transports may keep sent items locally until ``flush()``; the tests
call ``flush()`` where a receiver must see items while the sender stays open,
and rely on ``close()`` flushing everywhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from klaw_core.result import Err, Ok
from klaw_core.runtime.channels import (
    DEFAULT_CAPACITY,
    ChannelStats,
    Receiver,
    Sender,
)
from klaw_core.runtime.config import channel_defaults
from klaw_core.runtime.errors import (
    ChannelClosed,
    ChannelClosedError,
    ChannelEmpty,
    ChannelFull,
)

T = TypeVar("T")
MakeChannel = Callable[..., tuple[Sender[Any], Receiver[Any]]]

WAIT = 60.0  # bound on any single wait: a broken channel fails instead of hanging (generous: CI shares 2 cores)
PAUSE = 0.05  # long enough for a runnable task to get to its next wait


async def within(awaitable: Awaitable[T], seconds: float = WAIT) -> T:
    """Await with an upper bound, so a hang becomes a failure."""
    async with asyncio.timeout(seconds):
        return await awaitable


async def drain(rx: Receiver[T]) -> list[T]:
    """Every item until end of channel."""

    async def collect() -> list[T]:
        return [item async for item in rx]

    return await within(collect())


async def until_stats(
    endpoint: Sender[Any] | Receiver[Any], predicate: Callable[[ChannelStats], bool]
) -> ChannelStats:
    """Poll ``stats()`` until ``predicate`` holds (a remote backend updates asynchronously)."""

    async def poll() -> ChannelStats:
        while True:
            stats = await endpoint.stats()
            if predicate(stats):
                return stats
            await asyncio.sleep(0.005)

    return await within(poll())


# ----------------------------------------------------------------- basics


async def test_endpoints_implement_the_protocols(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(4)
    assert isinstance(tx, Sender)
    assert isinstance(rx, Receiver)
    assert isinstance(tx.clone(), Sender)
    assert isinstance(rx.clone(), Receiver)


async def test_items_arrive_in_order_then_end_of_channel(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(16)
    for i in range(10):
        await tx.send(i)
    await tx.close()
    assert [await within(rx.recv()) for _ in range(10)] == list(range(10))
    with pytest.raises(ChannelClosedError):
        await within(rx.recv())
    assert await rx.try_recv() == Err(ChannelClosed("all senders closed"))


async def test_default_capacity_and_unbounded(make_channel: MakeChannel) -> None:
    tx, _ = make_channel()
    assert (await tx.stats()).capacity == channel_defaults().capacity  # klaw.toml / KLAW_*

    tx, rx = make_channel(unbounded=True)
    count = DEFAULT_CAPACITY * 3
    await within(tx.send_batch(range(count)))
    await tx.close()
    assert (await until_stats(rx, lambda s: s.buffered == count)).capacity is None
    assert await drain(rx) == list(range(count))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"capacity": 0}, ValueError),
        ({"capacity": -3}, ValueError),
        ({"capacity": 4, "unbounded": True}, ValueError),
        ({"capacity": 2.5}, TypeError),
    ],
)
def test_invalid_capacity(make_channel: MakeChannel, kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        make_channel(**kwargs)


async def test_async_with_closes_the_endpoint(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(4)
    async with tx as entered:
        assert entered is tx
        await tx.send(1)
    with pytest.raises(ChannelClosedError):
        await tx.send(2)
    async with rx:
        assert await drain(rx) == [1]
    assert isinstance((await rx.try_recv()).err().unwrap(), ChannelClosed)


# ----------------------------------------------------------------- many producers and consumers


async def test_clones_k_producers_n_items_each_exactly_once_in_order(
    make_channel: MakeChannel,
) -> None:
    producers, per_producer = 4, 300
    tx, rx = make_channel(8, value_type=tuple[int, int])
    senders = [tx] + [tx.clone() for _ in range(producers - 1)]

    async def produce(index: int, sender: Sender[tuple[int, int]]) -> None:
        async with sender:
            for seq in range(per_producer):
                await sender.send((index, seq))

    tasks = [asyncio.create_task(produce(i, s)) for i, s in enumerate(senders)]
    received = await drain(rx)
    await within(asyncio.gather(*tasks))

    assert sorted(received) == [(p, s) for p in range(producers) for s in range(per_producer)]
    for p in range(producers):
        assert [seq for (who, seq) in received if who == p] == list(range(per_producer))


async def test_competing_consumers_each_item_exactly_once(make_channel: MakeChannel) -> None:
    producers, consumers, per_producer = 3, 3, 200
    tx, rx = make_channel(16, value_type=tuple[int, int])
    senders = [tx] + [tx.clone() for _ in range(producers - 1)]
    receivers = [rx] + [rx.clone() for _ in range(consumers - 1)]

    async def produce(index: int, sender: Sender[tuple[int, int]]) -> None:
        async with sender:
            await sender.send_batch((index, seq) for seq in range(per_producer // 2))
            for seq in range(per_producer // 2, per_producer):
                await sender.send((index, seq))

    tasks = [asyncio.create_task(produce(i, s)) for i, s in enumerate(senders)]
    parts = await within(asyncio.gather(*(drain(r) for r in receivers)))
    await within(asyncio.gather(*tasks))

    everything = [item for part in parts for item in part]
    assert sorted(everything) == [(p, s) for p in range(producers) for s in range(per_producer)]
    for part in parts:  # each consumer sees each producer's items in send order
        for p in range(producers):
            seqs = [seq for (who, seq) in part if who == p]
            assert seqs == sorted(seqs)


# ----------------------------------------------------------------- end of channel


async def test_end_only_after_last_sender_closed_and_buffer_drained(
    make_channel: MakeChannel,
) -> None:
    tx, rx = make_channel(8)
    tx2 = tx.clone()
    await tx.send_batch([1, 2])
    await tx.close()
    await tx2.send(3)
    await tx2.flush()

    assert await within(rx.recv()) == 1
    assert await within(rx.recv()) == 2
    assert await within(rx.recv()) == 3
    assert await rx.try_recv() == Err(ChannelEmpty())  # tx2 still open: not the end

    await tx2.send(4)
    await tx2.close()  # last sender: end comes after 4 is received
    assert await rx.try_recv() == Ok(4)
    result = await rx.try_recv()
    assert isinstance(result, Err)
    assert isinstance(result.error, ChannelClosed)
    with pytest.raises(ChannelClosedError):
        await within(rx.recv())


async def test_waiting_receivers_all_wake_at_end_of_channel(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(4)
    receivers = [rx, rx.clone(), rx.clone()]
    waiting = [asyncio.create_task(r.recv()) for r in receivers]
    await asyncio.sleep(PAUSE)
    assert not any(task.done() for task in waiting)
    await tx.close()
    for task in waiting:
        with pytest.raises(ChannelClosedError):
            await within(task)


async def test_async_for_stops_at_end_of_channel(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(4)

    async def produce() -> None:
        async with tx:
            for i in range(25):
                await tx.send(i)

    task = asyncio.create_task(produce())
    assert await drain(rx) == list(range(25))
    await within(task)


async def test_nothing_buffered_is_lost_when_senders_close(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(64)
    await tx.send_batch(range(50))
    await tx.close()
    assert (await until_stats(rx, lambda s: s.buffered == 50)).senders_closed
    assert await drain(rx) == list(range(50))


# ----------------------------------------------------------------- receivers closed


async def test_send_after_all_receivers_closed_fails_and_enqueues_nothing(
    make_channel: MakeChannel,
) -> None:
    tx, rx = make_channel(8)
    rx2 = rx.clone()
    await rx.close()
    await tx.send(1)  # rx2 is still open
    await tx.flush()
    await rx2.close()

    with pytest.raises(ChannelClosedError):
        await tx.send(2)
        await tx.flush()
    result = await tx.try_send(3)
    assert isinstance(result, Err)
    assert isinstance(result.error, ChannelClosed)
    with pytest.raises(ChannelClosedError):
        await tx.send_batch([4, 5])
        await tx.flush()

    stats = await tx.stats()
    assert stats.receivers_closed
    assert stats.receivers == 0
    assert stats.sent == 1


async def test_blocked_sender_wakes_with_closed_when_receivers_close(
    make_channel: MakeChannel,
) -> None:
    tx, rx = make_channel(1)
    await tx.send(1)
    await tx.flush()

    async def send_more() -> None:
        await tx.send(2)
        await tx.flush()

    blocked = asyncio.create_task(send_more())
    await asyncio.sleep(PAUSE)
    assert not blocked.done()
    await rx.close()
    with pytest.raises(ChannelClosedError):
        await within(blocked)


# ----------------------------------------------------------------- non-blocking calls


async def test_try_send_on_full_channel_is_channel_full(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(2)
    assert await tx.try_send(1) == Ok(None)
    assert await tx.try_send(2) == Ok(None)
    assert await tx.try_send(3) == Err(ChannelFull(2))
    stats = await tx.stats()
    assert (stats.buffered, stats.sent) == (2, 2)
    assert await within(rx.recv()) == 1
    assert await tx.try_send(4) == Ok(None)
    await tx.close()
    assert await drain(rx) == [2, 4]


async def test_try_recv_on_empty_open_channel_is_channel_empty(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(2)
    assert await rx.try_recv() == Err(ChannelEmpty())
    await tx.send(7)
    await tx.flush()

    async def poll() -> object:
        while True:
            result = await rx.try_recv()
            if result != Err(ChannelEmpty()):
                return result
            await asyncio.sleep(0.005)

    assert await within(poll()) == Ok(7)
    assert await rx.try_recv() == Err(ChannelEmpty())


async def test_closed_endpoints_refuse_calls_and_clones(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(2)
    extra = tx.clone()
    other = rx.clone()
    await tx.send(1)
    await tx.flush()
    await until_stats(rx, lambda s: s.buffered == 1)
    await tx.close()
    await tx.close()  # idempotent
    with pytest.raises(ChannelClosedError):
        await tx.send(1)
    assert isinstance((await tx.try_send(1)).err().unwrap(), ChannelClosed)
    with pytest.raises(ChannelClosedError):
        tx.clone()

    await rx.close()
    await rx.close()
    with pytest.raises(ChannelClosedError):  # although an item is buffered
        await rx.recv()
    with pytest.raises(ChannelClosedError):
        await rx.recv_batch(4)
    with pytest.raises(ChannelClosedError):
        await rx.recv_batch(4, timeout=0)
    assert isinstance((await rx.try_recv()).err().unwrap(), ChannelClosed)
    assert [item async for item in rx] == []
    with pytest.raises(ChannelClosedError):
        rx.clone()
    assert await within(other.recv()) == 1  # the open clone still gets it
    await extra.close()


# ----------------------------------------------------------------- cancellation


async def test_cancelled_recv_loses_no_item(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(4)
    waiting = asyncio.create_task(rx.recv())
    await asyncio.sleep(PAUSE)
    waiting.cancel()  # cancelled while waiting, before any item
    with pytest.raises(asyncio.CancelledError):
        await waiting

    waiting = asyncio.create_task(rx.recv())
    await asyncio.sleep(PAUSE)
    await tx.send(1)
    await tx.flush()
    waiting.cancel()  # the item may already be on its way to this waiter
    got: list[int] = []
    with contextlib.suppress(asyncio.CancelledError):
        got.append(await waiting)
    if not got:
        got.append(await within(rx.recv()))
    assert got == [1]

    await tx.send(2)
    await tx.close()
    assert await drain(rx) == [2]


async def test_recv_cancelled_at_random_points_loses_nothing(make_channel: MakeChannel) -> None:
    total = 200
    tx, rx = make_channel(8)
    rng = random.Random(4)
    got: list[int] = []

    async def produce() -> None:
        async with tx:
            for i in range(total):
                await tx.send(i)
                if i % 16 == 0:
                    await asyncio.sleep(0)

    async def consume() -> None:
        while True:
            task = asyncio.create_task(rx.recv())
            if rng.random() < 0.5:
                await asyncio.sleep(0)
            if rng.random() < 0.3:
                task.cancel()
            try:
                got.append(await task)
            except asyncio.CancelledError:
                continue
            except ChannelClosedError:
                return

    producer = asyncio.create_task(produce())
    await within(consume())
    await within(producer)
    assert got == list(range(total))


async def test_blocked_sender_wakes_when_capacity_frees(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(2)
    await tx.send_batch([1, 2])
    await tx.flush()

    async def send_more() -> None:
        await tx.send(3)
        await tx.flush()

    blocked = asyncio.create_task(send_more())
    await asyncio.sleep(PAUSE)
    assert not blocked.done()
    assert await within(rx.recv()) == 1
    await within(blocked)
    await tx.close()
    assert await drain(rx) == [2, 3]


async def test_every_blocked_sender_wakes_when_a_batch_frees_room(
    make_channel: MakeChannel,
) -> None:
    tx, rx = make_channel(3)
    await tx.send_batch([0, 1, 2])
    await tx.flush()
    senders = [tx.clone() for _ in range(3)]

    async def send_one(sender: Sender[int], value: int) -> None:
        await sender.send(value)
        await sender.flush()

    blocked = [asyncio.create_task(send_one(s, 10 + i)) for i, s in enumerate(senders)]
    await asyncio.sleep(PAUSE)
    assert not any(task.done() for task in blocked)
    assert sorted(await within(rx.recv_batch(3))) == [0, 1, 2]
    await within(asyncio.gather(*blocked))  # all three had room, none may stay asleep
    for sender in [tx, *senders]:
        await sender.close()
    assert sorted(await drain(rx)) == [10, 11, 12]


async def test_send_batch_larger_than_capacity_completes_as_consumer_drains(
    make_channel: MakeChannel,
) -> None:
    tx, rx = make_channel(4)

    async def produce() -> None:
        async with tx:
            await tx.send_batch(list(range(100)))

    task = asyncio.create_task(produce())
    assert await drain(rx) == list(range(100))
    await within(task)
    stats = await rx.stats()
    assert stats.high_watermark <= 4


# ----------------------------------------------------------------- batches


async def test_recv_batch_waits_for_first_item_then_takes_what_is_there(
    make_channel: MakeChannel,
) -> None:
    tx, rx = make_channel(16)
    assert await within(rx.recv_batch(10, timeout=PAUSE)) == []
    assert await within(rx.recv_batch(10, timeout=0)) == []

    waiting = asyncio.create_task(rx.recv_batch(10))
    await asyncio.sleep(PAUSE)
    assert not waiting.done()
    await tx.send(0)
    await tx.flush()
    assert await within(waiting) == [0]

    await tx.send_batch([1, 2, 3, 4, 5])
    await tx.flush()
    await until_stats(rx, lambda s: s.buffered == 5)
    assert list(await within(rx.recv_batch(3))) == [1, 2, 3]
    assert list(await within(rx.recv_batch(10, timeout=PAUSE))) == [4, 5]
    assert await within(rx.recv_batch(10, timeout=PAUSE)) == []

    await tx.send(6)
    await tx.close()
    assert list(await within(rx.recv_batch(10, timeout=PAUSE))) == [6]
    with pytest.raises(ChannelClosedError):
        await within(rx.recv_batch(10, timeout=PAUSE))
    with pytest.raises(ChannelClosedError):
        await within(rx.recv_batch(10))


@pytest.mark.parametrize(("max_items", "timeout"), [(0, None), (-1, None), (5, -1.0)])
async def test_recv_batch_rejects_bad_arguments(
    make_channel: MakeChannel, max_items: int, timeout: float | None
) -> None:
    _, rx = make_channel(4)
    with pytest.raises(ValueError):
        await rx.recv_batch(max_items, timeout)


# ----------------------------------------------------------------- stats


async def test_stats_are_exact(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(4)
    stats = await tx.stats()
    assert stats == ChannelStats(
        buffered=0, capacity=4, senders=1, receivers=1, sent=0, received=0, high_watermark=0
    )

    await tx.send_batch([1, 2, 3])
    await tx.flush()
    assert await until_stats(rx, lambda s: s.sent == 3) == ChannelStats(
        buffered=3, capacity=4, senders=1, receivers=1, sent=3, received=0, high_watermark=3
    )

    assert [await within(rx.recv()) for _ in range(2)] == [1, 2]
    tx2 = tx.clone()
    rx2 = rx.clone()
    assert await rx.stats() == ChannelStats(
        buffered=1, capacity=4, senders=2, receivers=2, sent=3, received=2, high_watermark=3
    )

    await tx.close()
    await tx2.send(4)
    await tx2.close()
    await rx2.close()
    stats = await rx.stats()
    assert stats == ChannelStats(
        buffered=2,
        capacity=4,
        senders=0,
        receivers=1,
        sent=4,
        received=2,
        high_watermark=3,
        senders_closed=True,
    )
    assert not stats.closed
    assert await drain(rx) == [3, 4]
    stats = await rx.stats()
    assert (stats.buffered, stats.received, stats.closed) == (0, 4, True)

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
import gc
import itertools
import random
import warnings
from collections.abc import Awaitable, Callable, Iterator
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
    ChannelEnded,
    ChannelEndedError,
    ChannelFull,
    ChannelTimeoutError,
    EndpointClosed,
    EndpointClosedError,
    ReceiversClosed,
    ReceiversClosedError,
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
    with pytest.raises(ChannelEndedError):
        await within(rx.recv())
    assert isinstance((await rx.try_recv()).unwrap_err(), ChannelEnded)


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
    assert isinstance(result.error, ChannelEnded)
    with pytest.raises(ChannelEndedError):
        await within(rx.recv())


async def test_waiting_receivers_all_wake_at_end_of_channel(make_channel: MakeChannel) -> None:
    tx, rx = make_channel(4)
    receivers = [rx, rx.clone(), rx.clone()]
    waiting = [asyncio.create_task(r.recv()) for r in receivers]
    await asyncio.sleep(PAUSE)
    assert not any(task.done() for task in waiting)
    await tx.close()
    for task in waiting:
        with pytest.raises(ChannelEndedError):
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

    with pytest.raises(ReceiversClosedError):
        await tx.send(2)
        await tx.flush()
    result = await tx.try_send(3)
    assert isinstance(result, Err)
    assert isinstance(result.error, ReceiversClosed)
    with pytest.raises(ReceiversClosedError):
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
    with pytest.raises(ReceiversClosedError):
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
    """A closed endpoint is trio/anyio's ``ClosedResourceError`` case: ``EndpointClosed``,
    also for ``async for`` and although an item is buffered."""
    tx, rx = make_channel(2)
    extra = tx.clone()
    other = rx.clone()
    await tx.send(1)
    await tx.flush()
    await until_stats(rx, lambda s: s.buffered == 1)
    await tx.close()
    await tx.close()  # idempotent
    with pytest.raises(EndpointClosedError):
        await tx.send(1)
    assert isinstance((await tx.try_send(1)).unwrap_err(), EndpointClosed)
    with pytest.raises(EndpointClosedError):
        await tx.send_batch([1])
    with pytest.raises(EndpointClosedError):
        tx.clone()

    await rx.close()
    await rx.close()
    with pytest.raises(EndpointClosedError):  # although an item is buffered
        await rx.recv()
    with pytest.raises(EndpointClosedError):
        await rx.recv_batch(4)
    with pytest.raises(EndpointClosedError):
        await rx.recv_batch(4, timeout=0)
    assert isinstance((await rx.try_recv()).unwrap_err(), EndpointClosed)
    with pytest.raises(EndpointClosedError):
        await anext(aiter(rx))
    with pytest.raises(EndpointClosedError):
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
    with pytest.raises(ChannelEndedError):
        await within(rx.recv_batch(10, timeout=PAUSE))
    with pytest.raises(ChannelEndedError):
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


# ----------------------------------------------------------------- the rules of anyio, trio and tokio
#
# Each test below follows a documented behaviour of one of the channels that
# klaw's users come from:
#
# - trio, ``open_memory_channel`` / ``MemoryReceiveChannel.receive``: "Memory
#   channels allow multiple tasks to call receive at the same time. The first
#   task will get the first item sent, the second task will get the second item
#   sent, and so on"; blocked senders are likewise admitted in FIFO order (its
#   ``send_tasks`` queue), and "memory channel operations are all atomic with
#   respect to cancellation".
# - tokio, ``mpsc::Sender::send``: "This channel uses a queue to ensure that
#   calls to send and reserve complete in the order they were requested";
#   ``mpsc::Receiver``: "the channel is closed when all senders have been
#   dropped".
# - anyio, memory object streams: ``ClosedResourceError`` for a closed stream,
#   ``BrokenResourceError`` when every receive stream is closed, ``EndOfStream``
#   only at the end, a ``ResourceWarning`` for a stream garbage-collected
#   unclosed, and ``statistics()`` with ``tasks_waiting_send`` /
#   ``tasks_waiting_receive``.


async def drop(held: list[Any]) -> None:
    """Drop the only references to endpoints and collect them (no ``close()``): one warns.

    A Ray endpoint's call still in flight (a receiver telling the actor what
    it delivered, while a sender waits for room) holds it until the reply: it
    is collected then, so this collects again, a bounded number of times.
    """

    def warned() -> bool:
        return any(issubclass(w.category, ResourceWarning) for w in record)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", ResourceWarning)
        held.clear()  # with no call in flight, the endpoint goes (and warns) here
        for _ in range(100):
            gc.collect()
            if warned():
                break
            await asyncio.sleep(0.02)
    assert warned(), "the dropped endpoint was not collected, or did not warn"


async def until_waiting(
    endpoint: Sender[Any] | Receiver[Any], *, send: int = 0, receive: int = 0
) -> None:
    """Wait until exactly these many tasks are blocked (a bounded poll of ``stats()``)."""
    await until_stats(
        endpoint,
        lambda s: (s.tasks_waiting_send, s.tasks_waiting_receive) == (send, receive),
    )


async def blocked_in_order(calls: list[Awaitable[T]]) -> list[asyncio.Task[T]]:
    """Start each call in its own task, one after the other, each blocked before the next starts."""
    tasks = []
    for call in calls:
        tasks.append(asyncio.create_task(call))  # type: ignore[arg-type]
        await asyncio.sleep(PAUSE)
        assert not tasks[-1].done()
    return tasks


async def test_blocked_senders_are_admitted_first_come_first_served(
    make_channel: MakeChannel,
) -> None:
    """trio (``send_tasks`` FIFO) and tokio (``send`` completes in the order requested)."""
    tx, rx = make_channel(1)
    await tx.send(0)
    await tx.flush()
    senders = [tx.clone() for _ in range(3)]
    blocked = await blocked_in_order([s.send(i + 1) for i, s in enumerate(senders)])
    got = [await within(rx.recv()) for _ in range(4)]
    await within(asyncio.gather(*blocked))
    assert got == [0, 1, 2, 3]
    for sender in senders:
        await sender.close()


async def test_a_blocked_send_is_not_starved_by_try_send_pollers(
    make_channel: MakeChannel,
) -> None:
    """trio: a newcomer never barges past a waiting sender (anyio admits it second too)."""
    tx, rx = make_channel(1, value_type=str)
    await tx.send("first")
    await tx.flush()
    blocked = asyncio.create_task(tx.send("blocked"))
    await asyncio.sleep(PAUSE)
    stop = asyncio.Event()

    async def poll() -> None:
        sender = tx.clone()
        async with sender:
            while not stop.is_set():
                await sender.try_send("poller")
                await asyncio.sleep(0)

    pollers = [asyncio.create_task(poll()) for _ in range(4)]
    await asyncio.sleep(PAUSE)
    got = [await within(rx.recv()) for _ in range(2)]
    stop.set()
    await within(asyncio.gather(blocked, *pollers))
    assert got == ["first", "blocked"]


async def test_blocked_receivers_are_served_first_come_first_served(
    make_channel: MakeChannel,
) -> None:
    """trio: "The first task will get the first item sent, the second task will get the second"."""
    tx, rx = make_channel(8)
    waiting = await blocked_in_order([rx.recv() for _ in range(3)])  # three tasks, one receiver
    for i in range(3):
        await tx.send(i)
    await tx.flush()
    assert await within(asyncio.gather(*waiting)) == [0, 1, 2]


async def test_a_blocked_recv_is_not_starved_by_try_recv_pollers(
    make_channel: MakeChannel,
) -> None:
    """trio: the first item sent goes to the task that was already waiting, not to a poller."""
    tx, rx = make_channel(8)
    waiting = asyncio.create_task(rx.recv())
    await asyncio.sleep(PAUSE)
    stop = asyncio.Event()
    polled: list[int] = []

    async def poll() -> None:
        receiver = rx.clone()
        async with receiver:
            while not stop.is_set():
                result = await receiver.try_recv()
                if result.is_ok():
                    polled.append(result.unwrap())
                await asyncio.sleep(0)

    pollers = [asyncio.create_task(poll()) for _ in range(2)]
    await asyncio.sleep(PAUSE)
    for i in range(20):
        await tx.send(i)
        await tx.flush()
        await asyncio.sleep(0)
    assert await within(waiting) == 0
    stop.set()
    await within(asyncio.gather(*pollers))
    assert polled == sorted(polled)


async def test_items_of_tasks_sharing_a_sender_keep_their_admission_order(
    make_channel: MakeChannel,
) -> None:
    """tokio: sends complete in the order requested, also from several tasks on one sender."""
    tx, rx = make_channel(1, value_type=str)
    await tx.send("fill")
    await tx.flush()
    blocked = await blocked_in_order([tx.send(name) for name in ("a", "b", "c")])
    got = [await within(rx.recv())]
    newcomer = await tx.try_send("late")  # a slot is free, but "a" was granted it
    got += [await within(rx.recv()) for _ in range(3)]
    await within(asyncio.gather(*blocked))
    assert got == ["fill", "a", "b", "c"]
    assert isinstance(newcomer.unwrap_err(), ChannelFull)


async def test_async_for_over_a_receiver_closed_by_another_task_raises(
    make_channel: MakeChannel,
) -> None:
    """trio/anyio: iterating a closed receive channel raises ``ClosedResourceError``, it does
    not stop as at ``EndOfChannel``; klaw raises ``EndpointClosedError``."""
    tx, rx = make_channel(4)
    await tx.send(1)
    await tx.flush()
    seen: list[int] = []

    async def iterate() -> None:
        async for item in rx:
            seen.append(item)

    task = asyncio.create_task(iterate())

    async def first_seen() -> None:  # a remote backend delivers after a round trip
        while not seen:
            await asyncio.sleep(0.005)

    await within(first_seen())
    await asyncio.sleep(PAUSE)
    await rx.close()  # another task closes it; the sender is still open
    with pytest.raises(EndpointClosedError):
        await within(task)
    assert seen == [1]


async def test_a_task_blocked_on_an_endpoint_another_task_closes_raises_endpoint_closed(
    make_channel: MakeChannel,
) -> None:
    """trio: closing a channel wakes its blocked tasks with ``ClosedResourceError``."""
    tx, rx = make_channel(1)
    other = rx.clone()
    receiving = asyncio.create_task(other.recv())
    await asyncio.sleep(PAUSE)
    await other.close()
    with pytest.raises(EndpointClosedError):
        await within(receiving)
    await tx.close()
    with pytest.raises(ChannelEndedError):  # the channel ended too: a different class
        await within(rx.recv())


async def test_send_batch_reads_a_generator_only_as_room_frees_up(
    make_channel: MakeChannel,
) -> None:
    """tokio/anyio back-pressure applies to lazy sources: a generator is read as room frees,
    and an endless one works."""
    capacity = 8
    tx, rx = make_channel(capacity)
    produced = 0

    def numbers() -> Iterator[int]:
        nonlocal produced
        for i in itertools.count():
            produced += 1
            yield i

    sending = asyncio.create_task(tx.send_batch(numbers()))
    got = []
    for _ in range(30):
        got.append(await within(rx.recv()))
        assert produced <= len(got) + 2 * capacity + 1  # never far ahead of the consumer
    assert got == list(range(30))
    await rx.close()
    with pytest.raises(ReceiversClosedError):
        await within(sending)


async def test_each_closed_case_is_its_own_class(make_channel: MakeChannel) -> None:
    """anyio's three cases, ``EndOfStream``, ``ClosedResourceError`` and
    ``BrokenResourceError``, as klaw classes (all ``ChannelClosedError``), in both forms."""
    tx, rx = make_channel(4)
    await tx.close()
    ended = await rx.try_recv()
    assert isinstance(ended.unwrap_err(), ChannelEnded)
    assert isinstance(ended.unwrap_err().to_exception(), ChannelEndedError)
    await rx.close()
    closed = await rx.try_recv()
    assert isinstance(closed.unwrap_err(), EndpointClosed)
    assert isinstance(closed.unwrap_err().to_exception(), EndpointClosedError)

    tx, rx = make_channel(4)
    await rx.close()
    broken = await tx.try_send(1)
    assert isinstance(broken.unwrap_err(), ReceiversClosed)
    assert isinstance(broken.unwrap_err().to_exception(), ReceiversClosedError)
    for cls in (ChannelEndedError, EndpointClosedError, ReceiversClosedError):
        assert issubclass(cls, ChannelClosedError)
    assert not issubclass(ChannelEndedError, EndpointClosedError | ReceiversClosedError)


async def test_a_dropped_sender_counts_as_closed_with_a_resource_warning(
    make_channel: MakeChannel, request: pytest.FixtureRequest, backend: str
) -> None:
    """tokio: the channel closes when all senders are dropped; anyio warns (ResourceWarning)
    about a stream garbage-collected without being closed."""
    tx, rx = make_channel(4)
    held = [tx.clone()]
    await tx.close()
    await held[0].send(1)
    await held[0].flush()
    await drop(held)
    assert await within(rx.recv(), 2.0) == 1
    with pytest.raises(ChannelEndedError):
        await within(rx.recv(), 2.0)


async def test_a_dropped_last_receiver_makes_sends_fail(
    make_channel: MakeChannel, request: pytest.FixtureRequest, backend: str
) -> None:
    """tokio: "If the receive half of the channel is closed, either due to close being called
    or the Receiver handle dropping, the function returns an error"."""
    tx, rx = make_channel(1)
    await tx.send(0)
    await tx.flush()
    held = [rx.clone()]
    await rx.close()
    blocked = asyncio.create_task(tx.send(1))
    await asyncio.sleep(PAUSE)
    await drop(held)
    with pytest.raises(ReceiversClosedError):
        await within(blocked, 2.0)


@pytest.fixture
def default_deadline(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """Configure ``channels.timeout`` for the channels made by this test."""
    seconds = 0.2
    monkeypatch.setenv("KLAW_CHANNELS_TIMEOUT", str(seconds))
    channel_defaults.cache_clear()
    yield seconds
    monkeypatch.undo()
    channel_defaults.cache_clear()


async def test_the_configured_timeout_is_the_default_deadline_of_blocking_calls(
    default_deadline: float,
    make_channel: MakeChannel,
) -> None:
    """``channels.timeout`` bounds a blocking ``send``/``recv`` that passes none: it raises
    ``ChannelTimeoutError`` and leaves the channel as if the call had not been made."""
    tx, rx = make_channel(1)
    with pytest.raises(ChannelTimeoutError):
        await within(rx.recv(), 3.0)
    with pytest.raises(ChannelTimeoutError):
        await within(rx.recv_batch(4), 3.0)
    assert await within(rx.recv_batch(4, timeout=0.01)) == []  # an explicit timeout wins
    await tx.send(1)
    with pytest.raises(ChannelTimeoutError):
        await within(tx.send(2), 3.0)
    await tx.close()
    assert await drain(rx) == [1]


async def test_stats_count_the_tasks_waiting_to_send_and_to_receive(
    make_channel: MakeChannel,
) -> None:
    """anyio ``statistics()``: ``tasks_waiting_send`` and ``tasks_waiting_receive``,
    summed over clones (as trio's)."""
    tx, rx = make_channel(1)
    receiving = [asyncio.create_task(r.recv()) for r in (rx, rx, rx.clone())]
    await until_waiting(tx, receive=3)
    await tx.send_batch([1, 2, 3])
    assert sorted(await within(asyncio.gather(*receiving))) == [1, 2, 3]
    await until_waiting(tx)
    await tx.send(4)
    sending = [asyncio.create_task(s.send(5)) for s in (tx, tx.clone())]
    await until_waiting(rx, send=2)
    assert [await within(rx.recv()) for _ in range(3)] == [4, 5, 5]
    await within(asyncio.gather(*sending))
    await until_waiting(rx)

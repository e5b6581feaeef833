"""Cancellation at random points, and a fast producer against a slow consumer, on both backends.

Two producers and two consumers share a small channel. Every ``send``,
``recv`` and ``recv_batch`` runs under ``asyncio.wait_for`` with a random small
timeout (0 to 10 ms), so calls are cancelled before they start, while they
wait for room or for an item, and just after being woken. A producer retries
an item whose ``send`` timed out (a cancelled send must have sent nothing); a
consumer simply calls again. At the end every item sent was received exactly
once (no loss, no duplicate) and each consumer saw each producer's items in
order.

A fast producer against a slow consumer: the channel never buffers more than
its capacity (``stats()`` sampled throughout, and its high-watermark), and the
memory this process holds stays bounded by the capacity, not by what was sent.

The Ray cases are marked ``ray`` and use the suite's one session Ray.
"""

from __future__ import annotations

import asyncio
import random
import tracemalloc
from typing import Any

import msgspec
import pytest

import klaw_core._wirecore_py as P
from klaw_core.result import Err, Ok
from klaw_core.runtime.channels import ChannelClosed, ChannelClosedError, ChannelFull, channel
from klaw_core.runtime.channels.wire import DataMessage

BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("ray", id="ray", marks=pytest.mark.ray),
]
TIMEOUTS = (0.0, 1e-5, 1e-4, 5e-4, 1e-3, 3e-3, 1e-2)
STRIDE = 1_000_000  # item = producer * STRIDE + sequence number


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "ray":
        request.getfixturevalue("ray_cluster")
    return name


class Tally:
    """What happened: items per consumer, and how many calls were cut short."""

    def __init__(self, consumers: int) -> None:
        self.received: list[list[int]] = [[] for _ in range(consumers)]
        self.timeouts = 0


async def produce(tx: Any, index: int, count: int, rng: random.Random, tally: Tally) -> None:
    async with tx:
        seq = 0
        while seq < count:
            value = index * STRIDE + seq
            if rng.random() < 0.15:
                result = await tx.try_send(value)
                if isinstance(result, Err):
                    assert isinstance(result.error, ChannelFull), result
                    await asyncio.sleep(0)
                    continue
            else:
                try:
                    await asyncio.wait_for(tx.send(value), rng.choice(TIMEOUTS))
                except TimeoutError:
                    tally.timeouts += 1
                    continue  # not sent: send it again
            seq += 1


async def consume(rx: Any, index: int, rng: random.Random, tally: Tally, polls: bool) -> None:
    """Receive until end of channel; ``polls`` mixes in the non-waiting calls."""
    bag = tally.received[index]
    async with rx:
        while True:
            roll = rng.random()
            try:
                if roll < 0.45 or (roll >= 0.9 and not polls):
                    bag.append(await asyncio.wait_for(rx.recv(), rng.choice(TIMEOUTS)))
                elif roll < 0.9:
                    inner = rng.choice((None, 0, 1e-3) if polls else (None, 1e-3))
                    call = rx.recv_batch(rng.randint(1, 7), inner)
                    bag.extend(await asyncio.wait_for(call, rng.choice(TIMEOUTS)))
                else:
                    result = await rx.try_recv()
                    if isinstance(result, Ok):
                        bag.append(result.value)
                    elif isinstance(result.error, ChannelClosed):
                        return
            except TimeoutError:
                tally.timeouts += 1
            except ChannelClosedError:
                return


async def cancellation_run(
    backend: str, seed: int, per_producer: int, capacity: int, *, polls: bool = True
) -> Tally:
    rng = random.Random(seed)
    tx, rx = channel(capacity, backend=backend, value_type=int)
    senders = [tx, tx.clone()]
    receivers = [rx, rx.clone()]
    tally = Tally(len(receivers))
    try:
        async with asyncio.timeout(240):
            await asyncio.gather(
                *(
                    produce(s, i, per_producer, random.Random(rng.random()), tally)
                    for i, s in enumerate(senders)
                ),
                *(
                    consume(r, i, random.Random(rng.random()), tally, polls)
                    for i, r in enumerate(receivers)
                ),
            )
    except TimeoutError:
        got = [len(bag) for bag in tally.received]
        pytest.fail(f"stuck: received {got} of {2 * per_producer}, {tally.timeouts} timeouts")
    everything = sorted(item for bag in tally.received for item in bag)
    expected = sorted(i * STRIDE + s for i in range(len(senders)) for s in range(per_producer))
    missing = sorted(set(expected) - set(everything))
    assert everything == expected, (
        f"lost {missing[:10]}, duplicates: {len(everything) - len(set(everything))}"
    )
    for bag in tally.received:
        for producer in range(len(senders)):
            mine = [item for item in bag if item // STRIDE == producer]
            assert mine == sorted(mine), "a consumer saw a producer's items out of order"
    assert tally.timeouts > 0, "no call was ever cut short: the test proved nothing"
    return tally


@pytest.mark.parametrize("seed", [1, 2])
async def test_cancellation_loses_and_duplicates_nothing(backend: str, seed: int) -> None:
    count = 3_000 if backend == "local" else 300
    await cancellation_run(backend, seed, count, capacity=4)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10, 15))
async def test_cancellation_loses_and_duplicates_nothing_long(backend: str, seed: int) -> None:
    count = 50_000 if backend == "local" else 3_000
    await cancellation_run(backend, seed, count, capacity=rng_capacity(seed))


def rng_capacity(seed: int) -> int:
    return random.Random(seed).choice([1, 2, 4, 16, 64])


async def fast_producer_slow_consumer(
    backend: str, capacity: int, count: int
) -> tuple[int, int, int]:
    """Send ``count`` distinct 1 KiB items; return (worst sampled buffered, high-watermark, peak bytes)."""
    size = 1024
    tx, rx = channel(capacity, backend=backend, value_type=bytes)
    worst = 0
    received = 0

    async def producer() -> None:
        async with tx:
            for i in range(count):  # distinct objects: buffering them would cost memory
                await tx.send(i.to_bytes(4, "big") * (size // 4))

    async def consumer() -> None:
        nonlocal received, worst
        async with rx:
            async for value in rx:
                assert value == received.to_bytes(4, "big") * (size // 4)
                received += 1
                if received % 8 == 0:
                    worst = max(worst, (await rx.stats()).buffered)
                    await asyncio.sleep(0.001)  # slow

    tracemalloc.start()
    try:
        async with asyncio.timeout(120):
            await asyncio.gather(producer(), consumer())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert received == count
    return worst, (await rx.stats()).high_watermark, peak


async def test_fast_producer_slow_consumer_memory_stays_bounded(backend: str) -> None:
    """What was sent is ~100 times the capacity; what this process holds is not."""
    capacity = 16
    count = 3_000 if backend == "local" else 800
    _, _, peak = await fast_producer_slow_consumer(backend, capacity, count)
    assert peak < 8 * capacity * 1024 + (2 << 20), peak


@pytest.mark.parametrize(
    "backend",
    [
        "local",
        pytest.param("ray", marks=[pytest.mark.ray]),
    ],
)
async def test_fast_producer_slow_consumer_never_exceeds_capacity(
    request: pytest.FixtureRequest, backend: str
) -> None:
    if backend == "ray":
        request.getfixturevalue("ray_cluster")
    capacity = 16
    worst, high_watermark, _ = await fast_producer_slow_consumer(backend, capacity, 800)
    assert high_watermark <= capacity
    assert worst <= capacity, f"{worst} items buffered in a channel of capacity {capacity}"


@pytest.mark.ray
@pytest.mark.usefixtures("ray_cluster")
async def test_ray_try_recv_does_not_wait_for_room() -> None:
    """Found by the cancellation run: a consumer that only polls deadlocks with its own producer.

    Another process's sender fills the channel; this process's sender, which
    has not heard of it yet, has a batch waiting in the actor for room. The
    non-waiting calls must answer at once (there are two items to take).
    """
    from klaw_core.runtime.channels.ray import RayChannel  # imports Ray: only here

    chan = RayChannel.create(2, value_type=int)
    tx, rx = chan.sender(), chan.receiver()
    other = 4242  # a sender registered by some other process
    assert (await chan.actor.register_sender.remote(other)).status == "ok"
    batch = DataMessage.new([100, 101], channel_id=chan.channel_id, ts=0)
    frame = P.pack_frame(msgspec.msgpack.encode(batch))
    assert (await chan.actor.put_frames.remote(frame, 2, other, 777, 0.0)).room == 0
    await tx.send(1)  # its batch now waits in the actor for room
    await asyncio.sleep(0.05)
    try:
        assert await asyncio.wait_for(rx.try_recv(), 1) == Ok(100)
        assert await asyncio.wait_for(rx.recv_batch(10, timeout=0), 1) == [101]
    finally:
        assert await asyncio.wait_for(rx.recv(), 10) == 1
        await tx.close()
        await rx.close()

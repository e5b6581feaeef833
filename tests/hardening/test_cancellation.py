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

import pytest

from klaw_core.result import Err, Ok
from klaw_core.runtime.channels import ChannelClosed, ChannelClosedError, ChannelFull, channel

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


async def consume(rx: Any, index: int, rng: random.Random, tally: Tally) -> None:
    bag = tally.received[index]
    async with rx:
        while True:
            roll = rng.random()
            try:
                if roll < 0.45:
                    bag.append(await asyncio.wait_for(rx.recv(), rng.choice(TIMEOUTS)))
                elif roll < 0.9:
                    inner = rng.choice((None, 0, 1e-3))
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


async def cancellation_run(backend: str, seed: int, per_producer: int, capacity: int) -> Tally:
    rng = random.Random(seed)
    tx, rx = channel(capacity, backend=backend, value_type=int)
    senders = [tx, tx.clone()]
    receivers = [rx, rx.clone()]
    tally = Tally(len(receivers))
    async with asyncio.timeout(120):
        await asyncio.gather(
            *(
                produce(s, i, per_producer, random.Random(rng.random()), tally)
                for i, s in enumerate(senders)
            ),
            *(consume(r, i, random.Random(rng.random()), tally) for i, r in enumerate(receivers)),
        )
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


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_cancellation_loses_and_duplicates_nothing(backend: str, seed: int) -> None:
    count = 2_000 if backend == "local" else 300
    await cancellation_run(backend, seed, count, capacity=4)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10, 20))
async def test_cancellation_loses_and_duplicates_nothing_long(backend: str, seed: int) -> None:
    count = 50_000 if backend == "local" else 3_000
    await cancellation_run(backend, seed, count, capacity=rng_capacity(seed))


def rng_capacity(seed: int) -> int:
    return random.Random(seed).choice([1, 2, 4, 16, 64])


async def test_fast_producer_slow_consumer_stays_bounded(backend: str) -> None:
    capacity = 16
    size = 1024
    count = 4_000 if backend == "local" else 2_000  # 4 MB / 2 MB through a 16 KiB channel
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
                if received % 64 == 0:
                    stats = await rx.stats()
                    worst = max(worst, stats.buffered)
                    await asyncio.sleep(0.001)  # slow

    tracemalloc.start()
    try:
        async with asyncio.timeout(120):
            await asyncio.gather(producer(), consumer())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    stats = await rx.stats()
    assert received == count
    assert worst <= capacity
    assert stats.high_watermark <= capacity
    # What was sent is 128-256 times the capacity; what is held at any time is not.
    assert peak < 64 * capacity * size + (2 << 20), peak

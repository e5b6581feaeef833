"""In-process channel throughput: klaw-core local channel vs anyio vs asyncio.Queue.

Same shape for every implementation: P producers (clones of one sender, each
closing its own) push N ints each into a channel of the same capacity, one
consumer reads until end of channel. Two variants:

- ``item``: one ``send``/``recv`` per item (``async for`` on the consumer side).
- ``batch``: producers hand over chunks, the consumer takes up to ``--take``
  items per call. klaw-core has ``send_batch``/``recv_batch``; anyio and
  ``asyncio.Queue`` have no batch calls, so they get their best equivalent: the
  non-blocking call in a loop, falling back to the waiting call when full/empty.

Implementations, run interleaved (one round = each of them once) so a noisy
machine slows all of them alike; each run gets a fresh event loop. The table
shows the median and best msg/s over the rounds, and the ratios of medians.

    python benchmarks/bench_local_channel.py [--items 100000] [--producers 2]
        [--capacity 1024] [--rounds 5] [--chunk 256] [--take 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import version

import anyio
from anyio import EndOfStream, WouldBlock

from klaw_core.runtime.channels import local_channel
from klaw_core.runtime.errors import ChannelClosedError

Runner = Callable[[int, int, int, int, int], Awaitable[int]]
STOP = None  # asyncio.Queue has no close: each producer ends with a sentinel


# ------------------------------------------------------------------ klaw-core


async def klaw_item(producers: int, items: int, capacity: int, chunk: int, take: int) -> int:
    tx, rx = local_channel(capacity)
    senders = [tx] + [tx.clone() for _ in range(producers - 1)]

    async def produce(index: int) -> None:
        async with senders[index] as sender:
            send = sender.send
            for i in range(items):
                await send(i)

    tasks = [asyncio.create_task(produce(i)) for i in range(producers)]
    total = 0
    async for value in rx:
        total += value
    await asyncio.gather(*tasks)
    return total


async def klaw_batch(producers: int, items: int, capacity: int, chunk: int, take: int) -> int:
    tx, rx = local_channel(capacity)
    senders = [tx] + [tx.clone() for _ in range(producers - 1)]
    data = list(range(items))

    async def produce(index: int) -> None:
        async with senders[index] as sender:
            for start in range(0, items, chunk):
                await sender.send_batch(data[start : start + chunk])

    tasks = [asyncio.create_task(produce(i)) for i in range(producers)]
    total = 0
    recv_batch = rx.recv_batch
    try:
        while True:
            total += sum(await recv_batch(take))
    except ChannelClosedError:  # end of channel
        pass
    await asyncio.gather(*tasks)
    return total


# ------------------------------------------------------------------ anyio


async def anyio_item(producers: int, items: int, capacity: int, chunk: int, take: int) -> int:
    send_stream, receive_stream = anyio.create_memory_object_stream[int](capacity)
    senders = [send_stream] + [send_stream.clone() for _ in range(producers - 1)]

    async def produce(index: int) -> None:
        async with senders[index] as sender:
            send = sender.send
            for i in range(items):
                await send(i)

    tasks = [asyncio.create_task(produce(i)) for i in range(producers)]
    total = 0
    async with receive_stream:
        async for value in receive_stream:
            total += value
    await asyncio.gather(*tasks)
    return total


async def anyio_batch(producers: int, items: int, capacity: int, chunk: int, take: int) -> int:
    send_stream, receive_stream = anyio.create_memory_object_stream[int](capacity)
    senders = [send_stream] + [send_stream.clone() for _ in range(producers - 1)]
    data = list(range(items))

    async def produce(index: int) -> None:
        async with senders[index] as sender:
            send, send_nowait = sender.send, sender.send_nowait
            for start in range(0, items, chunk):
                for value in data[start : start + chunk]:
                    try:
                        send_nowait(value)
                    except WouldBlock:
                        await send(value)

    tasks = [asyncio.create_task(produce(i)) for i in range(producers)]
    total = 0
    receive, receive_nowait = receive_stream.receive, receive_stream.receive_nowait
    async with receive_stream:
        while True:
            try:
                batch = [await receive()]
            except EndOfStream:
                break
            try:
                while len(batch) < take:
                    batch.append(receive_nowait())
            except (WouldBlock, EndOfStream):
                pass
            total += sum(batch)
    await asyncio.gather(*tasks)
    return total


# ------------------------------------------------------------------ asyncio.Queue


async def queue_item(producers: int, items: int, capacity: int, chunk: int, take: int) -> int:
    queue: asyncio.Queue[int | None] = asyncio.Queue(capacity)

    async def produce() -> None:
        put = queue.put
        for i in range(items):
            await put(i)
        await put(STOP)

    tasks = [asyncio.create_task(produce()) for _ in range(producers)]
    total, running = 0, producers
    get = queue.get
    while running:
        value = await get()
        if value is STOP:
            running -= 1
        else:
            total += value
    await asyncio.gather(*tasks)
    return total


async def queue_batch(producers: int, items: int, capacity: int, chunk: int, take: int) -> int:
    queue: asyncio.Queue[int | None] = asyncio.Queue(capacity)
    data = list(range(items))

    async def produce() -> None:
        put, put_nowait = queue.put, queue.put_nowait
        for start in range(0, items, chunk):
            for value in data[start : start + chunk]:
                try:
                    put_nowait(value)
                except asyncio.QueueFull:
                    await put(value)
        await put(STOP)

    tasks = [asyncio.create_task(produce()) for _ in range(producers)]
    total, running = 0, producers
    get, get_nowait = queue.get, queue.get_nowait
    while running:
        batch = [await get()]
        try:
            while len(batch) < take:
                batch.append(get_nowait())
        except asyncio.QueueEmpty:
            pass
        for value in batch:
            if value is STOP:
                running -= 1
            else:
                total += value
    await asyncio.gather(*tasks)
    return total


# ------------------------------------------------------------------ driver

VARIANTS: dict[str, dict[str, Runner]] = {
    "item": {"klaw local": klaw_item, "anyio stream": anyio_item, "asyncio.Queue": queue_item},
    "batch": {"klaw local": klaw_batch, "anyio stream": anyio_batch, "asyncio.Queue": queue_batch},
}


def measure(runner: Runner, args: argparse.Namespace) -> float:
    """Run once on a fresh event loop; return messages per second."""
    expected = args.producers * args.items * (args.items - 1) // 2
    start = time.perf_counter()
    total = asyncio.run(runner(args.producers, args.items, args.capacity, args.chunk, args.take))
    elapsed = time.perf_counter() - start
    if total != expected:
        raise SystemExit(f"{runner.__name__}: wrong result {total}, expected {expected}")
    return args.producers * args.items / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="items per producer")
    parser.add_argument("--producers", type=int, default=2)
    parser.add_argument("--capacity", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=256, help="items per send_batch")
    parser.add_argument("--take", type=int, default=1024, help="max items per recv_batch")
    args = parser.parse_args()

    print(
        f"Python {platform.python_version()}, klaw-core {version('klaw-core')}, "
        f"anyio {version('anyio')}; {args.producers} producers x {args.items:,} ints, "
        f"1 consumer, capacity {args.capacity}, {args.rounds} interleaved rounds"
    )
    for variant, runners in VARIANTS.items():
        rates: dict[str, list[float]] = {name: [] for name in runners}
        for _ in range(args.rounds):
            for name, runner in runners.items():
                rates[name].append(measure(runner, args))
        medians = {name: statistics.median(r) for name, r in rates.items()}
        ours = medians["klaw local"]
        print(f"\n[{variant}]  {'msg/s median':>14} {'msg/s best':>14}  klaw local is")
        for name, r in rates.items():
            ratio = "" if name == "klaw local" else f"{ours / medians[name]:6.1f}x faster"
            print(f"  {name:14} {medians[name]:14,.0f} {max(r):14,.0f}  {ratio}")
    print("\ntarget: klaw local >= 5x anyio memory object stream (same capacity, clones)")


if __name__ == "__main__":
    main()

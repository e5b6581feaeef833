"""Ray channel throughput: klaw-core's Ray channel vs ``ray.util.queue.Queue``, same run.

Shape: 2 producer **Ray tasks** each send N typed messages (a msgspec struct of
about 100 bytes, :class:`Reading`) to one consumer in the driver, which checks
that every message arrives once and in per-producer order. Transports:

- ``klaw send / async for``: ``await tx.send(msg)`` per message, ``async for``
  in the consumer (the sender batches into frames by itself);
- ``klaw send_batch / recv_batch``: the producers hand over chunks, the
  consumer takes everything available per call;
- ``Queue batch``: ``ray.util.queue.Queue`` with ``put_nowait_batch`` (chunks
  of the same size) and ``get_nowait_batch`` (everything available);
- ``Queue put/get``: one ``put``/``get`` per message. Each is an actor call, so
  this one moves far fewer messages (``--queue-items``); msg/s is comparable.

Steady state: a warm-up run of every transport first (worker processes start,
imports, first actor), then timed rounds alternating the transports. A run's
clock starts when the consumer has its first message (producer task start-up
excluded) and stops at the last one. Printed: median and best msg/s per
transport, ratios of medians, and the versions.

The message type must be importable by the Ray workers, so this file imports
itself as the module ``bench_ray_channel`` (Ray workers get the benchmarks
directory on ``PYTHONPATH``) rather than defining types in ``__main__``.

    RAY_AUTH_MODE=disabled python benchmarks/bench_ray_channel.py [--items 500000]
        [--rounds 3] [--chunk 4096] [--batch-size 16384] [--queue-items 1000]
        [--capacity 131072]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import msgspec

PRODUCERS = 2


class Reading(msgspec.Struct, frozen=True, gc=False):
    """A sensor reading: about 100 bytes as MessagePack."""

    producer: int
    seq: int
    sensor: str
    value: float
    unit: str
    site: str
    status: str


def make_messages(producer: int, count: int) -> list[Reading]:
    """Messages of one producer, seq 0..count-1."""
    return [
        Reading(
            producer,
            seq,
            f"sensor-{seq % 97:03d}",
            seq * 0.25,
            "celsius",
            "plant-north-7/line-3",
            "nominal",
        )
        for seq in range(count)
    ]


class Checker:
    """Counts arrivals and checks per-producer order (no loss, no duplicate)."""

    def __init__(self) -> None:
        self.next = [0] * PRODUCERS
        self.count = 0
        self.first_at = 0.0

    def check(self, items: Any) -> None:
        expected = self.next
        if not self.count and items:
            self.first_at = time.perf_counter()
        for item in items:
            if item.seq != expected[item.producer]:
                raise RuntimeError(
                    f"producer {item.producer}: seq {item.seq} arrived, {expected[item.producer]} due"
                )
            expected[item.producer] += 1
        self.count += len(items)


# ------------------------------------------------------------------ producers (Ray tasks)


def klaw_produce(sender: Any, producer: int, count: int, chunk: int) -> int:
    """Body of a producer task: send ``count`` messages on a (pickled) RaySender."""
    messages = make_messages(producer, count)

    async def run() -> None:
        async with sender:
            if chunk:
                for start in range(0, count, chunk):
                    await sender.send_batch(messages[start : start + chunk])
            else:
                send = sender.send
                for message in messages:
                    await send(message)

    asyncio.run(run())
    return count


def queue_produce(queue: Any, producer: int, count: int, chunk: int) -> int:
    """Body of a producer task: put ``count`` messages into a ray.util.queue.Queue."""
    messages = make_messages(producer, count)
    if chunk:
        for start in range(0, count, chunk):
            queue.put_nowait_batch(messages[start : start + chunk])
    else:
        for message in messages:
            queue.put(message)
    return count


# ------------------------------------------------------------------ runs (driver = consumer)


def run_klaw(
    ray: Any, items: int, chunk: int, capacity: int, batched: bool, frame_batch: int
) -> float:
    from klaw_core.runtime.channels import channel

    tx, rx = channel(capacity, backend="ray", value_type=Reading, batch_size=frame_batch)
    task = ray.remote(klaw_produce)
    refs = [task.remote(tx.clone(), p, items, chunk if batched else 0) for p in range(PRODUCERS)]
    checker = Checker()

    async def consume() -> float:
        await tx.close()
        if batched:
            while checker.count < items * PRODUCERS:
                checker.check(await rx.recv_batch(1 << 20))
        else:  # the same checks as Checker.check, inlined for a per-message loop
            expected = checker.next
            count = 0
            async for item in rx:
                if not count:
                    checker.first_at = time.perf_counter()
                if item.seq != expected[item.producer]:
                    raise RuntimeError(f"producer {item.producer}: seq {item.seq} out of order")
                expected[item.producer] += 1
                count += 1
            checker.count = count
        end = time.perf_counter()
        await rx.close()
        return end

    end = asyncio.run(consume())
    ray.get(refs)
    if checker.count != items * PRODUCERS:
        raise RuntimeError(f"klaw: {checker.count} of {items * PRODUCERS} messages arrived")
    return checker.count / (end - checker.first_at)


def run_queue(ray: Any, items: int, chunk: int, capacity: int) -> float:
    from ray.util.queue import Queue

    queue = Queue(maxsize=0)
    task = ray.remote(queue_produce)
    refs = [task.remote(queue, p, items, chunk) for p in range(PRODUCERS)]
    checker = Checker()
    total = items * PRODUCERS
    while checker.count < total:
        if chunk:
            available = queue.qsize()
            if not available:
                time.sleep(0.0002)
                continue
            checker.check(queue.get_nowait_batch(available))
        else:
            checker.check([queue.get()])
    end = time.perf_counter()
    ray.get(refs)
    queue.shutdown()
    return total / (end - checker.first_at)


# ------------------------------------------------------------------ ceiling: Ray alone


class Relay:
    """A plain async actor that stores and hands out ``bytes``: Ray's own data path, nothing else.

    The ceiling for any design that carries the bytes through one actor, as
    klaw's channel does: no encoding, decoding, header checks or accounting.
    """

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.ready = asyncio.Event()

    async def put(self, frame: bytes) -> None:
        self.frames.append(frame)
        self.ready.set()

    async def get(self) -> list[bytes]:
        await self.ready.wait()
        out, self.frames = self.frames, []
        self.ready.clear()
        return out


def relay_produce(relay: Any, frames: int, frame: bytes, in_flight: int) -> int:
    """Body of a producer task: put ``frames`` copies of ``frame``, ``in_flight`` calls at most."""
    import ray

    pending: list[Any] = []
    for _ in range(frames):
        pending.append(relay.put.remote(frame))
        if len(pending) >= in_flight:
            ray.get(pending.pop(0))
    ray.get(pending)
    return frames


def run_relay(ray: Any, items: int, frame_batch: int, capacity: int) -> float:
    """msg/s-equivalent of Ray relaying klaw's frames (``frame_batch`` messages each)."""
    from klaw_core.runtime.channels.framing import pack_frame
    from klaw_core.runtime.channels.wire import DataMessage

    message = DataMessage.new(make_messages(0, frame_batch), channel_id="bench")
    frame = pack_frame(msgspec.msgpack.encode(message))  # what a klaw sender puts
    relay = ray.remote(Relay).remote()
    ray.get(relay.put.remote(b""))
    ray.get(relay.get.remote())
    frames = max(1, items // frame_batch)
    in_flight = max(1, capacity // frame_batch // PRODUCERS)
    task = ray.remote(relay_produce)
    refs = [task.remote(relay, frames, frame, in_flight) for _ in range(PRODUCERS)]
    got = ray.get(relay.get.remote())  # the clock starts at the first arrival
    first, counted = time.perf_counter(), 0
    while len(got) + counted < PRODUCERS * frames:
        counted += len(ray.get(relay.get.remote()))
    end = time.perf_counter()
    ray.get(refs)
    ray.kill(relay)
    return counted * frame_batch / (end - first)


class Echo:
    """A bare async actor: the floor of one Ray actor call's latency."""

    async def echo(self, value: Any) -> Any:
        return value

    async def echo_first(self, first: bytes, second: bytes) -> bytes:
        return first


def latency(ray: Any, samples: int, gap: float, block: int = 20) -> dict[str, list[float]]:
    """Seconds from sending one message to receiving it, under light load (one every ``gap`` s).

    Three transports: a klaw Ray channel (natural batching: the message leaves
    at once), ``ray.util.queue.Queue`` (a ``get_async`` already waiting), and a
    bare async actor call (the round-trip floor). Also the bare call with one
    small ``bytes`` argument and with two: what a call argument costs (why a
    small put packs its frames into its call,
    ``klaw_core.runtime.channels.ray.packed``).

    The transports take turns in blocks of ``block`` messages, so that each
    one's messages really come one every ``gap`` seconds while the machine's
    noise still falls on all of them alike. With ``block=1`` each transport
    sends one message per round, so its messages come about five gaps apart
    with the others' traffic between: every transport then starts colder
    (caches, threads), and the more Python a path runs, the more it pays.
    """
    import asyncio

    from ray.util.queue import Queue

    from klaw_core.runtime.channels import channel

    async def measure() -> dict[str, list[float]]:
        tx, rx = channel(1024, backend="ray", value_type=int)
        queue = Queue(maxsize=1024, actor_options={"num_cpus": 0})
        echo = ray.remote(Echo).options(num_cpus=0).remote()
        await tx.send(-1)  # warm up every path (actor start, first calls)
        await rx.recv()
        await queue.put_async(-1)
        await queue.get_async()
        await echo.echo.remote(-1)
        frames, call = b"\x00" * 48, b"\x01" * 16  # a one-message put's sizes
        Sample = Callable[[int], Awaitable[None]]

        async def klaw(i: int) -> None:
            waiting = asyncio.ensure_future(rx.recv())
            await asyncio.sleep(gap)
            start = time.perf_counter()
            await tx.send(i)
            await waiting
            out["klaw channel"].append(time.perf_counter() - start)

        async def queued(i: int) -> None:
            getting = asyncio.ensure_future(queue.get_async())
            await asyncio.sleep(gap)
            start = time.perf_counter()
            await queue.put_async(i)
            await getting
            out["ray.util.queue.Queue"].append(time.perf_counter() - start)

        def bare(name: str, method: str, *arguments: bytes) -> Sample:
            out[name] = []

            async def sample(i: int) -> None:
                await asyncio.sleep(gap)
                start = time.perf_counter()
                await getattr(echo, method).remote(*(arguments or (i,)))
                out[name].append(time.perf_counter() - start)

            return sample

        out: dict[str, list[float]] = {"klaw channel": [], "ray.util.queue.Queue": []}
        transports = (
            klaw,
            queued,
            bare("bare actor call", "echo"),
            bare("bare actor call, 1 bytes argument", "echo", frames + call),
            bare("bare actor call, 2 bytes arguments", "echo_first", frames, call),
        )
        for first in range(0, samples, block):
            for sample in transports:
                for i in range(first, min(first + block, samples)):
                    await sample(i)
        await tx.close()
        await rx.close()
        ray.kill(echo)
        queue.shutdown()
        return out

    return asyncio.run(measure())


def start_ray(ray: Any) -> float:
    """Start the local Ray every benchmark uses (klaw's one Ray start); return the seconds it took.

    2 CPUs, no dashboard, and the benchmarks directory on the workers'
    ``PYTHONPATH`` so that they can import this module (for :class:`Reading`).
    """
    from klaw_core.runtime.channels.ray.connection import ensure_ray
    from klaw_core.runtime.config import RayConfig

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    here = str(Path(__file__).resolve().parent)
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    started = time.perf_counter()
    ensure_ray(RayConfig(), num_cpus=2, runtime_env={"env_vars": {"PYTHONPATH": path}})
    del ray
    return time.perf_counter() - started


# ------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=500_000, help="messages per producer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=4096, help="batch size (send_batch, Queue)")
    parser.add_argument("--capacity", type=int, default=131_072)
    parser.add_argument(
        "--batch-size", type=int, default=16_384, help="klaw sender: messages per frame"
    )
    parser.add_argument("--queue-items", type=int, default=1_000, help="per producer, put/get")
    args = parser.parse_args(argv)

    import ray

    import klaw_core

    startup = start_ray(ray)
    size = len(msgspec.msgpack.encode(make_messages(0, 1)[0]))
    print(
        f"python {platform.python_version()}, ray {version('ray')}, msgspec {msgspec.__version__}, "
        f"klaw-core {klaw_core.__version__} ({klaw_core.IMPLEMENTATION}), "
        f"{os.cpu_count()} CPUs; Ray start {startup:.1f} s"
    )
    print(
        f"{PRODUCERS} producer tasks -> consumer in the driver, {size}-byte messages "
        f"({Reading.__module__}.Reading), {args.items:,} per producer "
        f"({args.queue_items:,} for Queue put/get), chunk {args.chunk}, klaw frames of up to "
        f"{args.batch_size:,} messages, capacity {args.capacity:,}, {args.rounds} rounds"
    )

    runs: dict[str, Callable[[int], float]] = {
        "klaw send / async for": lambda n: run_klaw(
            ray, n, args.chunk, args.capacity, False, args.batch_size
        ),
        "klaw send_batch / recv_batch": lambda n: run_klaw(
            ray, n, args.chunk, args.capacity, True, args.batch_size
        ),
        "Queue put_nowait_batch / get_nowait_batch": lambda n: run_queue(
            ray, n, args.chunk, args.capacity
        ),
        "Queue put / get": lambda n: run_queue(ray, n, 0, args.capacity),
    }
    sizes = {name: args.queue_items if name == "Queue put / get" else args.items for name in runs}
    for name, run in runs.items():  # warm-up: workers, imports, first actors
        run(min(sizes[name], 20_000))
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            rates[name].append(run(sizes[name]))
    ray.shutdown()

    print(f"\n{'transport':44} {'median msg/s':>14} {'best msg/s':>14}")
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, values in rates.items():
        print(f"{name:44} {medians[name]:>14,.0f} {max(values):>14,.0f}")
    print()
    for klaw in ("klaw send / async for", "klaw send_batch / recv_batch"):
        for peer in ("Queue put_nowait_batch / get_nowait_batch", "Queue put / get"):
            print(f"{klaw} vs {peer}: {medians[klaw] / medians[peer]:,.1f}x")


if __name__ == "__main__":
    # Run as the importable module, so that Reading pickles by reference.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_ray_channel

    bench_ray_channel.main()

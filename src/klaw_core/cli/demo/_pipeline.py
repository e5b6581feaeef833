"""The klaw pipeline: producer actors -> a klaw Ray channel -> this process.

Two timed runs after a warm-up: ``send_batch``/``recv_batch`` and
``send``/``async for``. Then every sender closes and the receiver must see a
clean end of channel with nothing left over.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, Final

from klaw_core.cli.demo._events import DemoEvent, Progress, RunResult
from klaw_core.cli.demo._watch import POLL, STALL, Checker, Watch, dispatch
from klaw_core.runtime.channels import ChannelClosedError, Receiver, channel
from klaw_core.runtime.config import KlawConfig

__all__ = ["WARMUP_PER_PRODUCER", "run_channel"]

#: Messages each producer sends before any clock starts (workers, imports, first frames).
WARMUP_PER_PRODUCER: Final = 2_000


async def _consume_channel(
    receiver: Receiver[DemoEvent], total: int, checker: Checker, watch: Watch, batched: bool
) -> None:
    async def consume() -> None:
        received = 0
        if batched:
            while received < total:
                received += checker.check(await receiver.recv_batch(total - received))
                watch.advance(received)
            return
        async for item in receiver:
            received += checker.check((item,))
            watch.advance(received)
            if received == total:
                return

    task = asyncio.ensure_future(consume())
    try:
        while not (await asyncio.wait({task}, timeout=POLL))[0]:
            watch.check_producers()
        task.result()
    except ChannelClosedError:
        watch.check_producers()
        raise RuntimeError(f"the channel ended before {total} messages arrived") from None
    except BaseException:
        task.cancel()
        raise


async def run_channel(
    ray: Any, actors: Sequence[Any], config: KlawConfig, messages: int, progress: Progress | None
) -> list[RunResult]:
    transport = "klaw Ray channel"
    batch = config.channels.batch_size
    unbounded = config.channels.unbounded
    sender, receiver = channel(
        None if unbounded else config.channels.capacity,
        backend="ray",
        value_type=DemoEvent,
        unbounded=unbounded,
        batch_size=batch,
        linger_ms=config.channels.linger_ms,
        max_frame_size=config.codec.max_frame_size,
    )
    await asyncio.gather(*(actor.attach.remote(sender.clone()) for actor in actors))
    checker = Checker(transport, len(actors))

    async def run(label: str, total: int, batched: bool) -> float:
        per_call = batch if batched else None
        started, refs, watch = dispatch(
            ray, actors, label, total, progress, lambda actor, n: actor.send.remote(n, per_call)
        )
        await _consume_channel(receiver, total, checker, watch, batched)
        elapsed = time.perf_counter() - started
        await asyncio.gather(*refs)
        return elapsed

    await run(f"{transport}, warm-up", WARMUP_PER_PRODUCER * len(actors), True)
    results = [
        RunResult(
            transport,
            "send_batch / recv_batch",
            messages,
            await run(f"{transport}, batch", messages, True),
        ),
        RunResult(
            transport,
            "send / async for",
            messages,
            await run(f"{transport}, per item", messages, False),
        ),
    ]
    # Every sender closes: the receiver must then see a clean end of channel.
    await sender.close()
    await asyncio.gather(*(actor.close.remote() for actor in actors))
    try:
        leftovers = await asyncio.wait_for(_drain(receiver), timeout=STALL)
    except TimeoutError:
        raise RuntimeError(
            f"{transport}: no end of channel {STALL:.0f} s after every sender closed"
        ) from None
    if leftovers:
        raise RuntimeError(
            f"{transport}: {leftovers} unexpected messages before the end of channel"
        )
    await receiver.close()
    return results


async def _drain(receiver: Receiver[DemoEvent]) -> int:
    return len([item async for item in receiver])

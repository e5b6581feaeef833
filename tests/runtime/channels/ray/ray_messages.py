"""Message types and task bodies shared by the Ray channel tests and the Ray workers.

Ray workers must be able to import every type a channel carries (a struct
defined in ``__main__`` or in a test module they cannot import would fail to
unpickle there), so they live here; the session's Ray runtime environment puts
this directory on the workers' ``PYTHONPATH``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

__all__ = ["Alert", "Reading", "produce", "receive", "reading", "send_as", "send_values"]


class Reading(msgspec.Struct, frozen=True):
    """A sensor reading: about 100 bytes as MessagePack."""

    producer: int
    seq: int
    sensor: str
    value: float
    unit: str
    site: str


class Alert(msgspec.Struct, frozen=True):
    """A different message type, for the wrong-type tests."""

    code: str
    level: int


def reading(producer: int, seq: int) -> Reading:
    """The ``seq``-th reading of ``producer``."""
    return Reading(producer, seq, f"sensor-{seq % 97:03d}", seq * 0.5, "celsius", "plant-north-7")


def produce(sender: Any, producer: int, count: int, chunk: int) -> int:
    """Task body: send ``count`` readings (``send`` each, or ``send_batch`` in chunks), close."""

    async def run() -> None:
        async with sender:
            if chunk:
                for start in range(0, count, chunk):
                    stop = min(count, start + chunk)
                    await sender.send_batch([reading(producer, s) for s in range(start, stop)])
            else:
                for seq in range(count):
                    await sender.send(reading(producer, seq))

    asyncio.run(run())
    return count


def send_values(sender: Any, values: list[Any]) -> str:
    """Task body: send ``values`` one by one and close; return the error type name, if any."""

    async def run() -> str:
        try:
            async with sender:
                for value in values:
                    await sender.send(value)
        except Exception as exc:
            return type(exc).__name__
        return "ok"

    return asyncio.run(run())


def receive(receiver: Any, count: int) -> list[Any]:
    """Task body: receive ``count`` messages (or until end of channel), close, return them."""

    async def run() -> list[Any]:
        got: list[Any] = []
        async with receiver:
            async for item in receiver:
                got.append(item)
                if len(got) == count:
                    break
        return got

    return asyncio.run(run())


def send_as(actor: Any, channel_id: str, sender_id: int, value_type: Any, values: list[Any]) -> str:
    """Task body: build a sender on ``actor`` declaring ``value_type``, send ``values``, close."""
    from klaw_core.runtime.channels.ray import ChannelRef, RaySender

    ref = ChannelRef(actor, channel_id, capacity=None, value_type=value_type)
    return send_values(RaySender(ref, sender_id), values)


def send_then_hang(sender: Any, report: Any, count: int) -> None:
    """Task body: report this process's pid, send ``count`` ints, then wait to be killed."""
    import os

    async def run() -> None:
        await report.send((os.getpid(), count))
        await report.flush()
        for value in range(count):
            await sender.send(value)
        await sender.flush()
        await asyncio.sleep(3600)

    asyncio.run(run())


def send_then_fail(sender: Any, count: int) -> str:
    """Task body: send ``count`` ints inside ``async with``, then raise ValueError."""

    async def run() -> None:
        async with sender:
            for value in range(count):
                await sender.send(value)
            raise ValueError(f"boom after {count}")

    try:
        asyncio.run(run())
    except ValueError as exc:
        return str(exc)
    return "no error"


def send_while_busy(sender: Any, blocked: float, busy: float) -> str:
    """Task body: send, block the event loop, burn CPU, send again, close."""
    import time

    async def run() -> None:
        async with sender:
            await sender.send(1)
            await sender.flush()
            time.sleep(blocked)  # the event loop is blocked: only a thread can renew the lease
            deadline = time.monotonic() + busy
            spins = 0
            while time.monotonic() < deadline:  # CPU-bound, holding the GIL between switches
                spins += sum(range(1000))
            await sender.send(2)

    asyncio.run(run())
    return "ok"


def receive_one_then_hang(receiver: Any, report: Any) -> None:
    """Task body: receive one message, report (pid, message), then wait to be killed."""
    import os

    async def run() -> None:
        first = await receiver.recv()
        await report.send((os.getpid(), first))
        await report.flush()
        await asyncio.sleep(3600)

    asyncio.run(run())


class Producer:
    """An actor holding a sender: it sends on request and never closes."""

    def __init__(self, sender: Any) -> None:
        self.sender = sender

    async def send(self, count: int) -> int:
        for value in range(count):
            await self.sender.send(value)
        await self.sender.flush()
        return count


def hold_cpus(seconds: float) -> None:
    """Task body: occupy its CPUs for ``seconds``."""
    import time

    time.sleep(seconds)


def send_range_logging_pid(sender: Any, count: int, pause: float, pid_file: str) -> int:
    """Task body of a deterministic producer: log this attempt's pid, send 0..count-1, close.

    Each attempt (Ray re-runs the task after its worker dies) appends its pid
    to ``pid_file`` and sends the same values from the start.
    """
    import os

    with open(pid_file, "a") as out:
        out.write(f"{os.getpid()}\n")

    async def run() -> None:
        async with sender:
            for value in range(count):
                await sender.send(value)
                if pause and value % 50 == 0:
                    await asyncio.sleep(pause)

    asyncio.run(run())
    return count


def receive_ack_then_hang(receiver: Any, report: Any, acked: int, extra: int) -> None:
    """Task body: explicit acks; ack ``acked`` messages, receive ``extra`` more, report, hang."""
    import os

    async def run() -> None:
        rx = receiver.ack_explicitly()
        done = [await rx.recv() for _ in range(acked)]
        await rx.ack()
        pending = [await rx.recv() for _ in range(extra)]
        await report.send((os.getpid(), done, pending))
        await report.flush()
        await asyncio.sleep(3600)

    asyncio.run(run())

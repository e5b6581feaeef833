"""Exactly once across real process deaths: every (producer, seq) counted at the receiver.

A deterministic producer task whose worker is SIGKILLed is re-run by Ray
(default task retries) from the start under the same sender identity; the
channel recognises what it already stored by (sender, seq) and stores it
once, so the receiver gets every message exactly once and a clean end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import TypeVar

import pytest
import ray
from ray_messages import receive_ack_then_hang, send_range_logging_pid

from klaw_core.runtime.channels.ray import ray_channel
from klaw_core.runtime.errors import ChannelEndedError

pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("ray_cluster")]

T = TypeVar("T")
LEASE = 15.0  # a re-run task must speak within it (a new worker starts on a loaded machine)
WAIT = 90.0


async def pids_in(path: Path, count: int) -> list[int]:
    """Wait (bounded) until ``count`` attempts logged their pid."""
    async with asyncio.timeout(WAIT):
        while True:
            if path.exists():
                pids = [int(line) for line in path.read_text().split()]
                if len(pids) >= count:
                    return pids
            await asyncio.sleep(0.05)


async def test_producer_task_sigkilled_under_default_retries_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    tx, rx = ray_channel(64, value_type=int, lease_timeout=LEASE, heartbeat_interval=0.25)
    count = 3000
    pid_file = tmp_path / "pids"
    ref = ray.remote(send_range_logging_pid).remote(tx.clone(), count, 0.02, str(pid_file))
    await tx.close()
    got: list[int] = []
    async with asyncio.timeout(WAIT):
        (first,) = await pids_in(pid_file, 1)
        while len(got) < count // 3:
            got.append(await rx.recv())
        os.kill(first, signal.SIGKILL)
        killed = time.monotonic()
        with pytest.raises(ChannelEndedError):  # a clean end: no ProducerLostError
            while True:
                got.append(await rx.recv())
    recovered = time.monotonic() - killed
    pids = await pids_in(pid_file, 2)
    assert pids[0] != pids[1]  # Ray re-ran the task in another worker
    assert await asyncio.wait_for(asyncio.wrap_future(ref.future()), WAIT) == count
    copies = Counter(got)
    assert sorted(copies) == list(range(count))  # 0 lost
    assert max(copies.values()) == 1  # 0 duplicated
    assert got == list(range(count))  # in order
    assert recovered < WAIT
    await rx.close()


async def test_receiver_killed_in_explicit_ack_mode_redelivers_only_its_unacknowledged_messages() -> (
    None
):
    total = 400
    tx, rx = ray_channel(100, value_type=int, lease_timeout=2.0, heartbeat_interval=0.25)
    report_tx, report_rx = ray_channel(4, value_type=tuple[int, list[int], list[int]])
    ray.remote(receive_ack_then_hang).options(max_retries=0).remote(rx.clone(), report_tx, 5, 5)

    async def produce() -> None:
        async with tx:
            for value in range(total):
                await tx.send(value)

    producer = asyncio.create_task(produce())
    async with asyncio.timeout(WAIT):
        pid, acked, pending = await report_rx.recv()
        os.kill(pid, signal.SIGKILL)
        received: list[int] = []
        marked: list[int] = []
        async for value in rx:
            received.append(value)
            if rx.redelivered:
                marked.append(value)
        await producer
    copies = Counter(received + acked + pending)
    assert sorted(copies) == list(range(total))  # 0 lost
    assert not set(acked) & set(received)  # acknowledged: never delivered again
    duplicated = sorted(v for v, n in copies.items() if n > 1)
    assert duplicated == sorted(pending)  # only what it received after its last ack ...
    assert set(pending) <= set(marked)  # ... and marked
    assert max(copies.values()) == 2
    await rx.close()
    await report_rx.close()

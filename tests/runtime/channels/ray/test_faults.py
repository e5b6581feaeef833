"""The fault table of the "Failure semantics" guide, measured with real processes.

Each scenario kills or breaks a real Ray process (SIGKILL of a worker's pid,
``ray.kill``, an exception in a producer, a dropped endpoint, a busy event
loop) and checks what klaw promises: the error class each side sees, how long
it took (within the lease plus a margin, never a hang), and which messages, by
(producer, seq), were delivered, lost or redelivered. Every wait is bounded.

Channels here use a short lease (``LEASE`` seconds) so the suite stays quick;
the default is 5 s (``channels.lease_timeout``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
import ray
from ray_messages import (
    Producer,
    hold_cpus,
    receive_one_then_hang,
    send_then_fail,
    send_then_hang,
    send_values,
    send_while_busy,
)

from klaw_core.runtime.channels.ray import ray_channel
from klaw_core.runtime.errors import (
    ChannelEndedError,
    ChannelLostError,
    ProducerFailedError,
    ProducerLostError,
)

pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("ray_cluster")]

T = TypeVar("T")
LEASE = 2.0
BEAT = 0.25
MARGIN = 8.0  # a loaded 2-core machine: detection within LEASE + MARGIN seconds
WAIT = 60.0


async def within(awaitable: Awaitable[T], seconds: float = WAIT) -> T:
    async with asyncio.timeout(seconds):
        return await awaitable


def fast_lease(capacity: int | None = 64, **options: Any) -> tuple[Any, Any]:
    return ray_channel(
        capacity,
        value_type=int,
        lease_timeout=LEASE,
        heartbeat_interval=BEAT,
        **options,
    )


async def drain_until_error(rx: Any) -> tuple[list[int], BaseException | None]:
    got: list[int] = []
    try:
        async for item in rx:
            got.append(item)
    except Exception as exc:
        return got, exc
    return got, None


async def test_producer_task_sigkilled_reaches_receivers_as_producer_lost() -> None:
    tx, rx = fast_lease()
    report_tx, report_rx = ray_channel(4, value_type=tuple[int, int])
    count = 20
    ray.remote(send_then_hang).options(max_retries=0).remote(tx.clone(), report_tx, count)
    await tx.close()
    pid, _ = await within(report_rx.recv())
    got = [await within(rx.recv()) for _ in range(count)]  # flushed before the kill
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()

    with pytest.raises(ProducerLostError) as info:
        await within(rx.recv())
    took = time.monotonic() - killed
    assert got == list(range(count))
    assert info.value.delivered == count  # every message it sent was delivered first
    assert info.value.channel == rx.channel_id
    assert took <= LEASE + MARGIN
    with pytest.raises(ChannelEndedError):  # every sender closed or lost: the end
        await within(rx.recv())
    await rx.close()
    await report_rx.close()


async def test_producer_actor_killed_reaches_receivers_as_producer_lost() -> None:
    tx, rx = fast_lease()
    actor = ray.remote(Producer).options(max_restarts=0).remote(tx.clone())
    await tx.close()
    assert await within(actor.send.remote(5)) == 5
    assert [await within(rx.recv()) for _ in range(5)] == list(range(5))
    ray.kill(actor)
    killed = time.monotonic()
    got, error = await within(drain_until_error(rx))
    assert got == []
    assert isinstance(error, ProducerLostError)
    assert error.delivered == 5
    assert time.monotonic() - killed <= LEASE + MARGIN
    await rx.close()


async def test_producer_raising_inside_async_with_is_not_a_clean_end() -> None:
    tx, rx = fast_lease()
    ref = ray.remote(send_then_fail).options(max_retries=0).remote(tx.clone(), 5)
    await tx.close()
    got, error = await within(drain_until_error(rx))
    assert got == list(range(5))  # everything sent before the failure, then the error
    assert isinstance(error, ProducerFailedError)
    assert (error.error_type, error.error_message) == ("ValueError", "boom after 5")
    assert await within(ref) == "boom after 5"
    with pytest.raises(ChannelEndedError):
        await within(rx.recv())
    await rx.close()


async def test_close_with_error_in_this_process() -> None:
    tx, rx = fast_lease()
    other = tx.clone()
    await tx.send_batch([1, 2])
    await tx.close(error=RuntimeError("disk full"))
    await other.send(3)
    await other.close()
    received: list[int] = []
    errors: list[BaseException] = []
    while True:
        try:
            received.append(await within(rx.recv()))
        except ChannelEndedError:
            break
        except ProducerFailedError as exc:
            errors.append(exc)  # the receiver goes on with the other producer
    assert sorted(received) == [1, 2, 3]
    assert [type(e).__name__ for e in errors] == ["ProducerFailedError"]
    assert "disk full" in str(errors[0])
    await rx.close()


async def test_dropped_sender_warns_counts_as_closed_and_its_messages_arrive() -> None:
    tx, rx = fast_lease()
    holder = [tx.clone()]
    await holder[0].send_batch([7, 8, 9])
    await holder[0].flush()
    with pytest.warns(ResourceWarning, match="without close"):
        holder.clear()  # the last reference: garbage-collected here
    await tx.close()
    started = time.monotonic()
    got, error = await within(drain_until_error(rx))
    assert (got, error) == ([7, 8, 9], None)  # a clean end, not a lost producer
    assert time.monotonic() - started < LEASE  # closed, not waited out by lease
    await rx.close()


async def test_one_of_two_consumers_sigkilled_never_stalls_the_channel() -> None:
    total = 5_000
    tx, rx = fast_lease(capacity=500, fetch_size=400)
    report_tx, report_rx = ray_channel(4, value_type=tuple[int, int])
    ray.remote(receive_one_then_hang).options(max_retries=0).remote(rx.clone(), report_tx)

    async def produce() -> None:
        async with tx:
            for value in range(total):
                await tx.send(value)

    producer = asyncio.create_task(produce())
    pid, first = await within(report_rx.recv())  # the doomed consumer holds a batch now
    os.kill(pid, signal.SIGKILL)
    received: list[int] = []
    redelivered: list[int] = []
    async for value in rx:  # would deadlock if the dead consumer kept its capacity
        received.append(value)
        if rx.redelivered:
            redelivered.append(value)
    await within(producer)
    # Nothing lost: the survivor got everything but what the dead one had
    # acknowledged; what it held unacknowledged came back, marked.
    assert set(received) | {first} == set(range(total))
    assert len(received) == len(set(received))
    assert redelivered, "the dead consumer's batch was redelivered"
    assert len(redelivered) <= 500  # at most what it held (its capacity share)
    await rx.close()
    await report_rx.close()


async def test_killed_channel_actor_fails_send_fast_and_names_the_lost_range() -> None:
    tx, rx = fast_lease(capacity=None, unbounded=True, batch_size=256)
    accepted = 0
    killed_at: float | None = None
    with pytest.raises(ChannelLostError) as info:
        while True:
            await tx.send(accepted)
            accepted += 1
            if accepted == 2_000:
                ray.kill(tx.ref.actor, no_restart=True)
                killed_at = time.monotonic()
            if accepted % 64 == 0:
                await asyncio.sleep(0)
            assert accepted < 10_000_000
    assert killed_at is not None
    took = time.monotonic() - killed_at
    assert took <= MARGIN
    lost = info.value.lost
    # The range is exact: no receiver delivered anything, so everything the
    # sender accepted is lost (it kept what was stored, to replay after a
    # restart), up to the last value whose send() returned.
    assert lost == ((0, accepted - 1),)
    # send() failed within one round trip: the batch in flight and the one
    # forming share one budget of batch_size, so after the kill it accepted at
    # most the budget left then, and the batch the actor was confirming as it died.
    assert accepted - 2_000 <= 2 * 256
    with pytest.raises(ChannelLostError):
        await within(rx.recv())


async def test_busy_producer_is_not_declared_lost() -> None:
    tx, rx = fast_lease()
    ref = ray.remote(send_while_busy).options(max_retries=0).remote(tx.clone(), 2 * LEASE, LEASE)
    await tx.close()
    got, error = await within(drain_until_error(rx))
    assert (got, error) == ([1, 2], None)
    assert await within(ref) == "ok"
    await rx.close()


async def test_producer_task_waiting_for_resources_is_not_declared_lost() -> None:
    tx, rx = fast_lease()
    blocker = ray.remote(hold_cpus).options(num_cpus=2).remote(3 * LEASE)  # holds every CPU
    ref = ray.remote(send_values).options(num_cpus=1, max_retries=0).remote(tx.clone(), [4, 5])
    await tx.close()  # the clone travels; this process beats for it until it speaks
    got, error = await within(drain_until_error(rx))
    assert (got, error) == ([4, 5], None)
    assert await within(ref) == "ok"
    await within(blocker)
    await rx.close()

"""Exactly once across channel actor restarts: every (producer, seq) counted at the receiver.

Two producer tasks send while the channel actor is killed with
``ray.kill(actor, no_restart=False)``: Ray restarts it (a new epoch, its buffer
gone), the producers replay what they kept, the receiver reports what it
delivered, and every message arrives exactly once with no error on either
side. Killed without a restart, the channel is lost, and the error names the
exact ranges lost, within a bounded time. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
import ray
from ray_messages import Reading, produce

from klaw_core.runtime.channels.ray import ray_channel
from klaw_core.runtime.channels.ray.connection import RAY_REPORTS_RESTARTING
from klaw_core.runtime.errors import ChannelLostError

pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("ray_cluster")]

WAIT = 240.0
# Without Ray's own error for a restarting actor (older Ray, such as 2.10) a call caught by
# the crash fails like one to a dead actor: restarts are survived only through
# Ray's task retries (the default), as failure-semantics.md says.
needs_restarting_error = pytest.mark.skipif(
    not RAY_REPORTS_RESTARTING, reason="this Ray has no ActorUnavailableError"
)
LEASE = 15.0  # generous: a loaded 2-core machine restarts actors and workers slowly


async def send_through_restarts(per_producer: int, kills: int) -> tuple[Counter[Any], list[float]]:
    """Run 2 producer tasks, kill the channel actor ``kills`` times; count what arrives."""
    tx, rx = ray_channel(
        1000,
        value_type=Reading,
        close_wait=WAIT,
        lease_timeout=LEASE,
        heartbeat_interval=0.5,
        actor_options={"max_restarts": kills},
    )
    producers = [ray.remote(produce).remote(tx.clone(), p, per_producer, 100) for p in (1, 2)]
    await tx.close()
    total = 2 * per_producer
    kill_at = [total * (k + 1) // (kills + 2) for k in range(kills)]
    got: Counter[Any] = Counter()
    recoveries: list[float] = []
    received = 0
    killed_at: float | None = None
    epoch = rx.epoch
    async with asyncio.timeout(WAIT):
        async for message in rx:
            got[(message.producer, message.seq)] += 1
            received += 1
            if killed_at is not None and rx.epoch != epoch:
                recoveries.append(time.monotonic() - killed_at)
                killed_at, epoch = None, rx.epoch
            if kill_at and received >= kill_at[0] and killed_at is None:
                kill_at.pop(0)
                ray.kill(tx.ref.actor, no_restart=False)
                killed_at = time.monotonic()
        sent = await asyncio.gather(*(asyncio.wrap_future(p.future()) for p in producers))
    assert sent == [per_producer, per_producer]  # no error on the producers' side
    await rx.close()
    return got, recoveries


def check_exactly_once(got: Counter[Any], per_producer: int) -> None:
    expected = {(p, s) for p in (1, 2) for s in range(per_producer)}
    assert set(got) == expected  # 0 lost (and nothing foreign)
    assert max(got.values()) == 1  # 0 duplicated


async def test_channel_actor_restarted_while_two_producers_send_loses_and_duplicates_nothing() -> (
    None
):
    got, recoveries = await send_through_restarts(5000, kills=1)
    check_exactly_once(got, 5000)
    assert len(recoveries) == 1
    print(f"recovery: {recoveries[0]:.2f}s")


async def test_channel_actor_restarted_twice_loses_and_duplicates_nothing() -> None:
    got, recoveries = await send_through_restarts(5000, kills=2)
    check_exactly_once(got, 5000)
    assert len(recoveries) == 2
    print("recoveries: " + ", ".join(f"{r:.2f}s" for r in recoveries))


@pytest.mark.slow
async def test_channel_actor_restarted_while_two_producers_send_50000_each() -> None:
    got, recoveries = await send_through_restarts(50_000, kills=2)
    check_exactly_once(got, 50_000)
    assert len(recoveries) == 2
    print("recoveries: " + ", ".join(f"{r:.2f}s" for r in recoveries))


async def test_channel_actor_killed_without_restart_names_the_ranges_lost() -> None:
    tx, rx = ray_channel(
        1000, value_type=int, reply_timeout=10.0, actor_options={"max_restarts": 0}
    )
    await tx.send_batch(range(600))
    await tx.flush()
    got = [await asyncio.wait_for(rx.recv(), WAIT) for _ in range(100)]
    await rx.ack()
    ray.kill(tx.ref.actor, no_restart=True)
    started = time.monotonic()
    accepted = 599
    with pytest.raises(ChannelLostError) as info:
        async with asyncio.timeout(WAIT):
            while True:  # Ray's kill takes effect a moment later: a put may still land
                await tx.send_batch(range(accepted + 1, accepted + 101))
                accepted += 100
                await tx.flush()
    assert time.monotonic() - started < WAIT
    (first, last), *_ = info.value.lost
    # Not known delivered (the sender heard of no delivery since its last put's
    # reply), up to the last value accepted; the receiver tells where it stopped.
    assert first <= 100
    assert last == accepted
    assert f"{tx._id:#x}" in info.value.detail  # names the producer
    with pytest.raises(ChannelLostError):
        async with asyncio.timeout(WAIT):
            while True:
                got.append(await rx.recv())
    assert got == list(range(len(got)))


async def test_an_idle_receiver_reports_from_its_heartbeat_so_the_others_go_on() -> None:
    tx, rx = ray_channel(
        None,
        unbounded=True,
        value_type=int,
        heartbeat_interval=0.25,
        actor_options={"max_restarts": 1},
    )
    idle = rx.clone()  # registered, never used: the new epoch waits to hear from it too
    await tx.send_batch(range(100))
    await tx.flush()
    got = [await asyncio.wait_for(rx.recv(), WAIT) for _ in range(10)]
    ray.kill(tx.ref.actor, no_restart=False)
    async with asyncio.timeout(WAIT):
        got += [await rx.recv() for _ in range(90)]
        await tx.close()
        await idle.close()
        got += [item async for item in rx]
    assert got == list(range(100))


@needs_restarting_error
async def test_restart_when_ray_does_not_retry_the_calls_caught_by_the_crash() -> None:
    # max_task_retries=0: a call in flight fails with Ray's "actor unavailable";
    # the endpoints wait for the actor to answer again, then rejoin its epoch.
    tx, rx = ray_channel(
        50,
        value_type=int,
        batch_size=10,
        poll_interval=2.0,
        actor_options={"max_restarts": 1, "max_task_retries": 0},
    )
    got: list[int] = []

    async def produce() -> None:
        async with tx:
            for value in range(2000):
                await tx.send(value)

    producer = asyncio.create_task(produce())
    async with asyncio.timeout(WAIT):
        while len(got) < 500:
            got.append(await rx.recv())
        ray.kill(tx.ref.actor, no_restart=False)
        got += [item async for item in rx]
        await producer
    assert got == list(range(2000))
    assert (tx.epoch, rx.epoch) == (1, 1)


@needs_restarting_error
async def test_a_sender_blocked_for_room_when_ray_does_not_retry_rejoins_and_goes_on() -> None:
    # max_task_retries=0 and a full channel: the sender's task waits in the
    # actor's line of puts (wait_room) when the actor dies; that call fails,
    # and the sender rejoins the new epoch and waits again, with no error.
    tx, rx = ray_channel(
        20,
        value_type=int,
        batch_size=5,
        poll_interval=5.0,
        actor_options={"max_restarts": 1, "max_task_retries": 0},
    )
    got: list[int] = []

    async def produce() -> None:
        async with tx:
            for value in range(300):
                await tx.send(value)

    producer = asyncio.create_task(produce())
    async with asyncio.timeout(WAIT):
        while len(got) < 100:
            got.append(await rx.recv())
        while (await tx.stats()).tasks_waiting_send == 0:  # blocked: the channel is full
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # its wait_room call is parked at the actor
        ray.kill(tx.ref.actor, no_restart=False)
        got += [item async for item in rx]
        await producer
    assert got == list(range(300))

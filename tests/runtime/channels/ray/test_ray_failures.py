"""A Ray channel whose actor dies, restarts or stops answering: every call fails, none hangs.

Real failures, no mocks: the actor is killed with ``ray.kill`` (with and
without a restart) or frozen with SIGSTOP. Each wait is bounded by ``within``
so that a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
import ray
from ray_messages import Reading, reading, send_values

from klaw_core.runtime.channels import channel
from klaw_core.runtime.channels.ray import RayChannel, RayChannelOptions, ray_channel
from klaw_core.runtime.errors import ChannelLostError

pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("ray_cluster")]

T = TypeVar("T")
WAIT = 30.0


async def within(awaitable: Awaitable[T], seconds: float = WAIT) -> T:
    async with asyncio.timeout(seconds):
        return await awaitable


def actor_of(endpoint: Any) -> Any:
    return endpoint._link.actor


async def test_killed_actor_fails_a_blocked_recv_and_every_later_call() -> None:
    tx, rx = channel(4, backend="ray", value_type=int)
    await tx.send(1)
    await tx.flush()
    assert await within(rx.recv()) == 1
    blocked = asyncio.create_task(rx.recv())  # waits inside the actor
    await asyncio.sleep(0.3)
    assert not blocked.done()

    ray.kill(actor_of(tx), no_restart=True)

    with pytest.raises(ChannelLostError, match="died or is unreachable") as info:
        await within(blocked)
    assert info.value.channel == tx.channel_id
    later = (rx.recv(), rx.try_recv(), rx.recv_batch(5), rx.stats())
    later += (tx.send(2), tx.try_send(2), tx.send_batch([2]), tx.flush(), tx.stats())
    for call in later:
        with pytest.raises(ChannelLostError):
            await within(call)
    with pytest.raises(ChannelLostError):
        tx.clone()
    with pytest.raises(ChannelLostError):
        rx.clone()
    with pytest.raises(ChannelLostError):
        await within(tx.close())  # its batch could not be delivered
    assert tx.closed
    await within(rx.close())  # a receiver has nothing of its own to lose
    assert rx.closed


async def test_killed_actor_fails_a_sender_blocked_on_a_full_channel() -> None:
    tx, rx = channel(2, backend="ray", value_type=int)
    await tx.send_batch([1, 2])
    await tx.flush()
    blocked = asyncio.create_task(tx.send(3))  # waits inside the actor for room
    await asyncio.sleep(0.3)
    assert not blocked.done()
    ray.kill(actor_of(tx), no_restart=True)
    with pytest.raises(ChannelLostError):
        await within(blocked)
    with pytest.raises(ChannelLostError):
        await within(rx.recv())


async def test_a_producer_task_blocked_on_a_killed_actor_fails_too() -> None:
    tx, rx = channel(4, backend="ray", value_type=Reading)
    ref = ray.remote(send_values).remote(tx.clone(), [reading(0, s) for s in range(50)])
    stats = await within(rx.stats())
    while stats.buffered < 4:  # the task fills the channel, then blocks
        await asyncio.sleep(0.05)
        stats = await within(rx.stats())
    ray.kill(actor_of(tx), no_restart=True)
    assert await within(ref) == "ChannelLostError"
    with pytest.raises(ChannelLostError):
        await within(rx.recv_batch(100))


async def test_restarted_actor_loses_nothing_and_the_endpoints_go_on() -> None:
    # Small frames and fetches, so that most messages are still in the actor.
    tx, rx = ray_channel(
        None,
        unbounded=True,
        value_type=int,
        batch_size=5,
        fetch_size=5,
        actor_options={"max_restarts": 1},
    )
    await tx.send_batch(range(30))
    await tx.flush()
    assert [await within(rx.recv()) for _ in range(5)] == list(range(5))

    ray.kill(actor_of(tx), no_restart=False)  # Ray restarts it, with an empty buffer

    # The sender replays what was not delivered; the receiver reports what was.
    assert [await within(rx.recv()) for _ in range(25)] == list(range(5, 30))
    await within(tx.send(30))
    await within(tx.close())
    assert [item async for item in rx] == [30]
    assert (tx.epoch, rx.epoch) == (1, 1)
    assert await within(actor_of(tx).epoch.remote()) == 1
    assert not await within(actor_of(tx).is_lost.remote())


async def test_restarted_actor_serves_a_peer_process_that_never_saw_the_crash() -> None:
    chan = RayChannel.create(
        None, unbounded=True, value_type=int, actor_options={"max_restarts": 1}
    )
    tx, later = chan.sender(), chan.sender()
    rx = chan.receiver()
    await tx.send_batch(range(10))
    await tx.flush()
    ray.kill(chan.actor, no_restart=False)
    await asyncio.sleep(0.5)
    # A task holding an endpoint made before the crash joins the new epoch.
    ref = ray.remote(send_values).remote(later, [10])
    assert await within(ref) == "ok"
    await within(tx.close())
    assert sorted([item async for item in rx]) == list(range(11))


async def test_an_actor_that_stops_answering_is_declared_lost() -> None:
    options = {"poll_interval": 0.2, "reply_timeout": 1.0}
    tx, rx = ray_channel(4, value_type=int, **options)
    pid = await within(actor_of(tx).__ray_call__.remote(lambda _self: os.getpid()))
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(ChannelLostError, match="no reply from the channel actor"):
            await within(rx.recv())
    finally:
        os.kill(pid, signal.SIGCONT)
        ray.kill(actor_of(tx), no_restart=True)
    assert RayChannelOptions(**options).reply_timeout == 1.0

"""What only the in-process backend promises, beyond the shared semantics suite.

The contract itself is tested in ``test_channel_semantics.py``. Here: calls
that must not suspend when they need not wait (the reason the backend is fast),
the exact interleavings of cancellation with wake-ups, a cancelled or refused
``send`` enqueueing nothing, the ``channel()`` factory's argument handling, and
that nothing of this imports Ray.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import subprocess
import sys
import threading
import warnings
from collections.abc import Awaitable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from klaw_core.result import Err, Ok
from klaw_core.runtime.channels import (
    DEFAULT_CAPACITY,
    ChannelStats,
    LocalReceiver,
    LocalSender,
    channel,
    local_channel,
)
from klaw_core.runtime.errors import (
    ChannelClosedError,
    ChannelEmpty,
    ChannelEndedError,
    ChannelTimeoutError,
    EndpointClosedError,
    ReceiversClosedError,
)

T = TypeVar("T")
PAUSE = 0.02


async def within(awaitable: Awaitable[T], seconds: float = 5.0) -> T:
    async with asyncio.timeout(seconds):
        return await awaitable


def run_without_suspending(coro: Coroutine[Any, Any, T]) -> T:
    """Drive ``coro`` one step; fail if it suspends instead of finishing."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("the call suspended although it did not need to wait")


# ----------------------------------------------------------------- fast paths


def test_calls_that_need_not_wait_do_not_suspend() -> None:
    tx, rx = local_channel(4)
    run_without_suspending(tx.send(1))
    run_without_suspending(tx.send_batch([2, 3]))
    assert run_without_suspending(tx.try_send(4)) == Ok(None)
    assert run_without_suspending(rx.recv()) == 1
    assert run_without_suspending(rx.__anext__()) == 2
    assert run_without_suspending(rx.recv_batch(8)) == [3, 4]
    assert run_without_suspending(rx.try_recv()) == Err(ChannelEmpty())
    assert run_without_suspending(rx.recv_batch(8, timeout=0)) == []
    run_without_suspending(tx.close())
    with pytest.raises(ChannelClosedError):
        run_without_suspending(rx.recv())


def test_factory_returns_local_endpoints_with_a_readable_repr() -> None:
    tx, rx = channel(3, name="jobs")
    assert isinstance(tx, LocalSender)
    assert isinstance(rx, LocalReceiver)
    assert repr(tx) == "<LocalSender open name='jobs' capacity=3 buffered=0 senders=1 receivers=1>"
    tx2, rx2 = local_channel(unbounded=True)
    run_without_suspending(rx2.close())
    assert repr(rx2) == "<LocalReceiver closed unbounded buffered=0 senders=1 receivers=0>"
    assert rx2.closed
    assert not tx2.closed


def test_factory_rejects_unknown_backend_and_options() -> None:
    with pytest.raises(ValueError, match="unknown channel backend"):
        channel(4, backend="carrier-pigeon")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="no options"):
        channel(4, batch_size=10)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"KLAW_CHANNELS_CAPACITY": "7"}, "7 3 None"),
        ({"KLAW_CHANNELS_UNBOUNDED": "true"}, "None 3 None"),
    ],
)
def test_factory_default_capacity_comes_from_the_configuration(
    environ: dict[str, str], expected: str, tmp_path: Any
) -> None:
    """``channel()`` without a capacity uses ``channels.capacity``/``unbounded``; arguments win."""
    code = (
        "import asyncio\n"
        "from klaw_core.runtime.channels import channel\n"
        "async def main():\n"
        "    sizes = [channel()[0], channel(3)[0], channel(unbounded=True)[0]]\n"
        "    return [(await tx.stats()).capacity for tx in sizes]\n"
        "print(*asyncio.run(main()))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAW_")} | environ
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == expected.split()


def test_importing_klaw_core_and_local_channels_does_not_import_ray() -> None:
    code = (
        "import sys, asyncio, klaw_core\n"
        "from klaw_core.runtime.channels import channel\n"
        "async def main():\n"
        "    tx, rx = channel(2)\n"
        "    await tx.send(1)\n"
        "    return await rx.recv()\n"
        "assert asyncio.run(main()) == 1\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ----------------------------------------------------------------- cancellation interleavings


async def test_woken_receiver_cancelled_before_it_runs_passes_the_item_on() -> None:
    tx, rx = local_channel(4)
    other = rx.clone()
    first = asyncio.create_task(rx.recv())
    second = asyncio.create_task(other.recv())
    await asyncio.sleep(PAUSE)
    await tx.send(1)  # wakes `first` ...
    first.cancel()  # ... which is cancelled before it could take the item
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await within(second) == 1


async def test_woken_sender_cancelled_before_it_runs_passes_the_slot_on() -> None:
    tx, rx = local_channel(1)
    await tx.send(1)
    first = asyncio.create_task(tx.send(2))
    second = asyncio.create_task(tx.clone().send(3))
    await asyncio.sleep(PAUSE)
    assert await rx.recv() == 1  # frees the slot and wakes `first` ...
    first.cancel()  # ... which is cancelled before it could use it
    with pytest.raises(asyncio.CancelledError):
        await first
    await within(second)
    assert await rx.try_recv() == Ok(3)
    assert await rx.try_recv() == Err(ChannelEmpty())


async def test_cancelled_send_enqueues_nothing() -> None:
    tx, rx = local_channel(1)
    await tx.send(1)
    blocked = asyncio.create_task(tx.send(2))
    await asyncio.sleep(PAUSE)
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await blocked
    assert await rx.recv() == 1
    assert await rx.try_recv() == Err(ChannelEmpty())
    assert (await tx.stats()).sent == 1


async def test_cancelled_recv_batch_with_timeout_leaves_the_channel_usable() -> None:
    tx, rx = local_channel(4)
    waiting = asyncio.create_task(rx.recv_batch(4, timeout=10))
    await asyncio.sleep(PAUSE)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await rx.recv_batch(4, timeout=PAUSE) == []
    await tx.send(5)
    assert await within(rx.recv_batch(4)) == [5]


async def test_every_waiting_receiver_wakes_for_a_batch() -> None:
    """In-process receivers never hold items back: a batch wakes as many as it has items.

    (A Ray receiver may prefetch several items for itself, so this is not part
    of the shared contract.)
    """
    tx, rx = local_channel(8)
    receivers = [rx, rx.clone(), rx.clone()]
    waiting = [asyncio.create_task(r.recv()) for r in receivers]
    await asyncio.sleep(PAUSE)
    await tx.send_batch([1, 2, 3])
    assert sorted(await within(asyncio.gather(*waiting))) == [1, 2, 3]


# ----------------------------------------------------------------- closing one endpoint of several


async def test_closing_a_receiver_wakes_its_own_waiting_recv_only() -> None:
    tx, rx = local_channel(4)
    other = rx.clone()
    mine = asyncio.create_task(rx.recv())
    theirs = asyncio.create_task(other.recv())
    await asyncio.sleep(PAUSE)
    await rx.close()
    with pytest.raises(EndpointClosedError):
        await within(mine)
    await asyncio.sleep(PAUSE)
    assert not theirs.done()
    await tx.send(9)
    assert await within(theirs) == 9


async def test_closing_a_sender_wakes_its_own_blocked_send_which_enqueues_nothing() -> None:
    tx, rx = local_channel(1)
    other = tx.clone()
    await tx.send(1)
    mine = asyncio.create_task(tx.send(2))
    theirs = asyncio.create_task(other.send(3))
    await asyncio.sleep(PAUSE)
    await tx.close()
    with pytest.raises(EndpointClosedError):
        await within(mine)
    assert await rx.recv() == 1
    await within(theirs)
    await other.close()
    assert [item async for item in rx] == [3]


async def test_send_batch_refused_part_way_keeps_what_was_accepted() -> None:
    tx, rx = local_channel(2)
    batch = asyncio.create_task(tx.send_batch(iter(range(5))))
    await asyncio.sleep(PAUSE)
    assert not batch.done()
    await rx.close()
    with pytest.raises(ReceiversClosedError):
        await within(batch)
    assert await tx.stats() == ChannelStats(
        buffered=2,
        capacity=2,
        senders=1,
        receivers=0,
        sent=2,
        received=0,
        high_watermark=2,
        receivers_closed=True,
    )


async def test_empty_send_batch_still_reports_a_closed_channel() -> None:
    tx, rx = local_channel(1)
    await tx.send(0)
    await within(tx.send_batch([]))  # full, but nothing to wait for
    await rx.close()
    with pytest.raises(ChannelClosedError):
        await tx.send_batch(())


async def test_capacity_one_ping_pong() -> None:
    tx, rx = local_channel(1)

    async def produce() -> None:
        async with tx:
            for i in range(500):
                await tx.send(i)

    task = asyncio.create_task(produce())
    assert [item async for item in rx] == list(range(500))
    await task
    stats = await rx.stats()
    assert (stats.sent, stats.received, stats.high_watermark) == (500, 500, 1)


async def test_timed_out_and_cancelled_waits_leave_no_waiter_behind() -> None:
    """Polling an idle channel must not grow memory (this peeks at the shared state)."""
    tx, rx = local_channel(1)
    for _ in range(50):
        assert await rx.recv_batch(1, timeout=0.0001) == []
    await tx.send(1)
    for _ in range(50):
        blocked = asyncio.create_task(tx.send(2))
        await asyncio.sleep(0)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
    state = rx._state
    assert (len(state.recv_waiters), len(state.send_waiters)) == (0, 0)


# ----------------------------------------------------------------- randomised


async def _random_run(seed: int, per_producer: int) -> None:
    """Producers and consumers each pick random calls, some cancelled part way."""
    rng = random.Random(seed)
    tx, rx = local_channel(rng.choice([1, 2, 3, 8, 64]))
    senders = [tx] + [tx.clone() for _ in range(rng.randint(0, 3))]
    receivers = [rx] + [rx.clone() for _ in range(rng.randint(0, 3))]
    received: list[list[tuple[int, int]]] = [[] for _ in receivers]

    async def produce(index: int, sender: LocalSender[tuple[int, int]]) -> None:
        seq = 0
        while seq < per_producer:
            op = rng.random()
            if op < 0.4:
                await sender.send((index, seq))
                seq += 1
            elif op < 0.6:
                batch = [(index, q) for q in range(seq, min(per_producer, seq + rng.randint(1, 5)))]
                await sender.send_batch(batch)
                seq += len(batch)
            elif op < 0.8:
                if (await sender.try_send((index, seq))).is_ok():
                    seq += 1
                else:
                    await asyncio.sleep(0)
            else:  # a send that may be cancelled while it waits: sent exactly when it returns
                task = asyncio.create_task(sender.send((index, seq)))
                await asyncio.sleep(0)
                task.cancel()
                try:
                    await task
                    seq += 1
                except asyncio.CancelledError:
                    pass
        await sender.close()

    async def consume(index: int, receiver: LocalReceiver[tuple[int, int]]) -> None:
        out = received[index]
        while True:
            op = rng.random()
            try:
                if op < 0.3:
                    out.append(await receiver.recv())
                elif op < 0.5:
                    out.extend(await receiver.recv_batch(rng.randint(1, 6), timeout=0.001))
                elif op < 0.7:
                    result = await receiver.try_recv()
                    if result.is_ok():
                        out.append(result.unwrap())
                    elif result.unwrap_err() != ChannelEmpty():
                        return
                    else:
                        await asyncio.sleep(0)
                else:  # a recv that may be cancelled after it was woken
                    task = asyncio.create_task(receiver.recv())
                    await asyncio.sleep(0)
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        out.append(await task)
            except ChannelClosedError:
                return

    await within(
        asyncio.gather(
            *(produce(i, s) for i, s in enumerate(senders)),
            *(consume(i, r) for i, r in enumerate(receivers)),
        )
    )
    everything = sorted(item for part in received for item in part)
    assert everything == [(p, q) for p in range(len(senders)) for q in range(per_producer)]
    for part in received:
        for p in range(len(senders)):
            seqs = [q for (who, q) in part if who == p]
            assert seqs == sorted(seqs)
    stats = await rx.stats()
    assert stats.sent == stats.received == len(everything)
    assert stats.buffered == 0
    assert stats.closed


@pytest.mark.parametrize("seed", range(8))
async def test_random_calls_and_cancellations_keep_each_item_exactly_once_in_order(
    seed: int,
) -> None:
    await _random_run(seed, per_producer=150)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(200))
async def test_random_calls_and_cancellations_soak(seed: int) -> None:
    await _random_run(1000 + seed, per_producer=2000)


# ----------------------------------------------------------------- fairness (trio's rule), measured as in issue #17


async def test_one_blocked_send_against_four_try_send_pollers_is_never_starved() -> None:
    """The issue's measurement: a task looping on ``send`` against four ``try_send``
    pollers. Every time a slot frees while it waits, the slot is its own."""
    tx, rx = local_channel(1)
    stop = asyncio.Event()

    async def blocked_sender() -> None:
        async with tx.clone() as sender:
            for i in range(200):
                await sender.send(("send", i))

    async def poller() -> None:
        async with tx.clone() as sender:
            while not stop.is_set():
                await sender.try_send(("poll", 0))
                await asyncio.sleep(0)

    pollers = [asyncio.create_task(poller()) for _ in range(4)]
    await asyncio.sleep(PAUSE)
    sender = asyncio.create_task(blocked_sender())
    await asyncio.sleep(PAUSE)  # it waits: a poller filled the only slot
    received = [await within(rx.recv()) for _ in range(600)]
    stop.set()
    await within(asyncio.gather(sender, *pollers))
    await tx.close()
    mine = [i for who, i in received if who == "send"]
    assert mine == list(range(200))  # all admitted, in order, within the first 600
    assert received.index(("send", 0)) <= 1  # admitted as soon as it waits (anyio: second)


async def test_one_blocked_recv_against_two_try_recv_pollers_is_never_starved() -> None:
    tx, rx = local_channel(4)
    stop = asyncio.Event()
    polled: list[int] = []

    async def poller() -> None:
        async with rx.clone() as receiver:
            while not stop.is_set():
                result = await receiver.try_recv()
                if result.is_ok():
                    polled.append(result.unwrap())
                await asyncio.sleep(0)

    async def blocked_receiver() -> list[int]:
        return [await rx.recv() for _ in range(100)]

    pollers = [asyncio.create_task(poller()) for _ in range(2)]
    receiver = asyncio.create_task(blocked_receiver())
    await asyncio.sleep(PAUSE)
    for i in range(2_000):
        await tx.send(i)
        await asyncio.sleep(0)
        if receiver.done():
            break
    got = await within(receiver)
    stop.set()
    await within(asyncio.gather(*pollers))
    await tx.close()
    assert got == sorted(got)
    assert len(got) == 100
    assert got[0] == 0  # it was waiting first


async def test_a_granted_item_is_not_taken_by_a_newcomer() -> None:
    tx, rx = local_channel(4)
    first = asyncio.create_task(rx.recv())
    await asyncio.sleep(PAUSE)
    await tx.send(1)  # granted to `first`, which has not run yet
    await tx.send(2)
    assert await rx.try_recv() == Err(ChannelEmpty())  # newcomers wait behind the grant
    assert await within(rx.recv()) == 2  # queues, is granted at once, runs after `first`
    assert await within(first) == 1


async def test_a_granted_slot_is_not_taken_by_a_newcomer() -> None:
    tx, rx = local_channel(2)
    await tx.send_batch([0, 1])
    blocked = asyncio.create_task(tx.send("blocked"))
    await asyncio.sleep(PAUSE)
    assert await rx.recv_batch(2) == [0, 1]  # two free slots, one granted to `blocked`
    assert (await tx.try_send("newcomer")).is_err()
    await within(tx.send("late"))  # queues behind, is granted the other slot at once
    await within(blocked)
    assert await rx.recv_batch(4) == ["blocked", "late"]


async def test_a_receiver_closed_after_its_grant_passes_the_item_on() -> None:
    tx, rx = local_channel(4)
    other = rx.clone()
    waiting = asyncio.create_task(rx.recv())
    await asyncio.sleep(PAUSE)
    await tx.send(1)  # granted to `waiting` ...
    await rx.close()  # ... whose receiver closes before it runs
    with pytest.raises(EndpointClosedError):
        await within(waiting)
    assert await other.try_recv() == Ok(1)


async def test_recv_batch_without_waiting_reports_the_end_of_channel() -> None:
    tx, rx = local_channel()
    assert (await rx.stats()).capacity == DEFAULT_CAPACITY
    await tx.close()
    with pytest.raises(ChannelEndedError):
        await rx.recv_batch(4, timeout=0)


async def test_an_item_sent_as_a_waiting_recv_times_out_goes_to_the_next_receiver() -> None:
    tx, rx = local_channel(4)
    other = rx.clone()

    async def recv_with_deadline() -> int:
        async with asyncio.timeout(PAUSE):
            return await rx.recv()

    first = asyncio.create_task(recv_with_deadline())
    await asyncio.sleep(0)
    second = asyncio.create_task(other.recv())
    loop = asyncio.get_running_loop()
    fired = loop.create_future()
    loop.call_later(PAUSE * 2, fired.set_result, None)
    await fired  # `first`'s deadline fired before this timer; `first` has not run since
    await tx.send(1)
    with pytest.raises(TimeoutError):
        await first
    assert await within(second) == 1


# ----------------------------------------------------------------- send_batch of lazy iterables


async def test_send_batch_reads_a_generator_no_further_than_the_room() -> None:
    tx, rx = local_channel(4)
    produced = 0

    def numbers() -> Iterator[int]:
        nonlocal produced
        for i in range(100):
            produced += 1
            yield i

    sending = asyncio.create_task(tx.send_batch(numbers()))
    await asyncio.sleep(PAUSE)
    assert produced == 5  # four in the channel, one read ahead while it waits
    assert await rx.recv_batch(2) == [0, 1]
    await asyncio.sleep(PAUSE)
    assert produced == 7
    rest = [await within(rx.recv()) for _ in range(98)]
    await within(sending)
    assert rest == list(range(2, 100))
    assert produced == 100
    await tx.close()


async def test_send_batch_of_a_failing_generator_keeps_what_it_read() -> None:
    tx, rx = local_channel(8)

    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        await tx.send_batch(failing())
    await tx.close()
    assert [item async for item in rx] == [1, 2]


async def test_send_batch_of_a_list_larger_than_the_room_fills_as_room_frees() -> None:
    tx, rx = local_channel(3)
    sending = asyncio.create_task(tx.send_batch((1, 2, 3, 4, 5)))
    await asyncio.sleep(PAUSE)
    assert (await tx.stats()).buffered == 3
    assert [await within(rx.recv()) for _ in range(5)] == [1, 2, 3, 4, 5]
    await within(sending)
    await tx.close()


# ----------------------------------------------------------------- dropped endpoints (tokio's Drop)


async def test_a_dropped_clone_does_not_end_the_channel_while_another_sender_is_open() -> None:
    tx, rx = local_channel(4)
    held = [tx.clone()]
    with pytest.warns(ResourceWarning, match="garbage-collected without close"):
        held.clear()
    await tx.send(1)
    assert await rx.try_recv() == Ok(1)
    assert await rx.try_recv() == Err(ChannelEmpty())
    assert (await rx.stats()).senders == 1
    await tx.close()


async def test_a_closed_endpoint_is_dropped_without_a_warning() -> None:
    tx, rx = local_channel(4)
    held = [tx.clone()]
    await held[0].close()
    gc.collect()  # other tests' garbage first
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        held.clear()
    await tx.close()
    await rx.close()


async def test_the_last_sender_dropped_in_another_thread_ends_the_channel() -> None:
    """A finalizer may run in any thread: the wake-up goes through the waiters' loop."""
    tx, rx = local_channel(4)
    held = [tx]
    del tx
    waiting = asyncio.create_task(rx.recv())
    await asyncio.sleep(PAUSE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        thread = threading.Thread(target=held.clear)
        thread.start()
        thread.join(5)
    with pytest.raises(ChannelEndedError):
        await within(waiting)


def test_dropping_endpoints_after_their_loop_closed_is_harmless() -> None:
    def in_another_loop() -> list[Any]:
        async def main() -> list[Any]:
            tx, rx = local_channel(1)
            waiting = asyncio.get_running_loop().create_future()
            rx._state.recv_waiters.append((rx, waiting))  # a waiter left behind
            return [tx, rx]

        return asyncio.run(main())

    held = in_another_loop()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        held.clear()
        gc.collect()


# ----------------------------------------------------------------- default deadline


async def test_a_default_deadline_bounds_every_blocking_call() -> None:
    tx, rx = local_channel(1, timeout=PAUSE)
    with pytest.raises(ChannelTimeoutError) as info:
        await within(rx.recv())
    assert info.value.timeout == PAUSE
    with pytest.raises(ChannelTimeoutError):
        await within(anext(aiter(rx)))
    await tx.send(1)
    with pytest.raises(ChannelTimeoutError):
        await within(tx.send_batch([2, 3]))
    stats = await tx.stats()
    assert (stats.sent, stats.tasks_waiting_send, stats.tasks_waiting_receive) == (1, 0, 0)
    await tx.close()
    assert [item async for item in rx] == [1]


@pytest.mark.parametrize("timeout", [None, 0])
async def test_no_default_deadline_waits(timeout: float | None) -> None:
    tx, rx = local_channel(1, timeout=timeout)
    waiting = asyncio.create_task(rx.recv())
    await asyncio.sleep(PAUSE * 3)
    assert not waiting.done()
    await tx.send(1)
    assert await within(waiting) == 1


def test_a_negative_default_deadline_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout"):
        local_channel(1, timeout=-1)

"""``klaw demo --faults``: the delivery promise under real failures, counted message by message.

Two faults are injected mid-run, for real, while producer *tasks* send typed
events through a klaw Ray channel to this process:

1. a producer task's worker process is **SIGKILLed**; Ray re-runs the task
   (its default retries) with the same pickled sender, which sends its stream
   again from the start: the channel recognises each (producer, seq) it
   already stored and drops the repeat;
2. the **channel actor** is killed with ``ray.kill(actor, no_restart=False)``;
   Ray restarts it (a new epoch, its buffer gone): producers replay what they
   kept, the receiver reports what it delivered.

Every (producer, seq) received is counted. The report gives, per producer,
messages sent, received, lost and duplicated, and how long each recovery took:
from the kill until that producer's messages flow again (the re-run's), and
until the receiver has joined the restarted actor and receives again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Sequence
from typing import Any, Final

import msgspec

from klaw_core.cli.demo._events import DemoEvent, Progress, make_event, split_evenly
from klaw_core.runtime.config import KlawConfig

__all__ = ["FaultReport", "ProducerCount", "Recovery", "PidBoard", "produce_events", "run_faults"]

#: Most messages the channel holds in the fault run: producers stay mid-stream when faults hit.
FAULT_CAPACITY: Final = 4_096
#: Messages per ``send_batch`` call of a producer task.
CHUNK: Final = 500
#: Longest the whole fault run may take.
DEADLINE: Final = 300.0
#: Seconds a producer spreads its messages over at least, so that both faults hit mid-stream.
PACE: Final = 4.0


class ProducerCount(msgspec.Struct, frozen=True):
    """What one producer sent and what arrived of it.

    Attributes:
        producer: the producer's index.
        sent: messages its task sent (as the task that finished reports).
        received: messages of it the consumer received, repeats included.
        lost: messages sent and never received.
        duplicated: messages received more than once (counting the extra copies).

    Example:
        >>> ProducerCount(0, 10, 10, 0, 0).lost
        0
    """

    producer: int
    sent: int
    received: int
    lost: int
    duplicated: int


class Recovery(msgspec.Struct, frozen=True):
    """One injected fault and how long the channel took to recover from it.

    Attributes:
        fault: what was killed, and how.
        seconds: from the kill until messages flowed again.

    Example:
        >>> Recovery("channel actor killed (restarted)", 0.9).seconds
        0.9
    """

    fault: str
    seconds: float


class FaultReport(msgspec.Struct, frozen=True):
    """The fault run's result.

    Attributes:
        producers: per producer, sent / received / lost / duplicated.
        recoveries: the faults injected, in order, with their recovery times.
        seconds: the whole run, from dispatch to the end of channel.
        errors: errors raised to the consumer (none expected).

    Example:
        >>> FaultReport((ProducerCount(0, 5, 5, 0, 0),), (), 1.0, ()).exactly_once
        True
    """

    producers: tuple[ProducerCount, ...]
    recoveries: tuple[Recovery, ...]
    seconds: float
    errors: tuple[str, ...]

    @property
    def exactly_once(self) -> bool:
        """Whether every message sent arrived exactly once, with no error."""
        return not self.errors and all(not p.lost and not p.duplicated for p in self.producers)


class PidBoard:
    """A tiny actor the producer tasks tell their worker's pid (one entry per attempt).

    Example:
        >>> import asyncio
        >>> board = PidBoard()
        >>> asyncio.run(board.report(0, 123, "host")), asyncio.run(board.attempts(0))
        (None, [(123, 'host')])
    """

    def __init__(self) -> None:
        self._pids: dict[int, list[tuple[int, str]]] = {}

    async def report(self, producer: int, pid: int, host: str) -> None:
        """Record an attempt of ``producer`` running as ``pid`` on ``host``.

        Args:
            producer: the producer's index.
            pid: its worker's process id.
            host: the machine it runs on.
        """
        self._pids.setdefault(producer, []).append((pid, host))

    async def attempts(self, producer: int) -> list[tuple[int, str]]:
        """Return the attempts of ``producer`` so far, oldest first.

        Args:
            producer: the producer's index.

        Returns:
            ``(pid, host)`` per attempt.
        """
        return list(self._pids.get(producer, ()))


def produce_events(sender: Any, producer: int, count: int, board: Any) -> int:
    """Task body of a deterministic producer: report the pid, send ``count`` events, close.

    A re-run (after its worker was killed) sends the same events with the same
    seqs under the same sender identity.

    Args:
        sender: this producer's sender (pickled: every attempt gets the same one).
        producer: the producer's index, stamped on its events.
        count: events to send.
        board: the :class:`PidBoard` actor.

    Returns:
        ``count``.
    """
    import platform

    import ray

    ray.get(board.report.remote(producer, os.getpid(), platform.node()))

    pause = max(0.001, PACE * CHUNK / max(count, 1))  # work between batches: a paced stream

    async def run() -> None:
        async with sender:
            for start in range(0, count, CHUNK):
                stop = min(count, start + CHUNK)
                await sender.send_batch([make_event(producer, seq) for seq in range(start, stop)])
                await asyncio.sleep(pause)

    asyncio.run(run())
    return count


class _Tally:
    """Counts every (producer, seq) received; flags the faults' recoveries."""

    def __init__(self, counts: Sequence[int]) -> None:
        self.seen = [bytearray(n) for n in counts]
        self.received = [0] * len(counts)
        self.total = 0

    def add(self, events: Sequence[DemoEvent]) -> None:
        for event in events:
            row = self.seen[event.producer]
            if event.seq < len(row) and row[event.seq] < 255:
                row[event.seq] += 1
            self.received[event.producer] += 1
        self.total += len(events)

    def count(self, producer: int, sent: int) -> ProducerCount:
        row = self.seen[producer]
        distinct = sum(1 for n in row if n)
        return ProducerCount(
            producer,
            sent,
            self.received[producer],
            sent - distinct,
            self.received[producer] - distinct,
        )


async def _run(
    ray: Any, config: KlawConfig, messages: int, producers: int, progress: Progress | None
) -> FaultReport:
    capacity = (
        FAULT_CAPACITY
        if config.channels.unbounded
        else min(config.channels.capacity, FAULT_CAPACITY)
    )
    from klaw_core.runtime.channels.ray import ray_channel

    tx, rx = ray_channel(
        capacity,
        value_type=DemoEvent,
        batch_size=min(config.channels.batch_size, CHUNK),
        close_wait=DEADLINE,
        actor_options={"max_restarts": max(1, config.ray.max_restarts)},
    )
    board = ray.remote(PidBoard).remote()
    counts = split_evenly(messages, producers)
    task = ray.remote(produce_events)
    refs = [task.remote(tx.clone(), i, n, board) for i, n in enumerate(counts)]
    await tx.close()
    tally = _Tally(counts)
    recoveries: list[Recovery] = []
    errors: list[str] = []
    started = time.perf_counter()
    # 0: before the producer kill, 1: until its re-run delivers, 2: until the receiver
    # joined the restarted actor, 3: done.
    stage = 0
    killed_at = 0.0
    rerun_flowing = False
    epoch = rx.epoch
    async with asyncio.timeout(DEADLINE):
        while True:
            try:
                batch = await rx.recv_batch(65_536, timeout=0.5)
            except Exception as exc:  # the promise is: none; shown if one comes
                if type(exc).__name__ == "ChannelEndedError":
                    break
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            tally.add(batch)
            if progress is not None:
                progress("fault run", min(tally.total, messages), messages)
            if stage == 0 and tally.total >= messages // 4:
                (pid, host), *_ = await board.attempts.remote(0)
                if host != os.uname().nodename:
                    raise RuntimeError("--faults kills a producer's worker: run it on a local Ray")
                os.kill(pid, signal.SIGKILL)
                killed_at, stage = time.perf_counter(), 1
            elif stage == 1:
                if not rerun_flowing:
                    rerun_flowing = len(await board.attempts.remote(0)) > 1
                elif any(e.producer == 0 for e in batch):
                    recoveries.append(
                        Recovery(
                            "producer 0's worker SIGKILLed (Ray re-ran the task)",
                            time.perf_counter() - killed_at,
                        )
                    )
                    ray.kill(tx.ref.actor, no_restart=False)  # the next fault, at once
                    killed_at, stage = time.perf_counter(), 2
            elif stage == 2 and batch and rx.epoch != epoch:
                recoveries.append(
                    Recovery(
                        "channel actor killed (Ray restarted it)", time.perf_counter() - killed_at
                    )
                )
                stage = 3
        sent = await asyncio.gather(*(asyncio.wrap_future(ref.future()) for ref in refs))
    seconds = time.perf_counter() - started
    await rx.close()
    ray.kill(board)
    if stage < 3:
        errors.append(
            f"the run ended before both faults were injected and recovered (stage {stage})"
        )
    return FaultReport(
        tuple(tally.count(i, n) for i, n in enumerate(sent)),
        tuple(recoveries),
        seconds,
        tuple(errors),
    )


def run_faults(
    ray: Any,
    config: KlawConfig,
    *,
    messages: int,
    producers: int,
    progress: Progress | None = None,
) -> FaultReport:
    """Run the fault pipeline (see the module docstring) on an already started Ray.

    Args:
        ray: the imported ``ray`` module.
        config: channel batch size and capacity (at most :data:`FAULT_CAPACITY`),
            the actor's ``max_restarts`` (at least 1).
        messages: messages in all, shared by the producers.
        producers: producer tasks.
        progress: called as ``progress(label, done, total)`` while consuming.

    Returns:
        The :class:`FaultReport`.

    Raises:
        RuntimeError: a producer runs on another machine (its worker cannot be
            killed from here).
        TimeoutError: the run took longer than :data:`DEADLINE` seconds.

    Example:
        It starts tasks and kills processes; ``klaw demo --faults`` runs it:

        >>> from klaw_core.runtime.config import load_config
        >>> import ray  # doctest: +SKIP
        >>> report = run_faults(ray, load_config(), messages=20_000, producers=2)  # doctest: +SKIP
        >>> report.exactly_once  # doctest: +SKIP
        True
    """
    return asyncio.run(_run(ray, config, messages, producers, progress))

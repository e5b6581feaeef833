"""The pipeline behind ``klaw demo``: typed producers → a Ray channel → one consumer.

It also runs the same pipeline over ``ray.util.queue.Queue``, the tool people
reach for today, so the throughput table compares both **in the same run on the
same machine**: batch calls (``put_nowait_batch``/``get_nowait_batch``) and,
on a smaller count, one call per item (``put``/``get``).

How it measures, and why:

- Producers are Ray actors (:class:`DemoProducer`), one process each; the
  consumer is this process. Actors and the channel are created and a warm-up
  round is sent *before* any clock starts: a Ray worker takes about 2 s to
  start, which is not channel throughput.
- A run's time is from dispatching the producers' calls to the consumer holding
  the last message. Every message is checked on arrival: its type, and that each
  producer's sequence numbers arrive in order with none missing. A run that
  loses, duplicates or reorders a message fails instead of reporting a rate.
- A producer that fails is noticed within half a second (its error is raised
  here); the consumer never waits forever.

The message type :class:`DemoEvent` lives in this module, not in ``__main__``:
Ray workers must import a type to unpickle it.

Ray is imported only when a demo runs; importing this module is cheap.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import logging
import platform
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import msgspec

import klaw_core
from klaw_core.runtime.channels import ChannelClosedError, Receiver, Sender, channel
from klaw_core.runtime.config import KlawConfig

__all__ = [
    "DemoEvent",
    "DemoProducer",
    "DemoReport",
    "Progress",
    "RunResult",
    "check_reachable",
    "run_demo",
    "split_evenly",
]

#: ``progress(label, done, total)``: called from the consumer loop at most ~10 times a second.
Progress = Callable[[str, int, int], None]

_POLL: Final = 0.5  # seconds between checks that the producers are still alive
_STALL: Final = 30.0  # seconds to wait for the rest once every producer has finished
_PROGRESS_EVERY: Final = 0.1
_WARMUP_PER_PRODUCER: Final = 2_000


class DemoEvent(msgspec.Struct, frozen=True, gc=False):
    """One message of the demo: a sensor reading, as a producer would emit it.

    Attributes:
        producer: index of the producer that sent it.
        seq: the producer's sequence number, from 0 within one pipeline.
        sensor: which sensor.
        value: the reading.

    Example:
        >>> event = DemoEvent(producer=1, seq=0, sensor="sensor-0", value=0.5)
        >>> event.producer, event.seq
        (1, 0)
        >>> msgspec.msgpack.decode(msgspec.msgpack.encode(event), type=DemoEvent) == event
        True
    """

    producer: int
    seq: int
    sensor: str
    value: float


def _event(producer: int, seq: int) -> DemoEvent:
    return DemoEvent(producer, seq, f"sensor-{seq % 16}", seq * 0.5)


def split_evenly(total: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` counts that differ by at most one.

    Args:
        total: the count to share out, 0 or more.
        parts: how many shares, at least 1.

    Returns:
        ``parts`` counts summing to ``total``, the larger ones first.

    Example:
        >>> split_evenly(10, 3)
        [4, 3, 3]
    """
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class RunResult(msgspec.Struct, frozen=True):
    """One timed run of a pipeline.

    Attributes:
        transport: ``"klaw Ray channel"`` or ``"ray.util.queue.Queue"``.
        api: the calls used on each side.
        messages: messages delivered (and checked).
        seconds: wall time from dispatch to the last message received.

    Example:
        >>> run = RunResult("klaw Ray channel", "send_batch / recv_batch", 200_000, 0.25)
        >>> run.messages, run.rate
        (200000, 800000.0)
    """

    transport: str
    api: str
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds if self.seconds > 0 else float("inf")


class DemoReport(msgspec.Struct, frozen=True):
    """Everything ``klaw demo`` prints: the runs, the settings, the versions.

    Attributes:
        runs: the timed runs, klaw channel first, then ``ray.util.queue.Queue``.
        producers: producer actors used.
        capacity: channel and queue capacity; ``None`` when unbounded.
        batch_size: ``channels.batch_size``: messages a sender packs into one call.
        ray: the configured address, ``"local (started by klaw demo)"`` or
            ``"already connected"``.
        versions: name to version of klaw-core (and its wire core), msgspec,
            Ray and Python.

    Example:
        >>> run = RunResult("klaw Ray channel", "send / async for", 2_000, 0.5)
        >>> report = DemoReport((run,), 2, 65_536, 16_384, "local", {"Python": "3.11.7"})
        >>> report.runs[0].rate, report.capacity
        (4000.0, 65536)
    """

    runs: tuple[RunResult, ...]
    producers: int
    capacity: int | None
    batch_size: int
    ray: str
    versions: dict[str, str]


# ------------------------------------------------------------------- producers


class DemoProducer:
    """A producer actor: sends :class:`DemoEvent` s into a channel or a Ray queue.

    Used as ``ray.remote(DemoProducer)`` (an async actor: the channel API is
    async). Sequence numbers restart at 0 for each pipeline name, so the
    consumer can check every pipeline independently.

    Args:
        index: this producer's number, stamped on every event as ``producer``.

    Example:
        The class is plain Python; here it feeds a local channel, no Ray needed:

        >>> import asyncio
        >>> from klaw_core.runtime.channels import channel
        >>> async def main():
        ...     tx, rx = channel(16, value_type=DemoEvent)
        ...     producer = DemoProducer(3)
        ...     await producer.attach(tx)
        ...     await producer.send(4, batch=2)
        ...     await producer.close()  # the only sender: the channel ends
        ...     return [(event.producer, event.seq) async for event in rx]
        >>> asyncio.run(main())
        [(3, 0), (3, 1), (3, 2), (3, 3)]
    """

    def __init__(self, index: int) -> None:
        self._index = index
        self._sender: Sender[DemoEvent] | None = None
        self._next: dict[str, int] = {}

    async def attach(self, sender: Sender[DemoEvent]) -> int:
        """Keep ``sender`` for :meth:`send` and :meth:`close`.

        Args:
            sender: this producer's own clone of the channel's sender; the
                producer closes it in :meth:`close`.

        Returns:
            The id of the process this producer runs in (one per actor).
        """
        import os

        self._sender = sender
        return os.getpid()

    def _seqs(self, pipeline: str, count: int) -> range:
        start = self._next.get(pipeline, 0)
        self._next[pipeline] = start + count
        return range(start, start + count)

    async def send(self, count: int, batch: int | None) -> int:
        """Send ``count`` events: ``send_batch`` in chunks of ``batch``, or ``send`` each.

        Args:
            count: events to send; their sequence numbers continue from the
                previous call's.
            batch: events per ``send_batch`` call, or ``None`` for one
                ``send`` per event.

        Returns:
            ``count``, once every event is flushed into the channel.

        Raises:
            RuntimeError: no sender was attached with :meth:`attach`.
        """
        sender = self._sender
        if sender is None:
            raise RuntimeError("attach() a sender first")
        seqs = self._seqs("channel", count)
        index = self._index
        if batch is None:
            for seq in seqs:
                await sender.send(_event(index, seq))
        else:
            for start in range(seqs.start, seqs.stop, batch):
                stop = min(start + batch, seqs.stop)
                await sender.send_batch([_event(index, seq) for seq in range(start, stop)])
        await sender.flush()
        return count

    async def close(self) -> None:
        """Close this producer's sender."""
        if self._sender is not None:
            await self._sender.close()

    async def put_queue(self, queue: Any, count: int, batch: int | None) -> int:
        """Put ``count`` events into a ``ray.util.queue.Queue``, in batches or one by one.

        ``Queue.put_nowait_batch`` blocks in ``ray.get``, which must not run on
        this actor's event loop, so the batch path awaits the very call it makes.

        Args:
            queue: the ``ray.util.queue.Queue`` to fill.
            count: events to put; their sequence numbers continue from the
                previous call's with the same ``batch`` mode.
            batch: events per ``put_nowait_batch`` call, retried every
                millisecond while the queue is full; ``None`` for one
                ``put_async`` per event.

        Returns:
            ``count``, once every event is in the queue.
        """
        full: Any = importlib.import_module("ray.util.queue").Full
        seqs = self._seqs("queue-batch" if batch else "queue-item", count)
        index = self._index
        if batch is None:
            for seq in seqs:
                await queue.put_async(_event(index, seq))
            return count
        for start in range(seqs.start, seqs.stop, batch):
            items = [_event(index, seq) for seq in range(start, min(start + batch, seqs.stop))]
            while True:
                try:
                    await queue.actor.put_nowait_batch.remote(items)
                    break
                except full:  # bounded like the channel: wait for room
                    await asyncio.sleep(0.001)
        return count


# -------------------------------------------------------------------- consumer


class _Checker:
    """Checks arrivals: type, and per-producer sequence numbers in order, none missing."""

    def __init__(self, transport: str, producers: int) -> None:
        self._transport = transport
        self._next = [0] * producers

    def check(self, items: Iterable[object]) -> int:
        expected = self._next
        count = 0
        for item in items:
            if type(item) is not DemoEvent:
                raise RuntimeError(
                    f"{self._transport} delivered {type(item).__name__}, not DemoEvent"
                )
            if item.seq != expected[item.producer]:
                raise RuntimeError(
                    f"{self._transport}: producer {item.producer} message {item.seq} arrived "
                    f"where {expected[item.producer]} was due (lost or reordered)"
                )
            expected[item.producer] += 1
            count += 1
        return count


class _Watch:
    """Progress reporting and producer health, shared by every consumer loop."""

    def __init__(
        self, ray: Any, refs: Sequence[Any], label: str, total: int, progress: Progress | None
    ) -> None:
        self._ray = ray
        self._refs = list(refs)
        self._label = label
        self._total = total
        self._progress = progress
        self._last = 0.0
        self._done = 0
        self._finished_at: float | None = None

    def advance(self, done: int) -> None:
        self._done = done
        now = time.perf_counter()
        if self._progress is not None and (
            now - self._last >= _PROGRESS_EVERY or done >= self._total
        ):
            self._last = now
            self._progress(self._label, done, self._total)

    def check_producers(self) -> None:
        """Raise if a producer call failed, or if they all finished and messages stay missing.

        ``ray.get`` re-raises a failed call's error. Once every producer has
        returned, everything was sent; if the rest does not arrive within
        :data:`_STALL` seconds, messages were lost, and waiting longer is pointless.
        """
        ready, _ = self._ray.wait(self._refs, num_returns=len(self._refs), timeout=0)
        for ref in ready:
            self._ray.get(ref)
        if len(ready) < len(self._refs):
            return
        now = time.perf_counter()
        if self._finished_at is None:
            self._finished_at = now
        elif now - self._finished_at > _STALL:
            raise RuntimeError(
                f"{self._label}: every producer finished, but only {self._done} of "
                f"{self._total} messages arrived within {_STALL:.0f} s"
            )


async def _consume_channel(
    receiver: Receiver[DemoEvent], total: int, checker: _Checker, watch: _Watch, batched: bool
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
        while not (await asyncio.wait({task}, timeout=_POLL))[0]:
            watch.check_producers()
        task.result()
    except ChannelClosedError:
        watch.check_producers()
        raise RuntimeError(f"the channel ended before {total} messages arrived") from None
    except BaseException:
        task.cancel()
        raise


def _consume_queue(queue: Any, total: int, checker: _Checker, watch: _Watch, batched: bool) -> None:
    empty: Any = importlib.import_module("ray.util.queue").Empty
    received = 0
    while received < total:
        if not batched:
            try:
                items = [queue.get(timeout=_POLL)]
            except empty:
                watch.check_producers()
                continue
        else:
            available = queue.qsize()
            if not available:
                watch.check_producers()
                time.sleep(0.0005)
                continue
            items = queue.get_nowait_batch(min(available, total - received))
        received += checker.check(items)
        watch.advance(received)


# ------------------------------------------------------------------- pipelines


def _start(
    ray: Any,
    actors: Sequence[Any],
    label: str,
    total: int,
    progress: Progress | None,
    call: Callable[[Any, int], Any],
) -> tuple[float, list[Any], _Watch]:
    """Dispatch each producer's share of ``total``; return the start time, the calls, a watch."""
    started = time.perf_counter()
    refs = [
        call(actor, n) for actor, n in zip(actors, split_evenly(total, len(actors)), strict=True)
    ]
    return started, refs, _Watch(ray, refs, label, total, progress)


async def _run_channel(
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
    checker = _Checker(transport, len(actors))

    async def run(label: str, total: int, batched: bool) -> float:
        per_call = batch if batched else None
        started, refs, watch = _start(
            ray, actors, label, total, progress, lambda actor, n: actor.send.remote(n, per_call)
        )
        await _consume_channel(receiver, total, checker, watch, batched)
        elapsed = time.perf_counter() - started
        await asyncio.gather(*refs)
        return elapsed

    await run(f"{transport}, warm-up", _WARMUP_PER_PRODUCER * len(actors), True)
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
        leftovers = await asyncio.wait_for(_drain(receiver), timeout=_STALL)
    except TimeoutError:
        raise RuntimeError(
            f"{transport}: no end of channel {_STALL:.0f} s after every sender closed"
        ) from None
    if leftovers:
        raise RuntimeError(
            f"{transport}: {leftovers} unexpected messages before the end of channel"
        )
    await receiver.close()
    return results


async def _drain(receiver: Receiver[DemoEvent]) -> int:
    return len([item async for item in receiver])


def _run_queue(
    ray: Any,
    actors: Sequence[Any],
    config: KlawConfig,
    messages: int,
    queue_items: int,
    progress: Progress | None,
) -> list[RunResult]:
    transport = "ray.util.queue.Queue"
    queue_module: Any = importlib.import_module("ray.util.queue")
    batch = min(config.channels.batch_size, config.channels.capacity)
    queue = queue_module.Queue(maxsize=0 if config.channels.unbounded else config.channels.capacity)
    try:
        checkers = {True: _Checker(transport, len(actors)), False: _Checker(transport, len(actors))}

        def run(label: str, total: int, batched: bool) -> float:
            per_call = batch if batched else None
            started, refs, watch = _start(
                ray,
                actors,
                label,
                total,
                progress,
                lambda actor, n: actor.put_queue.remote(queue, n, per_call),
            )
            _consume_queue(queue, total, checkers[batched], watch, batched)
            elapsed = time.perf_counter() - started
            ray.get(refs)
            return elapsed

        run(f"{transport}, warm-up", _WARMUP_PER_PRODUCER * len(actors), True)
        api = "put_nowait_batch / get_nowait_batch"
        results = [RunResult(transport, api, messages, run(f"{transport}, batch", messages, True))]
        if queue_items:
            seconds = run(f"{transport}, per item", queue_items, False)
            results.append(RunResult(transport, "put / get", queue_items, seconds))
        return results
    finally:
        queue.shutdown()


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast when a ``host:port`` (or ``ray://host:port``) Ray address does not answer.

    ``ray.init`` retries an unreachable address for minutes; one TCP connect
    says the same in seconds. Other forms (``"auto"``) are left to Ray.

    Args:
        address: the Ray address; only ``host:port`` and ``ray://host:port``
            (IPv6 hosts in brackets) are checked.
        timeout: seconds to wait for the TCP connection.

    Raises:
        ConnectionError: nothing accepts connections there.

    Example:
        >>> check_reachable("auto")
        >>> check_reachable("127.0.0.1:1", timeout=1)
        Traceback (most recent call last):
        ...
        ConnectionError: cannot reach Ray at '127.0.0.1:1': Connection refused
    """
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"cannot reach Ray at {address!r}: {exc.strerror or exc}") from None


def _start_ray(ray: Any, config: KlawConfig) -> bool:
    """Connect to the configured Ray, or start a local one; return whether we started it."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {
        "namespace": config.ray.namespace,
        "logging_level": logging.WARNING,
        "include_dashboard": False,
        # Failures reach the driver as exceptions; forwarded worker logs are noise here.
        "log_to_driver": False,
    }
    if config.ray.address is None:
        options["num_cpus"] = config.ray.num_cpus
    else:
        check_reachable(config.ray.address)
        options["address"] = config.ray.address
    ray.init(**options)
    return True


def run_demo(
    config: KlawConfig,
    *,
    messages: int = 200_000,
    producers: int = 2,
    queue_items: int = 2_000,
    progress: Progress | None = None,
) -> DemoReport:
    """Run the demo pipelines and return the measured runs.

    Args:
        config: Ray address/namespace, channel capacity and batch size.
        messages: messages per timed channel run and per Queue batch run.
        producers: producer actors (each sends an equal share).
        queue_items: messages of the one-call-per-item ``Queue`` run (0 skips it).
        progress: called as ``progress(label, done, total)`` while consuming.

    Returns:
        The :class:`DemoReport`.

    Raises:
        ValueError: ``messages`` or ``producers`` is below 1, or ``queue_items`` below 0.
        ImportError: Ray is not installed.
        ConnectionError: ``config.ray.address`` names a ``host:port`` that does
            not answer (see :func:`check_reachable`).
        RuntimeError: a message was lost, duplicated or reordered, or a producer failed.

    Example:
        A run starts Ray (or uses the one already connected) and takes seconds:

        >>> from klaw_core.runtime.config import load_config
        >>> report = run_demo(load_config(), messages=20_000)  # doctest: +SKIP
        >>> [(run.transport, run.api) for run in report.runs]  # doctest: +SKIP
        [('klaw Ray channel', 'send_batch / recv_batch'), ('klaw Ray channel', 'send / async for'),
         ('ray.util.queue.Queue', 'put_nowait_batch / get_nowait_batch'),
         ('ray.util.queue.Queue', 'put / get')]

        Arguments are checked before Ray is touched:

        >>> run_demo(KlawConfig(), producers=0)
        Traceback (most recent call last):
        ...
        ValueError: messages and producers must be >= 1, queue_items >= 0
    """
    if messages < 1 or producers < 1 or queue_items < 0:
        raise ValueError("messages and producers must be >= 1, queue_items >= 0")
    try:
        ray: Any = importlib.import_module("ray")
    except ModuleNotFoundError as exc:
        raise ImportError("klaw demo needs Ray: pip install 'klaw-core[ray]'") from exc
    started = _start_ray(ray, config)
    actors: list[Any] = []
    try:
        remote = ray.remote(DemoProducer)
        actors = [remote.remote(i) for i in range(producers)]
        runs = asyncio.run(_run_channel(ray, actors, config, messages, progress))
        runs += _run_queue(ray, actors, config, messages, queue_items, progress)
        if not started:
            address = "already connected"
        else:
            address = config.ray.address or "local (started by klaw demo)"
        return DemoReport(
            runs=tuple(runs),
            producers=producers,
            capacity=None if config.channels.unbounded else config.channels.capacity,
            batch_size=config.channels.batch_size,
            ray=address,
            versions={
                "klaw-core": f"{klaw_core.__version__} ({klaw_core.IMPLEMENTATION})",
                "msgspec": msgspec.__version__,
                "Ray": importlib.metadata.version("ray"),
                "Python": platform.python_version(),
            },
        )
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()

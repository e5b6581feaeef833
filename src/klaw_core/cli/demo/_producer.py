"""The producer actor of both demo pipelines: the klaw channel one and the Queue one."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from klaw_core.cli.demo._events import DemoEvent, make_event
from klaw_core.runtime.channels import Sender

__all__ = ["DemoProducer"]


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
                await sender.send(make_event(index, seq))
        else:
            for start in range(seqs.start, seqs.stop, batch):
                stop = min(start + batch, seqs.stop)
                await sender.send_batch([make_event(index, seq) for seq in range(start, stop)])
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
                await queue.put_async(make_event(index, seq))
            return count
        for start in range(seqs.start, seqs.stop, batch):
            items = [make_event(index, seq) for seq in range(start, min(start + batch, seqs.stop))]
            while True:
                try:
                    await queue.actor.put_nowait_batch.remote(items)
                    break
                except full:  # bounded like the channel: wait for room
                    await asyncio.sleep(0.001)
        return count

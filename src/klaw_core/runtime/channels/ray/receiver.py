"""``RayReceiver[T]``: the receiving end of a Ray channel: prefetch, decode, acknowledge.

Why it prefetches. A receiver keeps one ``get_frames`` call in flight while its
caller works through the previous batch, so the round trip overlaps with
decoding. Each batch is decoded with one typed decoder,
``Decoder(DataMessage[list[T]])``: validation happens here, at the receiving
boundary. A batch holding a value of the wrong type is decoded again message by
message; each bad message raises :class:`~klaw_core.runtime.errors.InvalidMessageError`
in its turn, and the good ones are delivered.

Why it acknowledges. The actor keeps every frame it handed to a receiver, and
counts it against the capacity, until the receiver reports (with its next
fetch, or an ``Ack`` envelope when it runs dry or a local sender waits for
room) how many messages it delivered in all. If the receiver dies, its lease
expires and the unacknowledged frames go to the other receivers, marked
:attr:`RayReceiver.redelivered`; closing gives them back unmarked.

Why it counts. Every sender stream numbers its messages 0, 1, 2, ... While a
receiver is the only one that ever fetched from the channel, a gap in a
stream's numbers means loss, raised as ``ChannelLostError``.

Why it reports. When Ray restarts the channel actor (a new epoch, its buffer
gone), the receiver drops what it fetched and did not deliver (the producers
replay it), starts a new session, and tells the new epoch which seq spans it
delivered, so that nothing delivered before is delivered again.

How a producer's end reads. A producer's ``WireError`` marker (closed with an
error, or lost by lease) arrives in stream order after its messages and raises
``ProducerFailedError`` / ``ProducerLostError``; the receiver then goes on.
``async for`` stops only at a clean end of channel.
"""

from __future__ import annotations

import asyncio
from typing import Any, Self, TypeVar

from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.constants import (
    ALL_RECEIVERS_CLOSED,
    LOST_DETAIL,
    RECEIVER_CLOSED,
    FrameBatch,
    PutAck,
)
from klaw_core.runtime.channels.ray.fetching import FrameFetcher
from klaw_core.runtime.channels.ray.identity import ChannelRef
from klaw_core.runtime.channels.ray.inbox import Inbox
from klaw_core.runtime.channels.ray.link import (
    ActorRestarted,
    call,
    call_blocking,
    closed_error,
    new_endpoint_id,
)
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.channels.wire import Ack
from klaw_core.runtime.errors import (
    ChannelLostError,
    EndpointClosedError,
)

__all__ = ["RayReceiver"]

T = TypeVar("T")


class RayReceiver(FrameFetcher[T]):
    """The receiving end of a Ray channel (implements :class:`~..protocols.ReferenceReceiver`).

    Create with ``channel(backend="ray", ...)`` or :class:`~.factory.RayChannel`;
    ``clone()`` for competing consumers (each message goes to exactly one).
    Values are validated against the channel's type here; a message of the
    wrong type raises :class:`~klaw_core.runtime.errors.InvalidMessageError`
    and the receiver goes on with the next one. A producer that failed or was
    lost raises ``ProducerFailedError``/``ProducerLostError`` here, after its
    messages, and the receiver goes on with the other producers' messages;
    ``async for`` stops only at the channel's clean end. Messages that a dead
    receiver had been handed come back marked: :attr:`redelivered` is true
    after receiving one of them. The receive calls and their
    first-come-first-served turns are :class:`~.receiving.ReceiveCalls`'; the
    fetching and the rejoin after a restart are :class:`~.fetching.FrameFetcher`'s.

    Example:
        >>> import asyncio
        >>> from klaw_core.runtime.channels import channel
        >>> from klaw_core.runtime.errors import InvalidMessageError
        >>> async def main() -> list[int]:
        ...     tx, rx = channel(8, backend="ray", value_type=int)
        ...     async with tx:
        ...         await tx.send_batch([1, "two", 3])  # only receivers validate
        ...     async with rx:
        ...         first = await rx.recv()
        ...         try:
        ...             await rx.recv()
        ...         except InvalidMessageError as exc:
        ...             print(exc)
        ...         return [first] + [item async for item in rx]
        >>> asyncio.run(main())
        channel 'ch-...': message seq 1 is invalid: ...Expected `int`, got `str`
        [1, 3]
    """

    __slots__ = ("__weakref__", "_acks", "_inbox")  # the fetch's state: FrameFetcher's slots

    def __init__(self, ref: ChannelRef, reader_id: int, explicit_ack: bool = False) -> None:
        super().__init__(ref, reader_id)
        link = self._link
        self._confirmed: int | None = 0 if explicit_ack else None  # explicit mode: acked total
        capacity = ref.capacity
        self._inbox = Inbox(ref.channel_id, ref.value_type)
        self._fetch: asyncio.Task[FrameBatch] | None = None
        self._epoch = link.epoch  # the actor incarnation this receiver has joined
        # What it delivered before a restart, until the new epoch has it.
        self._report = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_gen = 0
        self._reported = 0  # delivered count last reported to the actor
        self._acks: set[asyncio.Task[Any]] = set()
        # What a receiver holds counts against the capacity: fetching at most a
        # quarter of it at a time leaves senders room while it works.
        fetch = link.options.fetch_size
        self._fetch_size = fetch if capacity is None else max(1, min(fetch, capacity // 4))
        link.receivers.add(self)

    # ----------------------------------------------------------- properties

    @property
    def epoch(self) -> int:
        """The channel actor's incarnation this receiver has joined (0 until Ray restarts it).

        It goes up when the receiver reported what it delivered to a restarted actor.
        """
        return self._epoch

    @property
    def redelivered(self) -> bool:
        """Whether the message last received was handed before to a receiver that died.

        Such a message may have been delivered once already (at-least-once in
        that one case); see the "Failure semantics" guide.
        """
        return self._inbox.redelivered

    @property
    def delivered(self) -> int:
        """Messages this receiver counts as delivered: what the actor may forget.

        Handed out (or skipped as invalid) so far; in explicit acknowledgement
        mode (:meth:`ack_explicitly`), only what :meth:`ack` confirmed.
        """
        if self._confirmed is not None:
            return self._confirmed
        return self._inbox.delivered

    def ack_explicitly(self) -> Self:
        """Switch to explicit acknowledgement: only :meth:`ack` tells the actor what is done.

        Why: by default a message counts as delivered once ``recv()`` returned
        it, so if this receiver's process dies, the messages it returned since
        its last report come again to another receiver (marked
        :attr:`redelivered`). Acknowledging explicitly after processing makes
        that window exactly the messages not yet acknowledged: nothing
        acknowledged is ever delivered again. Unacknowledged messages keep
        their room in the channel, so acknowledge regularly. The mode moves
        with the receiver when it is pickled.

        Returns:
            This receiver.

        Example:
            >>> import asyncio
            >>> from klaw_core.runtime.channels import channel
            >>> async def main() -> list[int]:
            ...     tx, rx = channel(4, backend="ray", value_type=int)
            ...     rx = rx.ack_explicitly()
            ...     await tx.send(1)
            ...     await tx.close()
            ...     got = [await rx.recv()]
            ...     await rx.ack()  # processed: never delivered again
            ...     await rx.close()
            ...     return got
            >>> asyncio.run(main())
            [1]
        """
        if self._confirmed is None:
            self._confirmed = self._inbox.delivered
        return self

    async def ack(self) -> None:
        """Acknowledge every message received so far (explicit mode) and tell the actor now.

        In the default mode messages are acknowledged as they are received;
        this only reports at once.

        Raises:
            ChannelLostError: the channel actor died.
        """
        if self._confirmed is not None:
            self._confirmed = self._inbox.delivered
        delivered = self.delivered
        if delivered <= self._reported or self._closed:
            return
        self._reported = delivered
        await self._send_ack(delivered)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (move) this receiver, keeping its acknowledgement mode.

        Returns:
            What :mod:`pickle` rebuilds the copy from.
        """
        rebuild, args = super().__reduce__()
        return (rebuild, (*args, self._confirmed is not None))

    # ------------------------------------------------------------ closing

    async def close(self) -> None:
        """Close this receiver, giving back to the channel what it fetched and did not deliver.

        Idempotent. When the last receiver closes, every later send fails with
        ``ChannelClosed``.

        Raises:
            ChannelLostError: the channel actor died or lost its buffer.
        """
        if self._closed:
            return
        self._closed = True
        link = self._link
        link.receivers.discard(self)
        link.recv_line.close_for(self)  # its blocked tasks raise EndpointClosedError
        fetch = self._fetch
        self._fetch = None
        if link.lost is not None:
            _forget(fetch)
            return
        if fetch is not None:
            if not fetch.done():
                await self._wake()
            try:
                await asyncio.shield(fetch)
            except ChannelLostError:
                return
        # The actor kept everything it handed out: what was not delivered goes back.
        delivered = self.delivered
        report = self._inbox.report()
        self._inbox.clear()
        close = link.actor.close_receiver.remote
        # A report the new epoch has not had yet goes with the close (as for an old epoch).
        epoch = self._epoch if self._report is None else -1
        try:
            stats: ChannelStats | None = await call(
                link, close(self._id, delivered, self._stream, epoch, report), 0.0
            )
        except ActorRestarted:  # outcome unknown: close again, for the new epoch
            stats = await call(link, close(self._id, None, self._stream, -1, report), 0.0)
        if stats is None:
            raise link.lose(link.lost or LOST_DETAIL)
        if stats.receivers_closed:
            link.receivers_closed = True

    def _dropped(self) -> None:
        """Garbage-collected while open: close for the channel, without waiting."""
        link = self._link
        link.receivers.discard(self)
        link.actor.close_receiver.remote(self._id, self.delivered, self._stream)

    def clone(self) -> Self:
        """Return a new, open receiver on the same channel (registered with the actor).

        Blocks for one actor round trip.

        Returns:
            The new receiver; it competes with this one for messages (each
            goes to exactly one) and has its own prefetch.

        Raises:
            ChannelClosedError: this receiver is closed, or every receiver already closed.
            ChannelLostError: the channel actor died or lost its buffer.
        """
        if self._closed:
            raise EndpointClosedError(RECEIVER_CLOSED)
        link = self._link
        if link.lost is not None:
            raise ChannelLostError(link.channel_id, link.lost)
        reader_id = new_endpoint_id()
        ack: PutAck = call_blocking(link, link.actor.register_receiver.remote(reader_id))
        if ack.status == "lost":
            raise link.lose(ack.detail)
        if ack.status != "ok":
            raise closed_error(ack.status, ack.detail or ALL_RECEIVERS_CLOSED)
        link.epoch = max(link.epoch, ack.epoch)
        return type(self)(link.ref, reader_id)

    async def stats(self) -> ChannelStats:
        """Return a snapshot of the channel's counters.

        Messages fetched by receivers of this process but not yet delivered
        count as buffered (as they would in the local backend).

        Returns:
            The counters, exact for what this process sent and received
            (its senders push their batches and its receivers report first).

        Raises:
            ChannelLostError: the channel actor died or lost its buffer.
        """
        return await self._link.stats()

    def __repr__(self) -> str:
        status = "closed" if self._closed else "open"
        return (
            f"<{type(self).__name__} {status} channel={self._link.channel_id!r} "
            f"undelivered={self._inbox.undelivered}>"
        )

    # ------------------------------------------------------------ internals

    async def report(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tell the actor how many messages this receiver has delivered (if it has news).

        Fetched messages count against the channel's capacity until reported
        delivered; ``stats()`` reports first so that its counts are exact.

        Args:
            loop: the running event loop; a receiver last used on another loop,
                or closed, or with nothing new to report, makes no call.

        Raises:
            ChannelLostError: the channel actor died or did not reply.
        """
        delivered = self.delivered
        if delivered <= self._reported or self._loop is not loop or self._closed:
            return
        self._reported = delivered
        await self._send_ack(delivered)

    async def _send_ack(self, delivered: int) -> None:
        link = self._link
        ack = self._ack(delivered)
        try:
            await call(link, link.actor.ack.remote(self._id, self._stream, ack, self._epoch), 0.0)
        except ActorRestarted:
            return  # the next fetch rejoins the new epoch and reports there

    def _report_soon(self) -> None:
        """Report deliveries without waiting, one report in flight at a time.

        Called when the receiver runs dry, and while a sender of this process
        waits for room: the room this receiver made is what it waits for.
        """
        delivered = self.delivered
        if delivered <= self._reported or self._acks or self._closed:
            return
        self._reported = delivered
        task = asyncio.get_running_loop().create_task(self._send_ack(delivered))
        self._acks.add(task)  # keep it alive; errors surface on the next fetch
        task.add_done_callback(self._ack_done)

    def _ack(self, delivered: int) -> bytes:
        """An ``Ack`` envelope carrying this receiver's delivered total."""
        envelope = Ack.new(delivered, channel_id=self._link.channel_id, ts=0)
        return bytes(get_codec_pool().encode_frames([envelope]))

    def _ack_done(self, task: asyncio.Task[Any]) -> None:
        self._acks.discard(task)
        if task.cancelled() or task.exception() is not None:
            return
        if self.delivered > self._reported:
            # More was delivered while that report was on its way, and its own
            # report was held back: send it, fetch in flight or not (at end of
            # channel none follows, and the siblings' end waits for this one).
            self._report_soon()


def _forget(task: asyncio.Task[Any] | None) -> None:
    """Drop a task whose result no longer matters, without an 'exception never retrieved' log."""
    if task is None:
        return
    if task.done():
        if not task.cancelled():
            task.exception()
    else:
        task.add_done_callback(lambda t: None if t.cancelled() else t.exception())

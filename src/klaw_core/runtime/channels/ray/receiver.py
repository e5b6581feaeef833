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

How a producer's end reads. A producer's ``WireError`` marker (closed with an
error, or lost by lease) arrives in stream order after its messages and raises
``ProducerFailedError`` / ``ProducerLostError``; the receiver then goes on.
``async for`` stops only at a clean end of channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Generic, Self, TypeVar, cast

from klaw_core.result import Err, Ok, Result
from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.constants import (
    ALL_RECEIVERS_CLOSED,
    LOST_DETAIL,
    RECEIVER_CLOSED,
    FrameBatch,
    PutAck,
)
from klaw_core.runtime.channels.ray.endpoint import RayEndpoint
from klaw_core.runtime.channels.ray.identity import ChannelRef
from klaw_core.runtime.channels.ray.inbox import NOTHING, Inbox
from klaw_core.runtime.channels.ray.link import call, call_blocking, closed_error, new_endpoint_id
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.channels.wire import Ack
from klaw_core.runtime.errors import (
    ChannelClosed,
    ChannelClosedError,
    ChannelEmpty,
    ChannelEndedError,
    ChannelLostError,
    EndpointClosedError,
)

__all__ = ["RayReceiver"]

T = TypeVar("T")

_EMPTY: Err[ChannelEmpty] = Err(ChannelEmpty())

#: A batch of at least this many messages has the next fetch submitted at once.
_PREFETCH_AT_ONCE = 1024


class RayReceiver(RayEndpoint, Generic[T]):
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
    after receiving one of them.

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

    __slots__ = (
        "__weakref__",
        "_acks",
        "_confirmed",
        "_fetch",
        "_fetch_size",
        "_inbox",
        "_loop",
        "_reported",
        "_wake_gen",
    )

    def __init__(self, ref: ChannelRef, reader_id: int, explicit_ack: bool = False) -> None:
        super().__init__(ref, reader_id)
        link = self._link
        self._confirmed: int | None = 0 if explicit_ack else None  # explicit mode: acked total
        capacity = ref.capacity
        self._inbox = Inbox(ref.channel_id, ref.value_type)
        self._fetch: asyncio.Task[FrameBatch] | None = None
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
        link = self._link
        await call(link, link.actor.ack.remote(self._id, self._stream, self._ack(delivered)), 0.0)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (move) this receiver, keeping its acknowledgement mode.

        Returns:
            What :mod:`pickle` rebuilds the copy from.
        """
        rebuild, args = super().__reduce__()
        return (rebuild, (*args, self._confirmed is not None))

    # ------------------------------------------------------------ receiving

    async def recv(self) -> T:
        """Receive the next message, waiting while the channel is empty.

        Returns at once while prefetched messages remain; otherwise waits for
        the next batch from the actor.

        Returns:
            The next message, validated against the channel's type.

        Raises:
            ChannelClosedError: end of channel (every sender closed and the
                channel drained), or this receiver is closed.
            InvalidMessageError: the next message does not match the channel's
                type (it is skipped; call again for the following ones).
            ChannelLostError: messages were lost, or the channel actor died.
        """
        inbox = self._inbox
        pos = inbox.pos
        items = inbox.items
        if pos < len(items) and not (inbox.bad or inbox.dupes or inbox.deferred or self._closed):
            inbox.pos = pos + 1
            if self._link.starved:
                self._report_soon()
            return cast(T, items[pos])
        while True:
            item = self._next_local()
            if item is not NOTHING:
                return cast(T, item)
            await self._refill(None)

    async def try_recv(self) -> Result[T, ChannelEmpty | ChannelClosed]:
        """Receive the next message if one is available now.

        Messages still in a sender of this process count as available (they are
        flushed first); messages of other processes count once stored in the actor.

        Returns:
            ``Ok(item)``, ``Err(ChannelEmpty())`` or ``Err(ChannelClosed(reason))``.

        Raises:
            InvalidMessageError: the next message does not match the channel's type.
            ChannelLostError: messages were lost, or the channel actor died.
        """
        polled = False
        while True:
            try:
                item = self._next_local()
            except ChannelClosedError as exc:
                return Err(exc.to_struct())
            if item is not NOTHING:
                return Ok(cast(T, item))
            if polled:
                return _EMPTY
            await self._poll_now()
            polled = True

    async def recv_batch(self, max_items: int, timeout: float | None = None) -> list[T]:
        """Wait (up to ``timeout`` s) for a message, then take up to ``max_items`` available ones.

        "Available" means already fetched by this receiver: the batch never
        waits for another actor call once it has its first message.

        Args:
            max_items: the most messages to return, at least 1.
            timeout: seconds to wait for the first message; ``None`` waits
                indefinitely, ``0`` asks the actor once without waiting (after
                pushing what senders of this process hold).

        Returns:
            A new list of 1 to ``max_items`` messages, or ``[]`` if ``timeout``
            elapsed first. It stops before an invalid message, which the next
            call raises.

        Raises:
            ChannelClosedError: end of channel, or this receiver is closed.
            ValueError: ``max_items < 1`` or ``timeout < 0``.
            InvalidMessageError: the next message does not match the channel's type.
            ChannelLostError: messages were lost, or the channel actor died.
        """
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be >= 0 or None, got {timeout}")
        first = self._next_local()
        if first is NOTHING:
            if timeout == 0:
                await self._poll_now()
            elif not await self._refill(timeout):
                return []
            first = self._next_local()
            if first is NOTHING:
                return []
        out: list[T] = [cast(T, first)]
        inbox = self._inbox
        while not inbox.take(out, max_items):
            if inbox.deferred is not None or inbox.bad or not self._take_done_fetch():
                break
        if self._link.starved:
            self._report_soon()
        return out

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
        self._inbox.clear()
        stats: ChannelStats | None = await call(
            link, link.actor.close_receiver.remote(self._id, delivered, self._stream), 0.0
        )
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

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        inbox = self._inbox
        pos = inbox.pos
        items = inbox.items
        if pos < len(items) and not (inbox.bad or inbox.dupes or inbox.deferred or self._closed):
            inbox.pos = pos + 1
            if self._link.starved:
                self._report_soon()
            return cast(T, items[pos])
        try:
            return await self.recv()
        except ChannelEndedError:
            raise StopAsyncIteration from None

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
        link = self._link
        await call(link, link.actor.ack.remote(self._id, self._stream, self._ack(delivered)), 0.0)

    def _report_soon(self) -> None:
        """Report deliveries without waiting, one report in flight at a time.

        Called when the receiver runs dry, and while a sender of this process
        waits for room: the room this receiver made is what it waits for.
        """
        delivered = self.delivered
        if delivered <= self._reported or self._acks or self._closed:
            return
        self._reported = delivered
        link = self._link
        task = asyncio.get_running_loop().create_task(
            call(link, link.actor.ack.remote(self._id, self._stream, self._ack(delivered)), 0.0)
        )
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
        if self.delivered > self._reported and (self._link.starved or self._fetch is not None):
            self._report_soon()  # more was delivered while that report was on its way

    def _next_local(self) -> object:
        """Return the next locally available message, or ``NOTHING``; raise what is due."""
        if self._closed:
            raise EndpointClosedError(RECEIVER_CLOSED)
        inbox = self._inbox
        while True:
            item = inbox.next()
            if item is not NOTHING:
                return item
            if self._take_done_fetch():
                continue
            if inbox.eof is not None:
                self._report_soon()  # others wait at the end until this one's batch is acked
                raise ChannelEndedError(inbox.eof)
            return NOTHING

    def _take_done_fetch(self) -> bool:
        """Accept the in-flight fetch's result if it already arrived; True if it brought frames."""
        fetch = self._fetch
        if fetch is None or not fetch.done():
            return False
        self._fetch = None
        if fetch.cancelled():  # its event loop ended while it waited
            return False
        batch = fetch.result()
        self._accept(batch)
        return batch.status == "ok"

    async def _refill(self, timeout: float | None) -> bool:
        """Wait for the next batch (at most ``timeout`` s); True once one has arrived."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        link = self._link
        while True:
            if self._closed:
                raise EndpointClosedError(RECEIVER_CLOSED)
            if self._inbox.eof is not None:
                return True  # _next_local raises end of channel
            if link.lost is not None:
                raise ChannelLostError(link.channel_id, link.lost + self._inbox.last_seen())
            self._drop_stale_fetch()
            fetch = self._fetch
            if fetch is None:
                fetch = self._fetch = self._start_fetch(once=False)
            if not fetch.done():
                self._report_soon()
                if deadline is None:
                    await asyncio.shield(fetch)
                else:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        return False
                    try:
                        await asyncio.wait_for(asyncio.shield(fetch), remaining)
                    except TimeoutError:
                        return False
            if self._fetch is not fetch:  # taken meanwhile (by close(), or another caller)
                continue
            if self._closed:
                raise EndpointClosedError(RECEIVER_CLOSED)
            if self._take_done_fetch():
                return True

    async def _poll_now(self) -> None:
        """Fetch whatever the channel holds right now, without waiting for more."""
        link = self._link
        await link.push_local_senders()
        self._drop_stale_fetch()
        fetch = self._fetch
        if fetch is None:
            fetch = self._fetch = self._start_fetch(once=True)
        elif not fetch.done():
            await self._wake()
        await asyncio.shield(fetch)
        if self._fetch is fetch and not self._closed:
            self._take_done_fetch()

    def _drop_stale_fetch(self) -> None:
        """Forget a fetch left unfinished by an event loop that has ended."""
        fetch = self._fetch
        if fetch is not None and not fetch.done() and self._loop is not asyncio.get_running_loop():
            self._fetch = None

    async def _wake(self) -> None:
        self._wake_gen += 1
        link = self._link
        await call(link, link.actor.wake_reader.remote(self._id, self._wake_gen), 0.0)

    def _start_fetch(self, *, once: bool, prefetch: int = 0) -> asyncio.Task[FrameBatch]:
        """Start the next fetch; ``prefetch``: messages just accepted (0: none, the caller waits).

        Why the two prefetch cases: after a large batch, the call is made at
        once so that its round trip overlaps with delivering the batch (the
        caller may not yield to the event loop until the batch is done);
        after a few messages, it is made only once the caller has taken them,
        so its submission (a few hundred microseconds) is not on one
        message's latency.
        """
        loop = asyncio.get_running_loop()
        self._loop = loop
        generation = self._wake_gen
        wait = 0.0 if once else self._link.options.poll_interval
        ref = self._get(wait, generation) if prefetch >= _PREFETCH_AT_ONCE else None
        return loop.create_task(self._fetch_loop(generation, once, wait, ref, prefetch > 0))

    def _get(self, wait: float, generation: int) -> Any:
        """Submit one ``get_frames`` call, reporting what was delivered so far."""
        delivered = self.delivered
        self._reported = max(self._reported, delivered)
        return self._link.actor.get_frames.remote(
            self._id,
            self._stream,
            self._fetch_size,
            wait,
            generation,
            delivered,
            self._inbox.received,
        )

    async def _fetch_loop(
        self, generation: int, once: bool, wait: float, ref: Any, after_caller: bool
    ) -> FrameBatch:
        link = self._link
        if ref is None and after_caller:
            await asyncio.sleep(0)  # the caller takes the messages first
        while True:
            if ref is None:
                ref = self._get(wait, generation)
            try:
                batch: FrameBatch = await call(link, ref, wait)
            except ChannelLostError as exc:
                raise ChannelLostError(exc.channel, exc.detail + self._inbox.last_seen()) from exc
            ref = None
            if batch.status != "empty" or once or self._wake_gen > generation:
                return batch

    def _accept(self, batch: FrameBatch) -> None:
        if self._inbox.accept(batch):
            if not self._closed and self._fetch is None:  # keep one call in flight
                self._fetch = self._start_fetch(once=False, prefetch=max(1, sum(batch.counts)))
        elif batch.status == "lost":
            raise self._link.lose(f"{batch.detail}{self._inbox.last_seen()}")


def _forget(task: asyncio.Task[Any] | None) -> None:
    """Drop a task whose result no longer matters, without an 'exception never retrieved' log."""
    if task is None:
        return
    if task.done():
        if not task.cancelled():
            task.exception()
    else:
        task.add_done_callback(lambda t: None if t.cancelled() else t.exception())

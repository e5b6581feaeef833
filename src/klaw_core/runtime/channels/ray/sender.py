"""``RaySender[T]``: the sending end of a Ray channel, in frames, with natural batching.

Why it batches. One Ray actor call costs about a millisecond, and msgspec
encodes a *list* of small structs several times faster per message than the
same structs one call at a time. So a sender keeps the values it is given in a
local batch and sends the batch as **one frame holding one**
``DataMessage[list[T]]`` (``header.seq`` is the first message's sequence
number) in **one** actor call. The batching is *natural*: a batch leaves at
once when no call of this sender is in flight, and grows only while one is, so
a lone message pays one round trip and a fast producer fills batches by itself
(``linger`` adds a fixed wait, off by default). One call is in flight per
sender, which keeps its messages in order and makes a full channel (the actor
holds the call until there is room, first come first served) slow the
producer down.

Why it remembers. The sender knows the first seq the actor has not confirmed
stored; when the actor dies, the :class:`~klaw_core.runtime.errors.ChannelLostError`
it raises names the exact range it accepted and lost. The batch in flight and
the one forming share one budget of ``batch_size`` messages, so that range is
at most one batch, and once the actor is dead ``send()`` fails within one
round trip (the answer to the batch in flight).

How it ends. ``close()`` sends a ``ControlMessage`` close; ``close(error=exc)``
(and ``async with`` left by an exception) a ``WireError``, which receivers
raise as ``ProducerFailedError`` after its messages. A sender dropped without
``close()`` warns (``ResourceWarning``) and is closed for the channel; a
sender whose process dies stops heart-beating and is declared lost by lease.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from klaw_core.result import Err, Ok, Result
from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.constants import (
    ALL_RECEIVERS_CLOSED,
    ALL_SENDERS_CLOSED,
    LOST_DETAIL,
    SENDER_CLOSED,
    PutAck,
)
from klaw_core.runtime.channels.ray.endpoint import RayEndpoint
from klaw_core.runtime.channels.ray.identity import ChannelRef
from klaw_core.runtime.channels.ray.link import (
    call,
    call_blocking,
    closed_error,
    new_endpoint_id,
)
from klaw_core.runtime.channels.ray.outbox import Outbox
from klaw_core.runtime.channels.ray.store import PRODUCER_FAILED
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.channels.wire import (
    ControlAction,
    ControlMessage,
    WireError,
)
from klaw_core.runtime.errors import (
    ChannelClosed,
    ChannelClosedError,
    ChannelError,
    ChannelFull,
    ChannelLostError,
    EndpointClosedError,
    ReceiversClosedError,
)

__all__ = ["RaySender"]

T = TypeVar("T")

_OK_NONE: Ok[None] = Ok(None)


class RaySender(RayEndpoint, Generic[T]):
    """The sending end of a Ray channel (implements :class:`~..protocols.ReferenceSender`).

    Create with ``channel(backend="ray", ...)`` or :class:`~.factory.RayChannel`;
    ``clone()`` for more producers (one per Ray task). ``send`` returns once
    the value is in the local batch; the batch leaves at once when no call of
    this sender is in flight (natural batching), and ``flush()``/``close()``
    wait until it is stored. ``close(error=exc)``, or leaving ``async with`` by
    an exception, ends the producer as failed: receivers raise
    ``ProducerFailedError`` after its messages. Close
    (or flush) before the event loop ends: a batch still held locally when the
    loop stops waits for a later ``flush()``/``close()``. Like the local
    backend, an endpoint is used from one event loop at a time, not from
    several threads.

    Example:
        >>> import asyncio
        >>> from klaw_core.runtime.channels import channel
        >>> async def main() -> list[int]:
        ...     tx, rx = channel(2, backend="ray", value_type=int)
        ...     await tx.send(1)
        ...     full = await tx.try_send(2), await tx.try_send(3)
        ...     await tx.close()
        ...     print(full)
        ...     async with rx:
        ...         return [item async for item in rx]
        >>> asyncio.run(main())
        (Ok(value=None), Err(error=ChannelFull(capacity=2)))
        [1, 2]
    """

    __slots__ = (
        "__weakref__",
        "_error",
        "_inflight_ref",
        "_linger",
        "_loop",
        "_outbox",
        "_pump",
        "_replies",
        "_space",
        "_space_loop",
        "_waiting_room",
    )

    def __init__(self, ref: ChannelRef, sender_id: int, first_seq: int = 0) -> None:
        super().__init__(ref, sender_id)
        link = self._link
        capacity = ref.capacity
        opts = link.options
        limit = opts.batch_size if capacity is None else min(opts.batch_size, capacity)
        self._outbox: Outbox[T] = Outbox(
            ref.channel_id,
            limit=limit,
            batch_bytes=opts.batch_bytes,
            max_frame_size=opts.max_frame_size,
            first_seq=first_seq,
        )
        self._inflight_ref: Any = None  # the put in flight, kept across event loops
        self._pump: asyncio.Task[None] | None = None
        self._replies = 0
        self._waiting_room = False  # the batch in flight was refused for lack of room
        self._linger: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._space: asyncio.Event | None = None
        self._space_loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        link.senders.add(self)

    # ----------------------------------------------------------- properties

    @property
    def held(self) -> int:
        """Values in the local batch, not yet handed to an actor call (0 once failed)."""
        if self._error is not None or self._closed:
            return 0
        return len(self._outbox.pending)

    # ------------------------------------------------------------- sending

    async def send(self, value: T) -> None:
        """Add ``value`` to the batch, waiting while the channel has no room for it.

        Returns without a round trip while the channel has room and the
        batch in flight and the one forming hold fewer than ``batch_size``
        messages together (at most one batch is ever at risk): the batch
        leaves at once when no call is in flight, else when that call returns.

        Args:
            value: the item; it is encoded when its batch leaves, and validated
                against the channel's type only by the receiver.

        Raises:
            ChannelClosedError: every receiver is closed, or this sender is.
            ChannelLostError: the channel actor died or lost its buffer.
            TypeError: a value sent earlier could not be encoded (it was
                dropped; raised once, by the next call).
        """
        link = self._link
        outbox = self._outbox
        pending = outbox.pending
        if (
            link.credit > 0
            and len(pending) + outbox.in_flight_count < outbox.max_items  # loss bound
            and link.lost is None
            and not link.receivers_closed
            and not self._closed
            and self._error is None
        ):
            pending.append(value)
            link.credit -= 1
            # Usually a call is in flight (it takes the batch when it returns)
            # or the linger timer is set: nothing to do.
            pump = self._pump
            if (pump is None or pump.done()) and (
                self._linger is None or len(pending) >= self._outbox.max_items
            ):
                self._kick()
            return
        while True:
            self._check()
            if link.credit > 0 and outbox.space() > 0:
                break
            await self._make_room()
        self._outbox.pending.append(value)
        link.credit -= 1
        self._kick()

    async def try_send(self, value: T) -> Result[None, ChannelFull | ChannelClosed]:
        """Add ``value`` to the batch unless the channel is full.

        Fullness is exact within a process (all its senders share one credit,
        and an exhausted credit is checked with the actor); a sender in another
        process may have used room that this one has not heard of yet, in which
        case the batch waits in the actor.

        Args:
            value: the item, as for :meth:`send`.

        Returns:
            ``Ok(None)`` when added to the batch, ``Err(ChannelFull(capacity))``
            when the channel is full, ``Err(ChannelClosed(reason))`` when every
            receiver (or this sender) is closed. Nothing is added on ``Err``.

        Raises:
            ChannelLostError: the channel actor died or lost its buffer.
        """
        try:
            self._check()
        except ChannelClosedError as exc:
            return Err(exc.to_struct())
        link = self._link
        if (link.credit <= 0 or self._outbox.space() <= 0) and self._pump_alive():
            await self._next_reply()  # the batch in flight tells whether it fitted
        if link.credit <= 0:
            await link.report_local_receivers()
            ack: PutAck = await call(link, link.actor.wait_room.remote(0.0), 0.0)
            try:
                self._room_from(ack)
            except ChannelClosedError as exc:
                return Err(exc.to_struct())
            if link.credit <= 0:
                return Err(ChannelFull(link.capacity))
        if self._outbox.space() <= 0:  # the batch in flight waits in the actor for room
            return Err(ChannelFull(link.capacity))
        self._outbox.pending.append(value)
        link.credit -= 1
        self._kick()
        return _OK_NONE

    async def send_batch(self, values: Iterable[T]) -> None:
        """Send every item of ``values`` in order, waiting for room as needed.

        Items go into the local batch as many at a time as there is credit and
        batch space for, so a long input becomes a few large frames.

        Args:
            values: the items; an iterator or generator is read lazily, only
                as fast as the channel has room (so an endless one works).

        Raises:
            ChannelClosedError: every receiver is closed, or this sender is.
                Items before the first one that did not fit have been sent.
            ChannelLostError: the channel actor died or lost its buffer.
        """
        link = self._link
        outbox = self._outbox
        self._check()
        if isinstance(values, list | tuple):
            items: Sequence[T] = values
            total = len(items)
            start = 0
            while start < total:
                self._check()
                room = min(link.credit, outbox.space())
                if room <= 0:
                    await self._make_room()
                    continue
                stop = min(total, start + room)
                outbox.pending.extend(items[start:stop])
                link.credit -= stop - start
                start = stop
                self._kick()
            return
        source = iter(values)  # lazy: read only as room frees up (an endless one works)
        while True:
            self._check()
            room = min(link.credit, outbox.space())
            if room <= 0:
                await self._make_room()
                continue
            before = len(outbox.pending)
            outbox.pending.extend(itertools.islice(source, room))
            taken = len(outbox.pending) - before
            link.credit -= taken
            self._kick()
            if taken < room:
                return

    async def flush(self) -> None:
        """Send what the local batch holds and wait until the actor has stored it.

        Raises:
            ChannelClosedError: the batch could not be delivered because every
                receiver is closed.
            ChannelLostError: the channel actor died or lost its buffer.
            TypeError: a value could not be encoded (it was dropped; the
                others were sent).
        """
        await self.drain()
        self._raise_stored()
        link = self._link
        if link.lost is not None:
            raise self._lost_error()
        if self._outbox.pending and link.receivers_closed:
            self._outbox.pending.clear()  # nobody can ever receive them
            raise ReceiversClosedError(ALL_RECEIVERS_CLOSED)

    async def close(self, error: BaseException | None = None) -> None:
        """Flush, then close this sender; with ``error``, as a failed producer. Idempotent.

        When the last sender closes, receivers get what is buffered, then end
        of channel. With ``error``, a ``WireError`` envelope follows this
        sender's messages: the receiver that reaches it raises
        :class:`~klaw_core.runtime.errors.ProducerFailedError` naming this
        producer and the error's type and message.

        Args:
            error: why the producer failed; ``None`` for a clean close.

        Raises:
            ReceiversClosedError: the final batch could not be delivered (no receivers).
            ChannelLostError: the channel actor died or lost its buffer.
        """
        if self._closed:
            return
        failure: Exception | None = None
        try:
            await self.flush()
        except (ChannelError, TypeError, ValueError) as exc:
            failure = exc
        self._closed = True
        self._cancel_linger()
        link = self._link
        link.senders.discard(self)
        if link.lost is None:
            try:
                stats: ChannelStats | None = await call(
                    link, link.actor.close_sender.remote(self._id, self._close_frame(error)), 0.0
                )
                if stats is None:
                    raise link.lose(link.lost or LOST_DETAIL)
            except ChannelLostError as exc:
                if failure is None:
                    failure = exc
        if failure is not None:
            raise failure

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close(error=exc)

    def _close_frame(self, error: BaseException | None) -> bytes:
        """The control envelope that ends this producer: a close, or a ``WireError``."""
        channel_id = self._link.channel_id
        envelope: ControlMessage | WireError
        if error is None:
            envelope = ControlMessage.new(ControlAction.CLOSE, channel_id=channel_id)
        else:
            envelope = WireError.new(
                PRODUCER_FAILED,
                str(error),
                details={
                    "producer": self._id,
                    "error_type": type(error).__name__,
                    "error_message": str(error),
                },
                channel_id=channel_id,
            )
        return bytes(get_codec_pool().encode_frames([envelope]))

    def _dropped(self) -> None:
        """Garbage-collected while open: close for the channel, without waiting."""
        link = self._link
        link.senders.discard(self)
        link.actor.close_sender.remote(self._id, self._close_frame(None))

    def _lost_error(self) -> ChannelLostError:
        """The channel-lost error, naming the seqs this sender accepted and could not store."""
        link = self._link
        return ChannelLostError(link.channel_id, link.lost or LOST_DETAIL, self._outbox.lost())

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (move) this sender: the copy keeps its id and goes on with its seqs.

        Why: the copy's seq stream is this sender's, so the same pickled bytes
        unpickled again (Ray re-running a task, restarting an actor) send the
        same ``(sender, seq)`` pairs, and the channel stores each once.

        Returns:
            What :mod:`pickle` rebuilds the copy from.
        """
        following = self._outbox.following_seq()
        rebuild, args = super().__reduce__()
        return (rebuild, (*args, following))

    def clone(self) -> Self:
        """Return a new, open sender on the same channel (registered with the actor).

        Blocks for one actor round trip.

        Returns:
            The new sender, with its own batch and its own stream of sequence
            numbers; the channel does not end before it is closed too.

        Raises:
            ChannelClosedError: this sender is closed, or every sender already
                closed (the channel has ended).
            ChannelLostError: the channel actor died or lost its buffer.
        """
        if self._closed:
            raise EndpointClosedError(SENDER_CLOSED)
        link = self._link
        if link.lost is not None:
            raise ChannelLostError(link.channel_id, link.lost)
        sender_id = new_endpoint_id()
        ack: PutAck = call_blocking(link, link.actor.register_sender.remote(sender_id))
        if ack.status == "lost":
            raise link.lose(ack.detail)
        if ack.status != "ok":
            raise closed_error(ack.status, ack.detail or ALL_SENDERS_CLOSED)
        return type(self)(link.ref, sender_id)

    async def stats(self) -> ChannelStats:
        """Return a snapshot of the channel's counters (after flushing local senders).

        Returns:
            The counters, exact for what this process sent and received:
            values still batched here are pushed to the actor first, and
            messages fetched but not yet delivered count as buffered.

        Raises:
            ChannelLostError: the channel actor died or lost its buffer.
        """
        return await self._link.stats()

    def __repr__(self) -> str:
        status = "closed" if self._closed else "open"
        return (
            f"<{type(self).__name__} {status} channel={self._link.channel_id!r} "
            f"held={len(self._outbox.pending)}>"
        )

    # ------------------------------------------------------------ internals

    async def push(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send the local batch and wait for the actor's first answer to it (one round trip).

        Does nothing unless this sender works on ``loop``, and does not wait
        while its batch is already waiting in the actor for room: a receiver of
        this process calls it, and only that receiver may be able to make room.
        Failures are kept for this sender's next call to raise.

        Args:
            loop: the running event loop; a sender last used on another loop
                (whose tasks cannot be awaited here) is left alone.
        """
        if self._loop is not loop:
            return
        if (self._outbox.pending or self._outbox.in_flight) and not self._pump_alive():
            if self._error is not None or not self._link.usable:
                return
            self._start_pump()
        if self._pump is not None and not self._waiting_room:
            await self._next_reply()

    async def drain(self) -> None:
        """Wait until the local batch is stored by the actor; never raises a stored error."""
        while True:
            if (self._outbox.pending or self._outbox.in_flight) and not self._pump_alive():
                if self._error is not None or not self._link.usable:
                    return
                self._start_pump()
            pump = self._pump
            if pump is None:
                return
            await asyncio.shield(pump)

    def _check(self) -> None:
        if self._closed:
            raise EndpointClosedError(SENDER_CLOSED)
        self._raise_stored()
        link = self._link
        if link.lost is not None:
            raise self._lost_error()
        if link.receivers_closed:
            raise ReceiversClosedError(ALL_RECEIVERS_CLOSED)

    def _raise_stored(self) -> None:
        error = self._error
        if error is not None:
            self._error = None
            raise error

    def _pump_alive(self) -> bool:
        """Whether a pump task is running; forgets one that its event loop ended.

        ``asyncio.run`` cancels a pump that had not started yet when its loop
        ends; its batch is still in ``_pending`` and leaves with the next pump.
        """
        pump = self._pump
        if pump is None:
            return False
        if pump.done() or self._loop is not asyncio.get_running_loop():
            self._pump = None
            self._set_waiting_room(False)
            return False
        return True

    def _kick(self) -> None:
        """Make sure the local batch will leave: now if full, else after the linger."""
        if self._pump_alive():
            return
        pending = len(self._outbox.pending)
        if not pending:
            return
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a timer of a finished loop never fires
            self._linger = None
        linger = self._link.options.linger
        if pending >= self._outbox.max_items or self._link.credit <= 0 or linger <= 0:
            self._start_pump()
        elif self._linger is None:
            self._loop = loop
            self._linger = loop.call_later(linger, self._on_linger)

    def _on_linger(self) -> None:
        self._linger = None
        if self._outbox.pending and self._pump is None and self._link.usable:
            self._start_pump()

    def _cancel_linger(self) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None

    def _start_pump(self) -> None:
        self._cancel_linger()
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._pump = loop.create_task(self._run_pump())

    def _notify(self) -> None:
        if self._space is not None:
            self._space.set()

    def _event(self) -> asyncio.Event:
        """The event the pump sets on progress, for the running loop."""
        loop = asyncio.get_running_loop()
        if self._space is None or self._space_loop is not loop:
            self._space = asyncio.Event()
            self._space_loop = loop
        return self._space

    async def _next_reply(self) -> None:
        """Wait for the next answer to this sender's batch in flight (one round trip at most)."""
        replies = self._replies
        while self._pump is not None and self._replies == replies:
            event = self._event()
            event.clear()
            await event.wait()

    def _set_waiting_room(self, waiting: bool) -> None:
        if waiting != self._waiting_room:
            self._waiting_room = waiting
            self._link.starved += 1 if waiting else -1

    async def _make_room(self) -> None:
        """Wait until the batch has space and the channel has credit (or an error)."""
        outbox = self._outbox
        if (outbox.pending or outbox.in_flight) and not self._pump_alive():
            self._start_pump()
        if self._pump is not None:
            event = self._event()
            event.clear()
            await event.wait()
            return
        link = self._link
        await link.report_local_receivers()  # room they made and did not tell yet
        wait = link.options.poll_interval
        link.starved += 1  # meanwhile, local receivers tell as soon as they make room
        try:
            ack: PutAck = await call(link, link.actor.wait_room.remote(wait), wait)
        finally:
            link.starved -= 1
        self._room_from(ack)
        if ack.status == "ok" and link.credit <= 0:
            # The actor has room, but the local batches of sibling senders are
            # due to take it: let them go first instead of asking again at once.
            await link.push_local_senders()

    def _room_from(self, ack: PutAck) -> None:
        link = self._link
        status = ack.status
        if status == "ok":
            link.set_room(ack.room)
        elif status == "full":
            link.credit = 0
        elif status == "lost":
            raise link.lose(ack.detail)
        else:
            error = closed_error(status, ack.detail or ALL_RECEIVERS_CLOSED)
            if isinstance(error, ReceiversClosedError):
                link.receivers_closed = True
            raise error

    async def _run_pump(self) -> None:
        try:
            outbox = self._outbox
            if outbox.in_flight is not None:  # a call its event loop abandoned: its answer first
                await self._store(*outbox.in_flight, self._inflight_ref)
            while outbox.pending and self._error is None:
                data, count = outbox.take()
                if outbox.error is not None and self._error is None:
                    self._error, outbox.error = outbox.error, None
                self._notify()
                if count:
                    await self._store(data, count, None)
                self._notify()
        except ChannelLostError:  # kept for the next call, naming what was accepted and lost
            self._error = self._lost_error()
            self._outbox.pending.clear()
        except Exception as exc:  # kept for the next send/flush/close to raise
            self._error = exc
            self._outbox.pending.clear()
        finally:
            self._pump = None
            self._set_waiting_room(False)
            self._notify()

    async def _store(self, data: bytes, count: int, ref: Any) -> None:
        """Put one encoded batch until the actor stores it (``ref``: a call already made)."""
        link = self._link
        put = link.actor.put_frames.remote
        # The first attempt does not wait in the actor, so every batch gets an
        # answer ("stored" or "full") within one round trip: try_send relies on
        # it to tell a full channel from one that is merely busy.
        wait = 0.0
        while True:
            if ref is None:
                ref = put(data, count, self._id, self._stream, wait)
            # Kept until answered: if this loop ends meanwhile, the next pump
            # waits for this answer before sending more (one call in flight).
            self._inflight_ref = ref
            ack: PutAck = await call(link, ref, wait)
            self._inflight_ref = ref = None
            self._replies += 1
            if ack.status != "full":
                self._set_waiting_room(False)
                if ack.status == "ok":
                    self._outbox.confirm()
                self._room_from(ack)
                self._notify()
                return
            self._set_waiting_room(True)
            link.credit = 0
            self._notify()
            wait = link.options.poll_interval

"""``RaySender[T]`` and ``RayReceiver[T]``: channel endpoints that talk to a Ray actor in frames.

Why they batch. One Ray actor call costs about a millisecond, and msgspec
encodes or decodes a *list* of small structs several times faster per message
than the same structs one call at a time. So a sender keeps the values it is
given in a local batch and sends the batch as **one frame holding one**
``DataMessage[list[T]]`` (``header.seq`` is the first message's sequence
number) in **one** actor call. A batch leaves when it is full (``batch_size``
messages, fewer for large messages: about ``batch_bytes``), after a short
``linger`` when traffic is light, as soon as the previous call returned when
traffic is heavy, and on ``flush()``/``close()``. One call is in flight per
sender at a time, which keeps the sender's messages in order and makes a full
channel (the actor holds the call until there is room) slow the producer down.

Why they prefetch. A receiver keeps one ``get_frames`` call in flight while its
caller works through the previous batch, so the round trip overlaps with
decoding. What a receiver fetched still counts against the channel's capacity
until it reports it delivered (with its next fetch, when it runs dry, or at
once while a sender of its own process waits for room), so the channel never
holds more than its capacity, prefetched messages included. Each batch is decoded with one typed decoder,
``Decoder(DataMessage[list[T]])``: validation happens here, at the receiving
boundary. A batch holding a value of the wrong type is decoded again message by
message; each bad message raises :class:`~klaw_core.runtime.errors.InvalidMessageError`
(naming the channel and the message's sequence number) in its turn, and the
good ones are delivered.

Why they count. Every sender stream numbers its messages 0, 1, 2, ... While a
receiver is the only one that ever fetched from the channel, it sees every
message, so a gap in a stream's numbers means messages were lost, and it raises
:class:`~klaw_core.runtime.errors.ChannelLostError` saying which. A dead actor,
or one restarted after a crash (its buffer is gone), also raises
``ChannelLostError`` from every call, within seconds.

Endpoints pickle as their own class with the actor handle, the value type and
their ids, and rebuild their codec where they land: pass them to Ray tasks and
actors. Pickling moves the endpoint rather than copying it: ``clone()`` once
per task, and close each copy once.

Close endpoints (``async with`` does it). A sender's close pushes its last
batch and lets the channel end; a receiver's close gives back to the channel
what it fetched and did not deliver. A receiver abandoned while a fetch is in
flight (its event loop ended) cannot give back the batch that fetch took.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from itertools import islice
from typing import Any, Generic, Self, TypeVar, cast

import msgspec

from klaw_core._wirecore import encode_frames, peek_header
from klaw_core.result import Err, Ok, Result
from klaw_core.runtime.channels.codec import decode_with, get_codec_pool
from klaw_core.runtime.channels.protocols import ClosesOnExit
from klaw_core.runtime.channels.ray.constants import FrameBatch, PutAck
from klaw_core.runtime.channels.ray.link import (
    ALL_RECEIVERS_CLOSED,
    ALL_SENDERS_CLOSED,
    LOST_DETAIL,
    RECEIVER_CLOSED,
    SENDER_CLOSED,
    Link,
    RayChannelOptions,
    call,
    call_blocking,
    check_portable,
    closed_error,
    get_link,
    new_endpoint_id,
)
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.channels.wire import (
    WIRE_SCHEMA_VERSION,
    DataMessage,
    MessageKind,
    WireHeader,
    now_ms,
)
from klaw_core.runtime.errors import (
    ChannelClosed,
    ChannelClosedError,
    ChannelEmpty,
    ChannelEndedError,
    ChannelError,
    ChannelFull,
    ChannelLostError,
    EndpointClosedError,
    InvalidMessageError,
    KlawWireError,
    ReceiversClosedError,
)

__all__ = ["RayReceiver", "RaySender"]

T = TypeVar("T")

_OK_NONE: Ok[None] = Ok(None)
_EMPTY: Err[ChannelEmpty] = Err(ChannelEmpty())


class _RayEndpoint(ClosesOnExit):
    """What both Ray endpoints share: ``async with`` closes, and pickling
    rebuilds the endpoint by its public class from its link and id."""

    __slots__ = ("_id", "_link", "_stream")

    _link: Link
    _id: int
    _stream: int

    def _join(
        self,
        actor: Any,
        channel_id: str,
        endpoint_id: int,
        capacity: int | None,
        value_type: Any,
        name: str | None,
        namespace: str | None,
        options: RayChannelOptions | None,
    ) -> Link:
        """Take this process's link to the channel actor, an id and a fresh stream."""
        link = get_link(
            actor,
            channel_id,
            capacity=capacity,
            value_type=value_type,
            name=name,
            namespace=namespace,
            options=options or RayChannelOptions(),
        )
        self._link = link
        self._id = endpoint_id
        self._stream = new_endpoint_id()
        return link

    def __reduce__(self) -> tuple[Any, ...]:
        check_portable(self._link.value_type)
        return (type(self), self._link.endpoint_args(self._id))


class RaySender(_RayEndpoint, Generic[T]):
    """The sending end of a Ray channel (implements :class:`~..protocols.ReferenceSender`).

    Create with ``channel(backend="ray", ...)`` or :class:`~.factory.RayChannel`;
    ``clone()`` for more producers (one per Ray task). ``send`` returns once
    the value is in the local batch; ``flush()`` or ``close()`` push the batch
    out, and the linger timer does it within a few milliseconds anyway. Close
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
        "_closed",
        "_encoder",
        "_error",
        "_limit",
        "_linger",
        "_loop",
        "_max_items",
        "_next_seq",
        "_pending",
        "_pump",
        "_replies",
        "_space",
        "_space_loop",
        "_waiting_room",
    )

    def __init__(
        self,
        actor: Any,
        channel_id: str,
        sender_id: int,
        capacity: int | None,
        value_type: type[T] | None,
        name: str | None = None,
        namespace: str | None = None,
        options: RayChannelOptions | None = None,
    ) -> None:
        link = self._join(
            actor, channel_id, sender_id, capacity, value_type, name, namespace, options
        )
        self._next_seq = 0
        self._pending: list[T] = []
        self._pump: asyncio.Task[None] | None = None
        self._replies = 0
        self._waiting_room = False  # the batch in flight was refused for lack of room
        self._linger: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._space: asyncio.Event | None = None
        self._space_loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._closed = False
        opts = link.options
        self._limit = opts.batch_size if capacity is None else min(opts.batch_size, capacity)
        self._max_items = self._limit
        self._encoder = get_codec_pool().encoder
        link.senders.add(self)

    # ----------------------------------------------------------- properties

    @property
    def channel_id(self) -> str:
        """The channel's id, as written in every wire header this sender sends."""
        return self._link.channel_id

    @property
    def name(self) -> str | None:
        """The name other jobs attach to the channel by, or ``None``."""
        return self._link.name

    @property
    def closed(self) -> bool:
        """True once this endpoint is closed."""
        return self._closed

    @property
    def held(self) -> int:
        """Values in the local batch, not yet handed to an actor call (0 once failed)."""
        if self._error is not None or self._closed:
            return 0
        return len(self._pending)

    # ------------------------------------------------------------- sending

    async def send(self, value: T) -> None:
        """Add ``value`` to the batch, waiting while the channel has no room for it.

        Returns without a round trip while the channel has room: the batch
        leaves when full, after ``linger``, or on ``flush()``/``close()``.

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
        pending = self._pending
        if (
            link.credit > 0
            and len(pending) < self._max_items
            and link.lost is None
            and not link.receivers_closed
            and not self._closed
            and self._error is None
        ):
            pending.append(value)
            link.credit -= 1
            # Usually a call is in flight (it takes the batch when it returns)
            # or the linger timer is set: nothing to do.
            if self._pump is None and (self._linger is None or len(pending) >= self._max_items):
                self._kick()
            return
        while True:
            self._check()
            if link.credit > 0 and len(self._pending) < self._max_items:
                break
            await self._make_room()
        self._pending.append(value)
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
        if link.credit <= 0 and self._pump is not None:
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
        self._pending.append(value)
        link.credit -= 1
        self._kick()
        return _OK_NONE

    async def send_batch(self, values: Iterable[T]) -> None:
        """Send every item of ``values`` in order, waiting for room as needed.

        Items go into the local batch as many at a time as there is credit and
        batch space for, so a long input becomes a few large frames.

        Args:
            values: the items; an iterable that is not a list or tuple is read
                only as far as there is room (a generator gets back-pressure).

        Raises:
            ChannelClosedError: every receiver is closed, or this sender is.
                Items before the first one that did not fit have been sent.
            ChannelLostError: the channel actor died or lost its buffer.
        """
        if not isinstance(values, list | tuple):
            await self._send_lazily(iter(values))
            return
        items = values
        total = len(items)
        start = 0
        link = self._link
        self._check()
        while start < total:
            self._check()
            room = min(link.credit, self._max_items - len(self._pending))
            if room <= 0:
                await self._make_room()
                continue
            stop = min(total, start + room)
            self._pending.extend(items[start:stop])
            link.credit -= stop - start
            start = stop
            self._kick()

    async def _send_lazily(self, source: Iterator[T]) -> None:
        """Read ``source`` only as far as there is credit and batch space (back-pressure)."""
        link = self._link
        self._check()
        while True:
            self._check()
            pending = self._pending  # the pump swaps in a new list when it takes a batch
            room = min(link.credit, self._max_items - len(pending))
            if room <= 0:
                await self._make_room()
                continue
            before = len(pending)
            try:
                pending.extend(islice(source, room))
            finally:  # what was read is sent, even if the iterable raised part way
                added = len(pending) - before
                link.credit -= added
                self._kick()
            if added < room:
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
            raise ChannelLostError(link.channel_id, link.lost)
        if self._pending and link.receivers_closed:
            self._pending.clear()  # nobody can ever receive them
            raise ReceiversClosedError(ALL_RECEIVERS_CLOSED)

    async def close(self) -> None:
        """Flush, then close this sender. Idempotent.

        When the last sender closes, receivers get what is buffered, then end
        of channel.

        Raises:
            ChannelClosedError: the final batch could not be delivered (no receivers).
            ChannelLostError: the channel actor died or lost its buffer.
        """
        if self._closed:
            return
        error: Exception | None = None
        try:
            await self.flush()
        except (ChannelError, TypeError, ValueError) as exc:
            error = exc
        self._closed = True
        self._cancel_linger()
        link = self._link
        link.senders.discard(self)
        if link.lost is None:
            try:
                stats: ChannelStats | None = await call(
                    link, link.actor.close_sender.remote(self._id), 0.0
                )
                if stats is None:
                    raise link.lose(_lost_detail(link))
            except ChannelLostError as exc:
                if error is None:
                    error = exc
        if error is not None:
            raise error

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
            raise closed_error(ack.detail, ALL_SENDERS_CLOSED)
        return type(self)(*link.endpoint_args(sender_id))

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
            f"held={len(self._pending)}>"
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
        if self._pending and self._pump is None:
            if self._error is not None or not self._link.usable:
                return
            self._start_pump()
        if self._pump is not None and not self._waiting_room:
            await self._next_reply()

    async def drain(self) -> None:
        """Wait until the local batch is stored by the actor; never raises a stored error."""
        while True:
            if self._pending and self._pump is None:
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
            raise ChannelLostError(link.channel_id, link.lost)
        if link.receivers_closed:
            raise ReceiversClosedError(ALL_RECEIVERS_CLOSED)

    def _raise_stored(self) -> None:
        error = self._error
        if error is not None:
            self._error = None
            raise error

    def _kick(self) -> None:
        """Make sure the local batch will leave: now if full, else after the linger."""
        if self._pump is not None:
            return
        pending = len(self._pending)
        if not pending:
            return
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a timer of a finished loop never fires
            self._linger = None
        linger = self._link.options.linger
        if pending >= self._max_items or self._link.credit <= 0 or linger <= 0:
            self._start_pump()
        elif self._linger is None:
            self._loop = loop
            self._linger = loop.call_later(linger, self._on_linger)

    def _on_linger(self) -> None:
        self._linger = None
        if self._pending and self._pump is None and self._link.usable:
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
        if self._pending and self._pump is None:
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
            if ack.detail == SENDER_CLOSED:
                raise EndpointClosedError(SENDER_CLOSED)
            link.receivers_closed = True
            raise closed_error(ack.detail, ALL_RECEIVERS_CLOSED)

    async def _run_pump(self) -> None:
        try:
            while self._pending and self._error is None:
                batch = self._pending
                self._pending = []
                self._notify()
                await self._deliver(batch)
                self._notify()
        except Exception as exc:  # kept for the next send/flush/close to raise
            self._error = exc
            self._pending.clear()
        finally:
            self._pump = None
            self._set_waiting_room(False)
            self._notify()

    async def _deliver(self, batch: list[T]) -> None:
        data, count = self._encode(batch)
        if not count:
            return
        link = self._link
        put = link.actor.put_frames.remote
        # The first attempt does not wait in the actor, so every batch gets an
        # answer ("stored" or "full") within one round trip: try_send relies on
        # it to tell a full channel from one that is merely busy.
        wait = 0.0
        while True:
            ack: PutAck = await call(link, put(data, count, self._id, self._stream, wait), wait)
            self._replies += 1
            if ack.status != "full":
                self._set_waiting_room(False)
                self._room_from(ack)
                self._notify()
                return
            self._set_waiting_room(True)
            link.credit = 0
            self._notify()
            wait = link.options.poll_interval

    def _encode(self, batch: list[T]) -> tuple[bytes, int]:
        """Encode ``batch`` as frames; values that cannot be encoded are dropped and reported."""
        frames: list[bytes] = []
        counts: list[int] = []
        self._encode_part(batch, frames, counts)
        count = sum(counts)
        if not frames:
            return b"", 0
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        per_message = max(1, len(data) // count)
        self._max_items = max(1, min(self._limit, self._link.options.batch_bytes // per_message))
        return data, count

    def _encode_part(self, items: list[T], frames: list[bytes], counts: list[int]) -> None:
        try:
            frames.append(self._frame(items))
        except (TypeError, ValueError, OverflowError) as exc:
            if len(items) > 1:  # find the offending value(s) by halving
                half = len(items) // 2
                self._encode_part(items[:half], frames, counts)
                self._encode_part(items[half:], frames, counts)
                return
            exc.add_note(
                f"a value sent on channel {self._link.channel_id!r} could not be encoded "
                "and was dropped; the values around it were sent"
            )
            if self._error is None:
                self._error = exc
            return
        counts.append(len(items))
        self._next_seq += len(items)

    def _frame(self, items: list[T]) -> bytes:
        header = WireHeader(
            WIRE_SCHEMA_VERSION, MessageKind.DATA, self._link.channel_id, self._next_seq, now_ms()
        )
        # A fresh buffer: pooling one (BufferPool) measured no faster for ~1 MiB
        # batches, and would keep that much memory per pooled buffer.
        buffer = encode_frames(
            self._encoder,
            (DataMessage(header, items),),
            None,
            self._link.options.max_frame_size,
        )
        return bytes(buffer)


class RayReceiver(_RayEndpoint, Generic[T]):
    """The receiving end of a Ray channel (implements :class:`~..protocols.ReferenceReceiver`).

    Create with ``channel(backend="ray", ...)`` or :class:`~.factory.RayChannel`;
    ``clone()`` for competing consumers (each message goes to exactly one).
    Values are validated against the channel's type here; a message of the
    wrong type raises :class:`~klaw_core.runtime.errors.InvalidMessageError`
    and the receiver goes on with the next one.

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
        channel 'ch-...': message seq 1 is invalid: payload does not match the expected type: ...
        [1, 3]
    """

    __slots__ = (
        "__weakref__",
        "_acks",
        "_bad",
        "_closed",
        "_cur_seq",
        "_cur_stream",
        "_decoder",
        "_deferred",
        "_done",
        "_eof",
        "_exclusive",
        "_expected",
        "_fetch",
        "_fetch_size",
        "_frames",
        "_item_type",
        "_items",
        "_loop",
        "_pos",
        "_raws",
        "_reported",
        "_wake_gen",
    )

    def __init__(
        self,
        actor: Any,
        channel_id: str,
        reader_id: int,
        capacity: int | None,
        value_type: type[T] | None,
        name: str | None = None,
        namespace: str | None = None,
        options: RayChannelOptions | None = None,
    ) -> None:
        link = self._join(
            actor, channel_id, reader_id, capacity, value_type, name, namespace, options
        )
        self._item_type: Any = Any if value_type is None else value_type
        self._decoder: msgspec.msgpack.Decoder[DataMessage[list[T]]] = get_codec_pool().decoder_for(
            DataMessage[list[self._item_type]]  # type: ignore[name-defined]
        )
        self._items: list[Any] = []
        self._pos = 0
        self._bad: dict[int, InvalidMessageError] = {}
        self._raws: list[msgspec.Raw] | None = None
        self._deferred: ChannelError | None = None
        self._cur_stream = 0
        self._cur_seq = 0
        self._frames: deque[tuple[bytes, int, int]] = deque()
        self._fetch: asyncio.Task[FrameBatch] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_gen = 0
        self._eof: str | None = None
        self._closed = False
        self._exclusive = False
        self._expected: dict[int, int] = {}
        self._done = 0  # messages of earlier batches, all delivered (or skipped)
        self._reported = 0  # delivered count last reported to the actor
        self._acks: set[asyncio.Task[Any]] = set()
        # What a receiver holds counts against the capacity: fetching at most a
        # quarter of it at a time leaves senders room while it works.
        fetch = link.options.fetch_size
        self._fetch_size = fetch if capacity is None else max(1, min(fetch, capacity // 4))
        link.receivers.add(self)

    # ----------------------------------------------------------- properties

    @property
    def channel_id(self) -> str:
        """The channel's id, as written in every wire header this receiver reads."""
        return self._link.channel_id

    @property
    def name(self) -> str | None:
        """The name other jobs attach to the channel by, or ``None``."""
        return self._link.name

    @property
    def closed(self) -> bool:
        """True once this endpoint is closed."""
        return self._closed

    @property
    def delivered(self) -> int:
        """Messages this receiver has handed out (or skipped as invalid) so far."""
        return self._done + self._pos

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
        pos = self._pos
        items = self._items
        if pos < len(items) and not self._bad and self._deferred is None and not self._closed:
            self._pos = pos + 1
            if self._link.starved:
                self._report_soon()
            return cast(T, items[pos])
        while True:
            item = self._next_local()
            if item is not _NOTHING:
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
            if item is not _NOTHING:
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
        if first is _NOTHING:
            if timeout == 0:
                await self._poll_now()
            elif not await self._refill(timeout):
                return []
            first = self._next_local()
            if first is _NOTHING:
                return []
        out: list[T] = [cast(T, first)]
        while len(out) < max_items:
            items = self._items
            pos = self._pos
            if pos < len(items):
                end = min(len(items), pos + max_items - len(out))
                if self._bad:
                    end = min([end, *(p for p in self._bad if p >= pos)])
                    if end == pos:
                        break
                out.extend(items[pos:end])
                self._pos = end
            elif self._frames and self._deferred is None:
                if not self._install(*self._frames.popleft()):
                    break  # an error is due before the rest of the batch
            else:
                if not self._take_done_fetch():
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
                batch = await asyncio.shield(fetch)
            except ChannelLostError:
                return
            if batch.status == "ok":
                self._frames.extend(zip(batch.frames, batch.streams, batch.counts, strict=True))
        frames: list[bytes] = []
        streams: list[int] = []
        counts: list[int] = []
        rest = self._rest_of_current()
        if rest is not None:
            frames.append(rest[0])
            streams.append(self._cur_stream)
            counts.append(rest[1])
        for data, stream, count in self._frames:
            frames.append(data)
            streams.append(stream)
            counts.append(count)
        self._frames.clear()
        self._items = []
        self._pos = 0
        self._bad = {}
        stats: ChannelStats | None = await call(
            link,
            link.actor.close_receiver.remote(
                self._id, tuple(frames), tuple(streams), tuple(counts), self._stream
            ),
            0.0,
        )
        if stats is None:
            raise link.lose(_lost_detail(link))
        if stats.receivers_closed:
            link.receivers_closed = True

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
            raise closed_error(ack.detail, ALL_RECEIVERS_CLOSED)
        return type(self)(*link.endpoint_args(reader_id))

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
        pos = self._pos
        items = self._items
        if pos < len(items) and not self._bad and self._deferred is None and not self._closed:
            self._pos = pos + 1
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
            f"undelivered={len(self._items) - self._pos}>"
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
        await call(link, link.actor.ack.remote(self._stream, delivered), 0.0)

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
            call(link, link.actor.ack.remote(self._stream, delivered), 0.0)
        )
        self._acks.add(task)  # keep it alive; errors surface on the next fetch
        task.add_done_callback(self._ack_done)

    def _ack_done(self, task: asyncio.Task[Any]) -> None:
        self._acks.discard(task)
        if task.cancelled() or task.exception() is not None:
            return
        if self.delivered > self._reported and (self._link.starved or self._fetch is not None):
            self._report_soon()  # more was delivered while that report was on its way

    def _next_local(self) -> object:
        """Return the next locally available message, or ``_NOTHING``; raise what is due."""
        if self._closed:
            raise EndpointClosedError(RECEIVER_CLOSED)
        while True:
            deferred = self._deferred
            if deferred is not None:
                self._deferred = None
                raise deferred
            pos = self._pos
            if pos < len(self._items):
                self._pos = pos + 1
                if self._bad:
                    error = self._bad.pop(pos, None)
                    if error is not None:
                        raise error
                return self._items[pos]
            if self._frames:
                self._install(*self._frames.popleft())
                continue
            if self._take_done_fetch():
                continue
            if self._eof is not None:
                raise closed_error(self._eof, ALL_SENDERS_CLOSED)
            return _NOTHING

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
            if self._eof is not None:
                return True  # _next_local raises end of channel
            if link.lost is not None:
                raise ChannelLostError(link.channel_id, link.lost + self._last_seen())
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

    def _start_fetch(self, *, once: bool) -> asyncio.Task[FrameBatch]:
        loop = asyncio.get_running_loop()
        self._loop = loop
        return loop.create_task(self._fetch_loop(self._wake_gen, once))

    async def _fetch_loop(self, generation: int, once: bool) -> FrameBatch:
        link = self._link
        options = link.options
        get = link.actor.get_frames.remote
        wait = 0.0 if once else options.poll_interval
        while True:
            delivered = self.delivered
            self._reported = max(self._reported, delivered)
            try:
                batch: FrameBatch = await call(
                    link,
                    get(self._id, self._stream, self._fetch_size, wait, generation, delivered),
                    wait,
                )
            except ChannelLostError as exc:
                raise ChannelLostError(exc.channel, exc.detail + self._last_seen()) from exc
            if batch.status != "empty" or once or self._wake_gen > generation:
                return batch

    def _accept(self, batch: FrameBatch) -> None:
        status = batch.status
        if status == "ok":
            self._exclusive = batch.exclusive
            self._frames.extend(zip(batch.frames, batch.streams, batch.counts, strict=True))
            if not self._closed and self._eof is None and self._fetch is None:
                self._fetch = self._start_fetch(once=False)  # keep one call in flight
        elif status == "closed":
            self._eof = batch.detail or ALL_SENDERS_CLOSED
        elif status == "lost":
            raise self._link.lose(f"{batch.detail}{self._last_seen()}")

    def _install(self, data: bytes, stream: int, count: int) -> bool:
        """Decode one stored entry into the current batch; False if an error is now due.

        Errors are deferred, not raised: the caller may hold messages to return first.
        """
        try:
            messages = cast(
                "list[DataMessage[list[Any]]]",
                get_codec_pool().decode_frames(data, DataMessage[list[self._item_type]]),  # type: ignore[name-defined]
            )
        except KlawWireError:
            self._install_slowly(data, stream, count)
            return self._deferred is None and not self._bad
        if len(messages) == 1:
            items = messages[0].payload
        else:
            items = [value for message in messages for value in message.payload]
        self._set_current(items, stream, messages[0].header.seq if messages else 0)
        return self._deferred is None

    def _install_slowly(self, data: bytes, stream: int, count: int) -> None:
        """Decode message by message: deliver the good ones, make the bad ones raise in turn."""
        link = self._link
        try:
            messages = get_codec_pool().decode_frames(data, DataMessage[list[msgspec.Raw]])
        except KlawWireError as exc:
            seq = _peek_seq(data)
            if seq >= 0:  # reported here, so not a gap for the sequence check
                self._expected[stream] = max(self._expected.get(stream, 0), seq + count)
            self._done += count  # skipped: it frees its room like delivered ones
            self._deferred = InvalidMessageError(
                link.channel_id,
                seq,
                f"a batch of {count} messages could not be decoded and was skipped: {exc}",
            )
            return
        item_decoder = get_codec_pool().decoder_for(self._item_type)
        items: list[Any] = []
        raws: list[msgspec.Raw] = []
        bad: dict[int, InvalidMessageError] = {}
        for message in messages:
            for index, raw in enumerate(message.payload):
                raws.append(raw)
                try:
                    items.append(decode_with(item_decoder, raw))
                except KlawWireError as exc:
                    bad[len(items)] = InvalidMessageError(
                        link.channel_id, message.header.seq + index, str(exc)
                    )
                    items.append(None)
        self._set_current(items, stream, messages[0].header.seq if messages else 0)
        self._bad = bad
        self._raws = raws

    def _set_current(self, items: list[Any], stream: int, seq: int) -> None:
        self._done += len(self._items)  # the previous batch, delivered in full
        self._items = items
        self._pos = 0
        self._bad = {}
        self._raws = None
        self._cur_stream = stream
        self._cur_seq = seq
        count = len(items)
        expected = self._expected.get(stream, 0)
        self._expected[stream] = max(expected, seq + count)
        if not self._exclusive or seq == expected:
            return
        if seq > expected:
            self._deferred = ChannelLostError(
                self._link.channel_id,
                f"messages {expected} to {seq - 1} of sender stream {stream:#x} were lost "
                f"(the next one received is {seq})",
            )
        else:  # already delivered: skip the repeated part
            self._pos = min(count, expected - seq)

    def _rest_of_current(self) -> tuple[bytes, int] | None:
        """Re-encode the undelivered rest of the current batch, to hand it back on close."""
        pos = self._pos
        rest: list[Any] = self._raws[pos:] if self._raws is not None else self._items[pos:]
        if not rest:
            return None
        message = DataMessage.new(rest, channel_id=self._link.channel_id, seq=self._cur_seq + pos)
        return bytes(get_codec_pool().encode_frames([message])), len(rest)

    def _last_seen(self) -> str:
        if not self._expected:
            return ""
        seen = ", ".join(f"{stream:#x}: {seq - 1}" for stream, seq in self._expected.items())
        return f"; last message seq received here per sender stream: {seen}"


class _Nothing:
    """Marker: no message is available locally."""

    __slots__ = ()


_NOTHING: Any = _Nothing()


def _peek_seq(data: bytes) -> int:
    """Best-effort sequence number of the first frame in ``data`` (-1 when unreadable)."""
    try:
        return peek_header(memoryview(data)[4:]).seq
    except KlawWireError:
        return -1


def _forget(task: asyncio.Task[Any] | None) -> None:
    """Drop a task whose result no longer matters, without an 'exception never retrieved' log."""
    if task is None:
        return
    if task.done():
        if not task.cancelled():
            task.exception()
    else:
        task.add_done_callback(lambda t: None if t.cancelled() else t.exception())


def _lost_detail(link: Link) -> str:
    return link.lost or LOST_DETAIL

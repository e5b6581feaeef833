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

Why it remembers. The sender keeps every batch the actor stored until the
actor says it was delivered (each put's reply tells how far). When Ray
restarts the actor (a new epoch, its buffer gone), the sender re-registers
under the same identity and replays what it kept, in order, before anything
new; the new epoch drops what receivers report they delivered, so nothing is
lost or delivered twice. Back-pressure bounds what is kept: it was all counted
against the channel's capacity. When the actor does not come back, the
:class:`~klaw_core.runtime.errors.ChannelLostError` it raises names the exact
range it accepted and could not deliver (what it kept, the batch in flight and
the one forming). The batch in flight and the one forming share one budget of
``batch_size`` messages, so at most one batch was never stored, and once the
actor is dead ``send()`` fails within one round trip (the answer to the batch
in flight).

How it ends. ``close()`` sends a ``ControlMessage`` close and, with the
``close_wait`` option, waits (at most that long) until the actor says its
messages were delivered, so that it can still replay them after a restart;
``close(error=exc)``
(and ``async with`` left by an exception) a ``WireError``, which receivers
raise as ``ProducerFailedError`` after its messages. A sender dropped without
``close()`` warns (``ResourceWarning``) and is closed for the channel; a
sender whose process dies stops heart-beating and is declared lost by lease.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Self, TypeVar

from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.constants import (
    ALL_RECEIVERS_CLOSED,
    ALL_SENDERS_CLOSED,
    SENDER_CLOSED,
    PutAck,
)
from klaw_core.runtime.channels.ray.identity import ChannelRef
from klaw_core.runtime.channels.ray.link import (
    ActorRestarted,
    call,
    call_blocking,
    closed_error,
    new_endpoint_id,
)
from klaw_core.runtime.channels.ray.outbox import Outbox
from klaw_core.runtime.channels.ray.pump import BatchPump
from klaw_core.runtime.channels.ray.store import PRODUCER_FAILED
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.channels.wire import (
    ControlAction,
    ControlMessage,
    WireError,
)
from klaw_core.runtime.errors import (
    ChannelClosedError,
    ChannelError,
    ChannelLostError,
    EndpointClosedError,
    ReceiversClosedError,
)

__all__ = ["RaySender"]

T = TypeVar("T")


class RaySender(BatchPump[T]):
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
    several threads. The send calls and their first-come-first-served turns
    are :class:`~.sending.SendCalls`'; the batch pump and the rejoin after a
    restart are :class:`~.pump.BatchPump`'s.

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

    __slots__ = ("__weakref__", "_outbox")  # the pump's state: BatchPump's slots

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
        self._outbox.keep_until_delivered()
        self._epoch = link.epoch  # the actor incarnation this sender has joined
        self._restart_epoch: int | None = None  # a newer one the heartbeat thread heard of
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
    def epoch(self) -> int:
        """The channel actor's incarnation this sender has joined (0 until Ray restarts it).

        It goes up when the sender replayed what it kept to a restarted actor.
        """
        return self._epoch

    @property
    def held(self) -> int:
        """Values in the local batch, not yet handed to an actor call (0 once failed)."""
        if self._error is not None or self._closed:
            return 0
        return len(self._outbox.pending)

    # ------------------------------------------------------------- flushing

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
        self._link.send_line.close_for(self)  # its blocked tasks raise EndpointClosedError
        link = self._link
        link.senders.discard(self)
        if link.lost is None:
            try:
                await self._end(self._close_frame(error), settle=error is None and failure is None)
            except ChannelLostError as exc:
                if failure is None:
                    failure = self._lost_error() if link.lost is not None else exc
            except ChannelClosedError:
                pass  # every receiver is gone: nothing is left to deliver
        if failure is not None:
            raise failure

    async def _end(self, control: bytes, *, settle: bool) -> None:
        """Close at the actor; with ``settle``, keep what was stored until it is delivered.

        With the ``close_wait`` option and no receiver of the channel in this
        process, the close waits (at most ``close_wait`` seconds, in
        ``poll_interval`` steps) until the actor says everything this sender
        stored was delivered, rejoining and replaying if the actor restarts
        meanwhile. With a local receiver it does not: that receiver may be
        waiting for this very call to return.
        """
        link = self._link
        outbox = self._outbox
        loop = asyncio.get_running_loop()
        limit = link.options.close_wait if settle and not self._local_receiver() else 0.0
        deadline = loop.time() + limit
        end = outbox.next_seq
        while True:
            wait = max(0.0, min(link.options.poll_interval, deadline - loop.time()))
            try:
                ack: PutAck = await call(
                    link,
                    link.actor.end_sender.remote(
                        self._id, control, self._epoch, end, outbox.oldest(), wait
                    ),
                    wait,
                )
            except ActorRestarted as exc:
                ack = PutAck("restarted", epoch=exc.epoch)
            if ack.status == "restarted":
                await self._rejoin(ack.epoch)
                continue
            if ack.through >= 0:
                outbox.release(ack.through)
            if ack.status == "lost":
                raise link.lose(ack.detail)
            if ack.status == "ok" or not wait:
                return

    def _local_receiver(self) -> bool:
        return any(not r.closed for r in self._link.receivers)

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
        link.epoch = max(link.epoch, ack.epoch)
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

"""The channel actor's frame path: the calls that store and hand out senders' wire frames.

Why apart: it is the channel's hot path, and the calls the endpoints make on it
come in two forms. :meth:`FrameCalls.put_frames` and
:meth:`FrameCalls.get_frames` take their arguments one by one and reply with a
Struct, for readers and tests; the endpoints call
:meth:`FrameCalls.put_frames_packed` and :meth:`FrameCalls.get_frames_packed`,
which take the same arguments packed in one ``bytes`` and reply with ``bytes`` (:mod:`.packed` says why).
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from klaw_core.runtime.channels.ray.actor_core import ActorCore, deadline_after, time_left
from klaw_core.runtime.channels.ray.constants import (
    ALL_SENDERS_CLOSED,
    LOST_DETAIL,
    RECEIVER_CLOSED,
    SENDER_CLOSED,
    FrameBatch,
    PutAck,
)
from klaw_core.runtime.channels.ray.packed import INLINE_REPLY_BYTES, GetCall, PutCall, pack, unpack
from klaw_core.runtime.channels.ray.store import Frame
from klaw_core.runtime.channels.wire import MessageKind
from klaw_core.runtime.errors import MalformedPayload

__all__ = ["FrameCalls"]

T = TypeVar("T")

REPLY_AFTER_WAKING = 0.0002
"""Seconds a put of :data:`FEW_MESSAGES` or fewer that woke a parked fetch waits to reply."""

FEW_MESSAGES = 64
"""A put this small is latency-bound (see ``put_frames``); a larger one, throughput-bound."""


class FrameCalls(ActorCore[T]):
    """The frame path of :class:`~.actor.RayChannelActor` (a base class of it).

    Example:
        >>> import asyncio
        >>> from klaw_core.runtime.channels.ray.packed import GetCall, frame_batch
        >>> actor = FrameCalls("c", capacity=2, receivers=(9,))
        >>> call = pack(GetCall(9, 1, 10, 0.0, 0, -1, -1, None, None, False))
        >>> frame_batch(asyncio.run(actor.get_frames_packed(call))).status
        'empty'
    """

    def _encode_values(self, frame: Frame) -> bytes:  # the object path's (ObjectPath)
        raise NotImplementedError

    async def put_frames(
        self,
        data: bytes,
        count: int,
        sender_id: int,
        session: int,
        timeout: float | None = None,
        epoch: int | None = None,
        oldest: int = -1,
    ) -> PutAck:
        """Store one framed batch of ``count`` messages, waiting for room in arrival order.

        A sender's seqs form one stream, named by its sender id, that stays the
        same when Ray re-runs the task or restarts the actor holding it (they
        unpickle the same endpoint). Messages this channel already stored from
        that stream are recognised by ``(sender_id, seq)`` and dropped: a put
        repeated after a lost reply, or by a deterministic producer sending
        again from the start, stores nothing twice.

        Args:
            data: one or more length-prefixed ``DataMessage`` frames.
            count: messages the frames hold in total (at least 1).
            sender_id: the registered sender storing them (its seq stream).
            session: the sender instance calling (a re-run or moved endpoint
                gets a new one); it renews the sender's lease.
            timeout: seconds to wait for room; ``None`` waits indefinitely,
                ``0`` does not wait. A put that gets ``"full"`` keeps its place
                in line for its retry (same first seq).
            epoch: the epoch the sender knows (``None``: the current one); a
                put for another epoch stores nothing and answers ``"restarted"``.
            oldest: the sender's oldest kept seq (``-1``: it keeps nothing):
                every seq below it counts as delivered, and the reply's
                ``through`` says how far its messages were delivered.

        Returns:
            ``"ok"`` with the room left (also for a put stored before),
            ``"full"`` (nothing stored), ``"closed"`` when every receiver (or
            this sender) is closed, ``"restarted"`` (see ``epoch``), ``"lost"``
            after a restart that kept no record.

        Raises:
            MalformedHeader: a frame is not a DATA envelope of this channel.
            UnknownSchemaVersion: a frame's header names an unknown version.
            TruncatedFrame, FrameTooLarge: ``data`` is not a whole batch of frames.
            ValueError: ``count`` is less than 1.
        """
        if self._lost:
            return PutAck("lost", detail=LOST_DETAIL)
        if epoch is not None and epoch != self._epoch:
            return PutAck("restarted", epoch=self._epoch)
        store = self._store
        store.renew(sender_id, self._now(), session)
        if count < 1:
            raise ValueError(f"a batch holds at least 1 message, got {count}")
        seq = self._check_frames(data, (MessageKind.DATA,), seq=True)
        if oldest >= 0:
            store.forget_below(sender_id, oldest)
        if store.fresh(sender_id, seq, count) == 0:  # stored before: its reply was lost
            return PutAck("ok", room=store.room(), through=self._through(sender_id, oldest))
        if not store.is_open_sender(sender_id):
            return PutAck("closed", detail=SENDER_CLOSED)
        refusal = await self._admit(sender_id, (sender_id, seq), count, deadline_after(timeout))
        if refusal is not None:
            return refusal
        store.store(
            Frame(data, producer=sender_id, stream=sender_id, seq=seq, count=count), self._now()
        )
        if self._readable.waiting:
            # A receiver is parked: its get_frames takes the frame and replies
            # first. The reply to a few messages waits a moment more (a
            # sleep(0) is not enough: Ray sends both replies from other
            # threads): a receiver in the sender's process handles replies one
            # at a time, and the message must not queue behind its own ack
            # (about 0.3 ms of one message's latency, measured). A larger put
            # replies at once: its sender may be waiting for the reply to send
            # the next batch (the timer's ~1 ms cost a quarter of throughput).
            self._readable.notify()
            await asyncio.sleep(REPLY_AFTER_WAKING if count <= FEW_MESSAGES else 0)
        return PutAck("ok", room=store.room(), through=self._through(sender_id, oldest))

    async def get_frames(
        self,
        reader_id: int,
        stream: int,
        max_messages: int,
        timeout: float | None = None,
        generation: int = 0,
        delivered: int = -1,
        received: int = -1,
        epoch: int | None = None,
        report: dict[int, list[tuple[int, int]]] | None = None,
        exclusive: bool = False,
    ) -> FrameBatch:
        """Hand out whole stored frames, oldest first, up to ``max_messages`` (at least one).

        Args:
            reader_id: the registered receiver asking.
            stream: the receiver instance (its session; a pickled endpoint gets a new one).
            max_messages: stop adding frames once this many messages are taken.
            timeout: seconds to wait when empty; ``None`` waits indefinitely.
            generation: return ``"empty"`` early once :meth:`wake_reader` was
                called for this reader with a higher generation.
            delivered: messages this session has delivered in all, as for
                :meth:`ack` (``-1``: no news).
            received: messages this session received from earlier calls
                (``-1``: unknown); what was handed beyond it is handed again.
            epoch: the epoch the receiver knows (``None``: the current one); a
                fetch for another epoch answers ``"restarted"`` at once.
            report: after a restart, per sender stream, the seq spans this
                receiver delivered before it (what producers replay and is in
                them is dropped); the new epoch hands nothing out until every
                receiver reported or its lease expired.
            exclusive: with ``report``: it was the only receiver that fetched.

        Returns:
            ``"ok"`` with frames, ``"empty"`` (timeout or woken), ``"closed"`` at
            end of channel or when this receiver is closed, ``"restarted"``,
            ``"lost"`` after a restart that kept no record.
        """
        if epoch is not None and epoch != self._epoch and not self._lost:
            return FrameBatch("restarted", epoch=self._epoch)
        store = self._store
        if report is not None:
            store.add_receiver(reader_id, self._now())
            store.resume(reader_id, report, {}, self._now(), exclusive)
            self._changed()
        store.renew(reader_id, self._now(), stream)
        if delivered >= 0 and store.ack(reader_id, stream, delivered, self._now()):
            self._changed()
        deadline = deadline_after(timeout)
        token = object()  # this call's place among the parked ones
        calls = self._waiting
        try:
            while True:
                if self._lost:
                    return FrameBatch("lost", detail=LOST_DETAIL)
                if reader_id not in store.receivers:
                    return FrameBatch("closed", detail=RECEIVER_CLOSED)
                if calls.may_take(token):  # first come, first served: no barging
                    taken = store.take(
                        reader_id,
                        stream,
                        max_messages,
                        self._now(),
                        received if received >= 0 else None,
                    )
                    if taken:
                        break
                if store.ended_for(reader_id):
                    return FrameBatch("closed", detail=ALL_SENDERS_CLOSED)
                if self._woken.get(reader_id, 0) > generation:
                    return FrameBatch("empty")
                remaining = time_left(deadline)
                if remaining == 0.0:
                    return FrameBatch("empty")
                calls.park(token)
                await self._readable.wait(remaining)
        finally:
            if calls.unpark(token) and calls.receives and store.buffer:
                self._readable.notify()  # the next parked call's turn
        self._writable.notify()  # a given-back frame taken again may unblock nothing; cheap
        return FrameBatch(
            "ok",
            tuple(f.data if f.data is not None else self._encode_values(f) for f in taken),
            tuple(f.stream for f in taken),
            tuple(f.count for f in taken),
            tuple(f.skip for f in taken),
            tuple(f.redelivered for f in taken),
            store.delivered_within(taken),
            exclusive=store.is_exclusive(reader_id),
        )

    async def put_frames_packed(self, data: bytes, call: bytes) -> bytes:
        """:meth:`put_frames` with its other arguments packed; the reply encoded.

        Args:
            data: the frames, as for :meth:`put_frames`.
            call: a packed :class:`~.packed.PutCall`.

        Returns:
            The packed :class:`~.constants.PutAck`.

        Raises:
            MalformedPayload: ``call`` is not an encoded ``PutCall``; else as
                :meth:`put_frames`.
        """
        return await self._put_packed(data, unpack(call, PutCall))

    async def put_frames_inline(self, call: bytes) -> bytes:
        """:meth:`put_frames` with every argument, the frames too, packed in one ``bytes``.

        Args:
            call: a packed :class:`~.packed.PutCall` whose ``frames`` holds the batch.

        Returns:
            The packed :class:`~.constants.PutAck`.

        Raises:
            MalformedPayload: ``call`` is not an encoded ``PutCall`` with
                frames; else as :meth:`put_frames`.
        """
        args = unpack(call, PutCall)
        if args.frames is None:
            raise MalformedPayload("PutCall call holds no frames")
        return await self._put_packed(args.frames, args)

    async def _put_packed(self, data: bytes, args: PutCall) -> bytes:
        ack = await self.put_frames(
            data,
            args.count,
            args.sender_id,
            args.session,
            args.timeout,
            args.epoch,
            args.oldest,
        )
        return pack(ack)

    async def get_frames_packed(self, call: bytes) -> bytes | FrameBatch:
        """:meth:`get_frames` with its arguments packed; a small reply encoded.

        Args:
            call: a packed :class:`~.packed.GetCall`.

        Returns:
            The :class:`~.constants.FrameBatch`, packed unless its frames
            exceed :data:`~.packed.INLINE_REPLY_BYTES` (then the Struct
            itself: packing would copy the frames once more).

        Raises:
            MalformedPayload: ``call`` is not an encoded ``GetCall``.
        """
        args = unpack(call, GetCall)
        batch = await self.get_frames(
            args.reader_id,
            args.stream,
            args.max_messages,
            args.timeout,
            args.generation,
            args.delivered,
            args.received,
            args.epoch,
            args.report,
            args.exclusive,
        )
        if sum(map(len, batch.frames)) > INLINE_REPLY_BYTES:
            return batch
        return pack(batch)

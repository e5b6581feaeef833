"""The channel actor's restart calls: its epoch, a producer's end, an idle receiver's report.

Why apart: what a restarted actor must do is the sans-IO
:class:`~.restart.RestartProtocol`; these are the calls that drive it, beside
the epoch fencing in :mod:`.actor`'s frame path (every call made for another
epoch answers ``"restarted"``, nothing applied).
"""

from __future__ import annotations

from typing import TypeVar

from klaw_core.runtime.channels.ray.actor_core import ActorCore, deadline_after, time_left
from klaw_core.runtime.channels.ray.constants import LOST_DETAIL, FrameBatch, PutAck
from klaw_core.runtime.channels.wire import MessageKind

__all__ = ["EpochCalls"]

T = TypeVar("T")


class EpochCalls(ActorCore[T]):
    """The restart calls of :class:`~.actor.RayChannelActor` (a base class of it).

    Example:
        >>> import asyncio
        >>> asyncio.run(EpochCalls("c", capacity=2).epoch())
        0
    """

    async def epoch(self) -> int:
        """Return this incarnation's epoch (0 until Ray restarts the actor).

        Returns:
            How many incarnations came before this one, as far as the kept
            registrations tell.
        """
        return self._epoch

    async def end_sender(
        self,
        sender_id: int,
        control: bytes | None,
        epoch: int,
        end_seq: int,
        oldest: int,
        timeout: float | None = 0.0,
    ) -> PutAck:
        """Close a sender (as :meth:`close_sender`), then wait until its messages are delivered.

        A producer keeps what it stored until it is delivered, to replay it
        if the actor restarts; it may forget it, and end, once this answers
        ``"ok"``. A failed producer (a ``WireError`` ``control``) is answered
        at once.

        Args:
            sender_id: the sender.
            control: its framed ``ControlMessage`` close or ``WireError``.
            epoch: the epoch the sender knows.
            end_seq: one past its last seq.
            oldest: its oldest kept seq (everything below is delivered).
            timeout: seconds to wait for delivery; ``0`` only closes.

        Returns:
            ``"ok"`` once everything is delivered (or no receiver is left),
            ``"full"`` when not yet within ``timeout`` (ask again),
            ``"restarted"`` for another epoch (replay, then ask again),
            ``"lost"`` after a restart that kept no record; ``through`` says
            what the sender may forget.

        Raises:
            MalformedHeader: ``control`` is not a close or error envelope of this channel.
        """
        if self._lost:
            return PutAck("lost", detail=LOST_DETAIL)
        if epoch != self._epoch:
            return PutAck("restarted", epoch=self._epoch)
        store = self._store
        store.renew(sender_id, self._now())
        store.forget_below(sender_id, oldest)
        marker: bytes | None = None
        if control is not None:
            kind = self._check_frames(control, (MessageKind.CONTROL, MessageKind.ERROR))
            marker = control if kind == MessageKind.ERROR else None
        if store.is_open_sender(sender_id):
            store.close_sender(sender_id, marker, None if marker else end_seq)
            self._persist()
            self._changed()
        deadline = deadline_after(timeout)
        while marker is None and not store.settle(sender_id, end_seq, oldest):
            remaining = time_left(deadline)
            if remaining == 0.0:
                return PutAck("full", epoch=self._epoch, through=self._through(sender_id, oldest))
            await self._writable.wait(remaining)
        self._persist()
        return PutAck("ok", epoch=self._epoch, through=self._through(sender_id, oldest))

    async def resume_receiver(
        self,
        reader_id: int,
        epoch: int,
        report: dict[int, list[tuple[int, int]]],
        exclusive: bool = False,
    ) -> FrameBatch:
        """An idle receiver tells a restarted actor what it delivered (as ``get_frames`` would).

        Args:
            reader_id: the receiver.
            epoch: the epoch it joins (the current one).
            report: per sender stream, the seq spans it delivered before the restart.
            exclusive: it was the only receiver that fetched.

        Returns:
            ``"ok"`` (no frames), ``"restarted"`` when ``epoch`` is not the
            current one, ``"lost"`` after a restart that kept no record.
        """
        if self._lost:
            return FrameBatch("lost", detail=LOST_DETAIL)
        if epoch != self._epoch:
            return FrameBatch("restarted", epoch=self._epoch)
        store = self._store
        store.add_receiver(reader_id, self._now())
        store.resume(reader_id, report, {}, self._now(), exclusive)
        self._changed()
        return FrameBatch("ok", epoch=self._epoch)

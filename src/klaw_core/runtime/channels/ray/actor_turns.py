"""The channel actor's turn calls: a blocked sender's place in line, and who waits where.

Why apart: the channel contract serves blocked senders first come, first
served across processes (:meth:`~.store.ChannelStore.reserve` keeps the
place of a sender whose task waits for room) and counts the tasks blocked on
the channel in every process (:class:`~.waiting.WaitingCalls`). These calls
drive that bookkeeping; the frame path in :mod:`.actor` and the object path
in :mod:`.actor_objects` honour it.
"""

from __future__ import annotations

from typing import TypeVar

from klaw_core.runtime.channels.ray.actor_core import ActorCore, deadline_after, time_left
from klaw_core.runtime.channels.ray.constants import (
    ALL_RECEIVERS_CLOSED,
    LOST_DETAIL,
    SENDER_CLOSED,
    PutAck,
)

__all__ = ["TurnCalls"]

T = TypeVar("T")


class TurnCalls(ActorCore[T]):
    """The turn calls of :class:`~.actor.RayChannelActor` (a base class of it).

    Example:
        >>> import asyncio
        >>> asyncio.run(TurnCalls("c", capacity=2).wait_room(0)).status
        'ok'
    """

    async def wait_room(
        self, timeout: float | None = None, sender_id: int | None = None, final: bool = True
    ) -> PutAck:
        """Wait until at least one message fits; report the room (``"full"`` on timeout).

        With ``sender_id``, the call is a blocked task's place in the line of
        puts (:meth:`~.store.ChannelStore.reserve`): ``"ok"`` comes only when
        it is first and one message fits, and the place is then kept for that
        sender's next put, which is admitted ahead of every later arrival.

        Args:
            timeout: seconds to wait; ``None`` waits indefinitely, ``0`` only reports.
            sender_id: the sender whose task is blocked (``None``: only ask).
            final: a sender's deadline ends with this call, so its place in
                line is given up on timeout; otherwise it is kept for the next call.

        Returns:
            ``"ok"`` with the room left, ``"full"`` with ``room=0``, ``"closed"``
            when every receiver (or this sender) is closed, ``"lost"`` after a
            restart that kept no record.
        """
        deadline = deadline_after(timeout)
        store = self._store
        first = True
        while True:
            if self._lost:
                return PutAck("lost", detail=LOST_DETAIL)
            if sender_id is not None:
                store.renew(sender_id, self._now())
                verdict = store.reserve(sender_id, first=first)
                first = False
                if verdict == "ok":
                    return PutAck("ok", room=store.room())
                if verdict == "withdrawn":
                    return PutAck("full", room=0)
                if verdict == "closed":
                    return PutAck("closed", detail=ALL_RECEIVERS_CLOSED)
                if verdict == "sender_closed":
                    return PutAck("closed", detail=SENDER_CLOSED)
            else:
                if store.receivers_closed:
                    return PutAck("closed", detail=ALL_RECEIVERS_CLOSED)
                room = store.room()
                if room is None or (room > 0 and not store.waiting):
                    return PutAck("ok", room=room)
            remaining = time_left(deadline)
            if remaining == 0.0:
                if sender_id is not None and final:
                    store.withdraw(sender_id, (sender_id, -1))
                    self._writable.notify()  # the next in line may go now
                return PutAck("full", room=0)
            await self._writable.wait(remaining)

    async def withdraw_turn(self, sender_id: int) -> None:
        """Give up the place a blocked task of ``sender_id`` held in the line of puts.

        Called when that task was cancelled or its deadline passed: a place
        kept for a put that will never come would stop every sender behind it.

        Args:
            sender_id: the sender, as passed to :meth:`wait_room`.
        """
        self._store.withdraw(sender_id, (sender_id, -1))
        self._writable.notify()

    async def report_waiting(self, link_id: int, send: int, receive: int) -> None:
        """Record how many tasks of one process are blocked on this channel.

        The report counts for one lease (``lease_timeout``); the process
        renews it while its tasks wait.

        Args:
            link_id: the reporting process's link id.
            send: its tasks blocked sending.
            receive: its tasks blocked receiving.
        """
        until = self._now() + self._store.lease_timeout
        self._waiting.report(link_id, send=send, receive=receive, until=until)

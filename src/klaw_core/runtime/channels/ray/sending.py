"""The send calls of a Ray sender: ``send``, ``try_send``, ``send_batch``, and blocked tasks' turns.

Why a line. A value enters a sender's local batch only when the channel has
room for it (the process's shared credit). When it has none, the calling task
blocks in its process's line of blocked sends (:class:`~..waiters.TurnLine`,
one per channel and event loop, shared by every sender of the process), and
only the first task in line acts: it waits for the actor, takes the room when
it comes, and passes the turn on. So blocked sends are admitted first come
first served (tokio's rule: sends complete in the order requested), a
``try_send`` or ``send`` arriving meanwhile never barges past them, and the
items of several tasks sharing one sender keep their admission order.

Why a ticket at the actor. Across processes the order is the actor's: the
first task in a process's line waits in the actor's line of puts
(``wait_room`` with its sender's id, :meth:`~.store.ChannelStore.reserve`),
and when it is first and room is free, the actor keeps that place for the put
that follows, so no later arrival takes the room in between.

Why nothing is lost on a deadline. The value is added to the batch only when
the task's turn came with room; a ``send`` that times out (the channel's
``timeout`` option, ``channels.timeout``) or is cancelled leaves nothing
behind and gives its place at the actor up.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

from klaw_core.result import Err, Ok, Result
from klaw_core.runtime.channels.ray.constants import PutAck
from klaw_core.runtime.channels.ray.endpoint import RayEndpoint
from klaw_core.runtime.channels.ray.link import ActorRestarted, call
from klaw_core.runtime.channels.ray.outbox import Outbox
from klaw_core.runtime.channels.ray.turns import bounded, sleep_in_line
from klaw_core.runtime.channels.waiters import Entry
from klaw_core.runtime.errors import (
    ChannelClosed,
    ChannelClosedError,
    ChannelFull,
    ChannelTimeoutError,
)

__all__ = ["SendCalls"]

T = TypeVar("T")

_OK_NONE: Ok[None] = Ok(None)

Fill = Callable[[int], bool]
"""Adds up to ``room`` values to the batch; True once the call has nothing left to add."""


class SendCalls(RayEndpoint, Generic[T]):
    """The send calls of :class:`~.sender.RaySender` (see the module docstring).

    The batch and its pump are :class:`~.pump.BatchPump`'s; this base only
    decides when a value may join the batch.

    Example:
        >>> from klaw_core.runtime.channels.ray.sender import RaySender
        >>> issubclass(RaySender, SendCalls)
        True
    """

    __slots__ = ()

    _outbox: Outbox[T]
    _pump: asyncio.Task[None] | None
    _linger: asyncio.TimerHandle | None
    _error: BaseException | None

    # Provided by the sender and its batch pump (:class:`~.pump.BatchPump`).
    def _check(self) -> None:
        raise NotImplementedError

    def _kick(self) -> None:
        raise NotImplementedError

    def _pump_alive(self) -> bool:
        raise NotImplementedError

    def _start_pump(self) -> None:
        raise NotImplementedError

    def _event(self) -> asyncio.Event:
        raise NotImplementedError

    async def _next_reply(self) -> None:
        raise NotImplementedError

    def _room_from(self, ack: PutAck) -> None:
        raise NotImplementedError

    async def _rejoin(self, epoch: int) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------- the calls

    async def send(self, value: T) -> None:
        """Add ``value`` to the batch, waiting while the channel has no room for it.

        Returns without a round trip while the channel has room, no task is
        blocked ahead, and the batch in flight and the one forming hold fewer
        than ``batch_size`` messages together (at most one batch is ever at
        risk): the batch leaves when full, after ``linger``, or on
        ``flush()``/``close()``. Blocked sends are admitted first come first
        served, across the senders of this process and, at the actor, across
        processes.

        Args:
            value: the item; it is encoded when its batch leaves, and validated
                against the channel's type only by the receiver.

        Raises:
            ChannelClosedError: every receiver is closed, or this sender is.
            ChannelTimeoutError: the channel's default deadline (its
                ``timeout`` option) passed while it waited; nothing was added.
            ChannelLostError: the channel actor died or lost its buffer.
            TypeError: a value sent earlier could not be encoded (it was
                dropped; raised once, by the next call).
        """
        link = self._link
        outbox = self._outbox
        pending = outbox.pending
        if (
            link.credit > 0
            and not link.send_line
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
                self._linger is None or len(pending) >= outbox.max_items
            ):
                self._kick()
            return

        def fill(room: int) -> bool:
            self._add([value])
            return True

        await self._send_in_line(fill)

    async def try_send(self, value: T) -> Result[None, ChannelFull | ChannelClosed]:
        """Add ``value`` to the batch unless the channel is full or a blocked send is ahead.

        Fullness is exact within a process (all its senders share one credit,
        and an exhausted credit is checked with the actor); a sender in another
        process may have used room that this one has not heard of yet, in which
        case the batch waits in the actor.

        Args:
            value: the item, as for :meth:`send`.

        Returns:
            ``Ok(None)`` when added to the batch, ``Err(ChannelFull(capacity))``
            when the channel is full, tasks are blocked sending (they come
            first), or the batch in flight and the one forming hold
            ``batch_size`` messages (the loss bound), ``Err(ChannelClosed(reason))`` when every receiver (or this
            sender) is closed. Nothing is added on ``Err``.

        Raises:
            ChannelLostError: the channel actor died or lost its buffer.
        """
        try:
            self._check()
        except ChannelClosedError as exc:
            return Err(exc.to_struct())
        link = self._link
        if link.line(link.send_line):
            return Err(ChannelFull(link.capacity))
        if (link.credit <= 0 or self._outbox.space() <= 0) and self._pump_alive():
            await self._next_reply()  # the batch in flight tells whether it fitted
        if link.credit <= 0:
            await link.report_local_receivers()
            try:
                ack: PutAck = await call(link, link.actor.wait_room.remote(0.0), 0.0)
            except ActorRestarted:  # room unknown: the next put finds the new epoch and rejoins
                return Err(ChannelFull(link.capacity))
            try:
                self._room_from(ack)
            except ChannelClosedError as exc:
                return Err(exc.to_struct())
            if link.credit <= 0 or link.send_line:
                return Err(ChannelFull(link.capacity))
        if self._outbox.space() <= 0:  # the batch in flight waits in the actor for room
            return Err(ChannelFull(link.capacity))
        self._add([value])
        return _OK_NONE

    async def send_batch(self, values: Iterable[T]) -> None:
        """Send every item of ``values`` in order, waiting for room as needed.

        Items go into the local batch as many at a time as there is credit and
        batch space for, so a long input becomes a few large frames. Once it
        has to wait, the call keeps its turn until every item is in.

        Args:
            values: the items; an iterator or generator is read lazily, only
                as fast as the channel has room (so an endless one works).

        Raises:
            ChannelClosedError: every receiver is closed, or this sender is.
                Items before the first one that did not fit have been sent.
            ChannelTimeoutError: the channel's default deadline passed while
                it waited; the items added before stay sent.
            ChannelLostError: the channel actor died or lost its buffer.
        """
        self._check()
        fill: Fill
        if isinstance(values, list | tuple):
            items: Sequence[T] = values
            start = 0

            def fill_from_sequence(room: int) -> bool:
                nonlocal start
                stop = min(len(items), start + room)
                self._add(items[start:stop])
                start = stop
                return start >= len(items)

            fill = fill_from_sequence
        else:
            source: Iterator[T] = iter(values)  # lazy: read only as room frees up

            def fill_from_iterator(room: int) -> bool:
                chunk = list(itertools.islice(source, room))
                self._add(chunk)
                return len(chunk) < room

            fill = fill_from_iterator
        link = self._link
        while not link.send_line:
            room = min(link.credit, self._outbox.space())
            if room <= 0:
                break
            if fill(room):
                return
            self._check()
        await self._send_in_line(fill)

    # ------------------------------------------------------------ the line

    def _add(self, values: Sequence[T]) -> None:
        """Put values into the batch (their room is taken) and make sure it will leave."""
        if values:
            self._outbox.pending.extend(values)
            self._link.credit -= len(values)
            self._kick()

    async def _send_in_line(self, fill: Fill) -> None:
        """Block in the process's line of sends until ``fill`` has added everything."""
        link = self._link
        self._check()
        loop = asyncio.get_running_loop()
        timeout = link.options.timeout
        deadline = None if timeout is None else loop.time() + timeout
        line = link.line(link.send_line)
        entry: Entry = (self, loop.create_future())
        line.join(entry)
        link.note_waiting()
        ticket = False  # a place of this sender may be held in the actor's line
        granted = False  # the actor keeps the turn for this sender's next put
        try:
            while True:
                self._check()
                if not line.is_head(entry):
                    entry = await sleep_in_line(line, entry, deadline, timeout)
                    continue
                space = self._outbox.space()
                room = min(link.credit, space)
                if granted and space > 0:
                    room = max(room, 1)
                if room > 0:
                    granted = False
                    pending = len(self._outbox.pending)
                    done = fill(room)
                    if len(self._outbox.pending) > pending:
                        ticket = False  # the put that follows replaces it, in its place
                    if done:
                        return
                    continue
                ticket = True
                granted = await self._room_as_head(deadline, timeout)
        finally:
            line.leave(entry)
            link.note_waiting()
            if ticket and link.usable and not self._closed:
                link.notify("withdraw_turn", self._id)  # a place kept for no put stops the line

    async def _room_as_head(self, deadline: float | None, timeout: float | None) -> bool:
        """Wait, as the first blocked task of this process, for room; True when the actor granted it.

        While this sender's batch is on its way, its answer brings the room;
        otherwise the task waits in the actor's line of puts (``wait_room``
        with this sender's id), one ``poll_interval`` at a time, keeping its
        place between calls.
        """
        link = self._link
        outbox = self._outbox
        if (outbox.pending or outbox.in_flight) and not self._pump_alive():
            self._start_pump()
        if self._pump is not None:
            event = self._event()
            event.clear()
            await bounded(event.wait(), deadline, timeout)
            return False
        await link.report_local_receivers()  # room they made and did not tell yet
        wait = link.options.poll_interval
        final = False
        if deadline is not None:
            remaining = max(0.0, deadline - asyncio.get_running_loop().time())
            if remaining <= wait:
                wait, final = remaining, True
        link.starved += 1  # meanwhile, local receivers tell as soon as they make room
        try:
            ack: PutAck = await call(link, link.actor.wait_room.remote(wait, self._id, final), wait)
        except ActorRestarted as exc:  # the new epoch knows this sender once it rejoined
            await self._rejoin(exc.epoch)
            return False
        finally:
            link.starved -= 1
        if ack.status == "ok":
            link.set_room(ack.room)
            return True
        if ack.status == "full":
            link.credit = min(link.credit, 0)
            if final:
                raise ChannelTimeoutError(timeout)
            return False
        self._room_from(ack)  # raises: closed or lost
        return False

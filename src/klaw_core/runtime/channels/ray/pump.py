"""``BatchPump``: how a Ray sender's batch reaches the actor, and how it rejoins a restarted one.

Why a separate piece. :class:`~.sender.RaySender` is the endpoint a user
holds (flush, close, clone, pickling); :class:`~.sending.SendCalls` decides
when a value may join the local batch. This base owns what happens to the
batch after that, so that flow control towards the actor reads in one file:

- **The pump.** One task per sender puts the batch in one actor call
  (:func:`~.packed.put_arguments`), started by ``send()`` when no call is in flight
  (natural batching), after ``linger`` otherwise, and keeps one call in
  flight: its answer releases what was delivered, tells the room left
  (the process's shared credit), or says the channel is full, in which case
  the batch waits in the actor (``poll_interval`` at a time) and local
  receivers learn that a sender waits for room.
- **The rejoin.** When Ray restarts the actor (a new epoch), the sender
  registers again under the same identity and replays every batch it kept, in
  order, before anything new; the heartbeat thread starts it for an idle
  sender (:meth:`BatchPump.actor_restarted`).

Failures are kept, not raised, by the pump: the sender's next call raises them
(a lost channel naming the seqs this sender accepted and could not deliver).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, TypeVar

from klaw_core.runtime.channels.ray.constants import ALL_RECEIVERS_CLOSED, LOST_DETAIL, PutAck
from klaw_core.runtime.channels.ray.link import ActorRestarted, call, closed_error
from klaw_core.runtime.channels.ray.packed import PutCall, put_ack, put_arguments
from klaw_core.runtime.channels.ray.sending import SendCalls
from klaw_core.runtime.errors import ChannelLostError, ReceiversClosedError

__all__ = ["BatchPump"]

T = TypeVar("T")


class BatchPump(SendCalls[T]):
    """The batch pump and restart rejoin of :class:`~.sender.RaySender` (see the module docstring).

    It provides what :class:`~.sending.SendCalls` leaves to the sender; the
    sender's ``__init__`` sets its state.

    Example:
        >>> from klaw_core.runtime.channels.ray.sender import RaySender
        >>> RaySender.__mro__[1:3] == (BatchPump, SendCalls)
        True
    """

    __slots__ = (
        "_epoch",
        "_error",
        "_inflight_ref",
        "_linger",
        "_loop",
        "_pump",
        "_replies",
        "_restart_epoch",
        "_space",
        "_space_loop",
        "_waiting_room",
    )

    _epoch: int
    _restart_epoch: int | None
    _inflight_ref: Any
    _replies: int
    _waiting_room: bool
    _loop: asyncio.AbstractEventLoop | None
    _space: asyncio.Event | None
    _space_loop: asyncio.AbstractEventLoop | None

    # ------------------------------------------------------------ the pump

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

    def _lost_error(self) -> ChannelLostError:
        """The channel-lost error, naming the seqs this sender accepted and could not deliver."""
        link = self._link
        detail = f"{link.lost or LOST_DETAIL} (sender stream {self._id:#x})"
        return ChannelLostError(link.channel_id, detail, self._outbox.lost())

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

    def actor_restarted(self, epoch: int) -> None:
        """Ray restarted the actor (heartbeat thread): replay what is kept, even while idle.

        Args:
            epoch: the actor's current epoch.
        """
        loop = self._loop
        if epoch == self._epoch or self._closed or not self._outbox.kept or loop is None:
            return
        with contextlib.suppress(RuntimeError):  # its event loop has ended: nothing can run
            loop.call_soon_threadsafe(self._rejoin_soon, epoch)

    def _rejoin_soon(self, epoch: int) -> None:
        if epoch == self._epoch or self._closed or self._pump_alive():
            return  # a pump at work meets the new epoch in its next reply
        self._restart_epoch = epoch
        self._start_pump()

    async def _run_pump(self) -> None:
        try:
            outbox = self._outbox
            epoch, self._restart_epoch = self._restart_epoch, None
            if epoch is not None and epoch != self._epoch:
                await self._rejoin(epoch)
            if outbox.in_flight is not None:  # a call its event loop abandoned: its answer first
                await self._store(*outbox.in_flight, self._inflight_ref)
            while outbox.pending and self._error is None:
                if self._link.send_line and outbox.space() > 0:
                    # Blocked sends refill the batch first. Taking the few
                    # values pending now would split the one-batch budget
                    # between a tiny batch in flight and a large one forming,
                    # for good: a producer that sent 1 message, yielded and
                    # then flooded put 1 and 16,383 messages by turns (-15 %).
                    await asyncio.sleep(0)
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

    def _submit(self, put: PutCall) -> Any:
        """Make the put call ``put`` (frames included); return its ``ObjectRef``."""
        method, args = put_arguments(put)
        return getattr(self._link.actor, method).remote(*args)

    async def _store(self, data: bytes, count: int, ref: Any) -> None:
        """Put one encoded batch until the actor stores it (``ref``: a call already made)."""
        link = self._link
        outbox = self._outbox
        # The first attempt does not wait in the actor, so every batch gets an
        # answer ("stored" or "full") within one round trip: try_send relies on
        # it to tell a full channel from one that is merely busy.
        wait = 0.0
        while True:
            if ref is None:
                args = PutCall(
                    count, self._id, self._stream, wait, self._epoch, outbox.oldest(), data
                )
                ref = self._submit(args)
            # Kept until answered: if this loop ends meanwhile, the next pump
            # waits for this answer before sending more (one call in flight).
            self._inflight_ref = ref
            try:
                ack = put_ack(await call(link, ref, wait))
            except ActorRestarted as exc:
                ack = PutAck("restarted", epoch=exc.epoch)
            self._inflight_ref = ref = None
            if ack.through >= 0:
                outbox.release(ack.through)
            if ack.status == "restarted":
                await self._rejoin(ack.epoch)
                wait = 0.0
                continue
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

    async def _rejoin(self, epoch: int) -> None:
        """Join the actor's new incarnation: register again, replay every kept batch in order.

        Each replayed batch waits for room like any put (what is kept was
        counted against the capacity, so it fits as receivers deliver). A
        further restart meanwhile starts the replay again for that epoch.
        """
        link = self._link
        outbox = self._outbox
        wait = link.options.poll_interval
        while True:
            self._epoch = epoch
            link.epoch = max(link.epoch, epoch)
            try:
                ack: PutAck = await call(link, link.actor.register_sender.remote(self._id), 0.0)
                if ack.status == "ok" and ack.epoch != epoch:
                    epoch = ack.epoch
                    continue
                self._room_from(ack)
                for entry in list(outbox.kept or ()):
                    if not outbox.kept or entry[0] < outbox.kept[0][0]:
                        continue  # released meanwhile: delivered
                    _seq, count, data = entry
                    while True:
                        args = PutCall(
                            count, self._id, self._stream, wait, epoch, outbox.oldest(), data
                        )
                        ack = put_ack(await call(link, self._submit(args), wait))
                        if ack.through >= 0:
                            outbox.release(ack.through)
                        if ack.status == "restarted":
                            raise ActorRestarted(link.channel_id, ack.epoch)
                        if ack.status != "full":
                            self._room_from(ack)
                            break
            except ActorRestarted as exc:
                epoch = exc.epoch
                continue
            return

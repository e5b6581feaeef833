"""``FrameFetcher``: how a Ray receiver fetches frames, and how it rejoins a restarted actor.

Why a separate piece. :class:`~.receiver.RayReceiver` is the endpoint a user
holds (acknowledging, closing, cloning, pickling); :class:`~.receiving.ReceiveCalls`
decides which blocked task gets the next message. This base owns how the
messages get here, so that fetching reads in one file:

- **The fetch.** One ``get_frames`` call in flight per receiver
  (``get_frames_packed``): it carries what the receiver delivered so far, waits
  in the actor up to ``poll_interval`` for frames, and is made again at once
  after a large batch (its round trip overlaps with delivering the batch) or
  once the caller took a small one. A fetch parked in the actor is woken
  (``wake_reader``) when the receiver closes.
- **The rejoin.** When Ray restarts the actor (a new epoch, its buffer gone),
  the receiver drops what it fetched and did not deliver (the producers replay
  it), starts a new session, and tells the new epoch which seq spans it
  delivered: with its next fetch, or at once for an idle receiver
  (:meth:`FrameFetcher.actor_restarted`, from the heartbeat thread).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, TypeVar

from klaw_core.runtime.channels.ray.constants import FrameBatch
from klaw_core.runtime.channels.ray.link import ActorRestarted, call, new_endpoint_id
from klaw_core.runtime.channels.ray.packed import GetCall, frame_batch, pack
from klaw_core.runtime.channels.ray.receiving import ReceiveCalls
from klaw_core.runtime.errors import ChannelLostError

__all__ = ["FrameFetcher"]

T = TypeVar("T")


#: A batch of at least this many messages has the next fetch submitted at once.
_PREFETCH_AT_ONCE = 1024

_Report = dict[int, list[tuple[int, int]]]
"""Per sender stream, the seq spans a receiver delivered before a restart."""


class FrameFetcher(ReceiveCalls[T]):
    """The fetching and restart rejoin of :class:`~.receiver.RayReceiver` (see the module docstring).

    It provides what :class:`~.receiving.ReceiveCalls` leaves to the receiver;
    the receiver's ``__init__`` sets its state.

    Example:
        >>> from klaw_core.runtime.channels.ray.receiver import RayReceiver
        >>> RayReceiver.__mro__[1:3] == (FrameFetcher, ReceiveCalls)
        True
    """

    __slots__ = (
        "_confirmed",
        "_epoch",
        "_fetch",
        "_fetch_size",
        "_loop",
        "_report",
        "_reported",
        "_wake_gen",
    )

    _epoch: int
    _fetch_size: int
    _report: tuple[_Report, bool] | None
    _reported: int
    _wake_gen: int
    _acks: set[asyncio.Task[Any]]

    @property
    def delivered(self) -> int:
        """Messages this receiver counts as delivered (the receiver's, reported with each fetch)."""
        raise NotImplementedError

    # ------------------------------------------------------------ the fetch

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
        submitted = self._get(wait, generation) if prefetch >= _PREFETCH_AT_ONCE else None
        return loop.create_task(self._fetch_loop(generation, once, wait, submitted, prefetch > 0))

    def _get(self, wait: float, generation: int) -> tuple[Any, _Report | None]:
        """Submit one ``get_frames`` call, reporting what was delivered so far.

        Returns:
            The call's ``ObjectRef`` and the restart report it carries (the
            spans delivered before a restart; ``None`` when there is none).
        """
        delivered = self.delivered
        self._reported = max(self._reported, delivered)
        report, exclusive = self._report or (None, False)
        args = GetCall(
            self._id,
            self._stream,
            self._fetch_size,
            wait,
            generation,
            delivered,
            self._inbox.received,
            self._epoch,
            report,
            exclusive,
        )
        ref = self._link.actor.get_frames_packed.remote(pack(args))
        return ref, report

    async def _fetch_loop(
        self,
        generation: int,
        once: bool,
        wait: float,
        submitted: tuple[Any, _Report | None] | None,
        after_caller: bool,
    ) -> FrameBatch:
        link = self._link
        if submitted is None and after_caller:
            await asyncio.sleep(0)  # the caller takes the messages first
        while True:
            if submitted is None:
                submitted = self._get(wait, generation)
            ref, report = submitted
            submitted = None
            try:
                batch = frame_batch(await call(link, ref, wait))
            except ActorRestarted as exc:
                batch = FrameBatch("restarted", epoch=exc.epoch)
            except ChannelLostError as exc:
                raise ChannelLostError(exc.channel, exc.detail + self._inbox.last_seen()) from exc
            if batch.status == "restarted":
                if batch.epoch != self._epoch:
                    self._restart(batch.epoch)
                continue
            if report is not None and self._report is not None and self._report[0] is report:
                self._report = None  # the new epoch has it
            if batch.status != "empty" or once or self._wake_gen > generation:
                line = link.recv_line
                if line.owner_loop is asyncio.get_running_loop():
                    # One event-loop step sooner than this task's done callback
                    # (``_fetched``): the head takes once this task has returned.
                    line.wake_head()
                return batch

    def _restart(self, epoch: int) -> None:
        """Join the actor's new epoch: drop what is held undelivered, start a new session.

        What it delivered (seq spans per stream) is kept in ``_report`` until
        the new epoch has it (the next fetch, or :meth:`_resume`, carries it).
        """
        self._epoch = epoch
        self._link.epoch = max(self._link.epoch, epoch)
        self._stream = new_endpoint_id()
        self._reported = 0
        if self._confirmed is not None:
            self._confirmed = 0
        exclusive = self._inbox.exclusive
        self._report = (self._inbox.restart(), exclusive)

    def actor_restarted(self, epoch: int) -> None:
        """Ray restarted the actor (heartbeat thread): report what was delivered, even while idle.

        The new epoch hands nothing out until every receiver reported, so an
        idle receiver must not wait for its next fetch to do it.

        Args:
            epoch: the actor's current epoch.
        """
        if epoch == self._epoch or self._closed:
            return
        loop = self._loop
        if loop is None or loop.is_closed():  # no event loop will run it: report from here
            self._restart(epoch)
            report, exclusive = self._report or ({}, False)
            self._report = None
            link = self._link
            link.actor.resume_receiver.remote(self._id, epoch, report, exclusive)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._resume_soon, epoch)

    def _resume_soon(self, epoch: int) -> None:
        fetch = self._fetch
        if epoch == self._epoch or self._closed or (fetch is not None and not fetch.done()):
            return  # the fetch in flight meets the new epoch and reports
        self._restart(epoch)
        task = asyncio.get_running_loop().create_task(self._resume())
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _resume(self) -> None:
        """Send the pending report to the new epoch without fetching."""
        pending = self._report
        if pending is None:
            return
        report, exclusive = pending
        link = self._link
        try:
            reply: FrameBatch = await call(
                link,
                link.actor.resume_receiver.remote(self._id, self._epoch, report, exclusive),
                0.0,
            )
        except ChannelLostError:
            return  # the next fetch tells
        if reply.status == "ok" and self._report is pending:
            self._report = None

    def _accept(self, batch: FrameBatch) -> None:
        if self._inbox.accept(batch):
            if not self._closed and self._fetch is None:  # keep one call in flight
                self._fetch = self._start_fetch(once=False, prefetch=max(1, sum(batch.counts)))
        elif batch.status == "lost":
            raise self._link.lose(f"{batch.detail}{self._inbox.last_seen()}")

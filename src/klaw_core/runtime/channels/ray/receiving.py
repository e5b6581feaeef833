"""The receive calls of a Ray receiver: ``recv``, ``try_recv``, ``recv_batch``, ``async for``.

Why a line. Tasks blocked receiving, on one receiver or on clones of it in
the same process, wait in the process's line of blocked receives
(:class:`~..waiters.TurnLine`, one per channel and event loop). Only the first
task in line takes: when a fetch brings frames it is woken, takes the next
message *when it runs* and passes the turn on. So blocked receivers are served
first come first served (trio's rule), a ``try_recv`` arriving meanwhile gets
``ChannelEmpty`` instead of barging, and a woken task keeps its place: it is
never sent to the back. Taking only when running is also why a receive that is
cancelled or times out loses nothing: what was fetched stays for the next one.

Across processes the actor serves parked fetches in arrival order
(:class:`~.waiting.WaitingCalls`). A task's turn may take what a sibling
receiver of the same process fetched and has not delivered (receivers in
explicit acknowledgement mode neither lend nor borrow: they acknowledge only
what they returned themselves).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from typing import Any, Generic, TypeVar, cast

from klaw_core.result import Err, Ok, Result
from klaw_core.runtime.channels.ray.constants import RECEIVER_CLOSED, FrameBatch
from klaw_core.runtime.channels.ray.endpoint import RayEndpoint
from klaw_core.runtime.channels.ray.inbox import NOTHING, Inbox
from klaw_core.runtime.channels.ray.turns import sleep_in_line
from klaw_core.runtime.channels.waiters import Entry
from klaw_core.runtime.errors import (
    ChannelClosed,
    ChannelClosedError,
    ChannelEmpty,
    ChannelEndedError,
    ChannelLostError,
    ChannelTimeoutError,
    EndpointClosed,
    EndpointClosedError,
)

__all__ = ["ReceiveCalls"]

T = TypeVar("T")

_EMPTY: Err[ChannelEmpty] = Err(ChannelEmpty())
_THIS_RECEIVER_CLOSED: Err[EndpointClosed] = Err(EndpointClosed(RECEIVER_CLOSED))

# Fetches whose completion already wakes the first task in line.
_hooked: weakref.WeakSet[asyncio.Task[FrameBatch]] = weakref.WeakSet()


class ReceiveCalls(RayEndpoint, Generic[T]):
    """The receive calls of :class:`~.receiver.RayReceiver` (see the module docstring).

    The fetching and acknowledging are the receiver's; this base decides who
    gets the next message.

    Example:
        >>> from klaw_core.runtime.channels.ray.receiver import RayReceiver
        >>> issubclass(RayReceiver, ReceiveCalls)
        True
    """

    __slots__ = ()

    _inbox: Inbox
    _fetch: asyncio.Task[FrameBatch] | None
    _loop: asyncio.AbstractEventLoop | None
    _confirmed: int | None

    # Provided by the receiver (its fetching and acknowledging).
    def _report_soon(self) -> None:
        raise NotImplementedError

    def _start_fetch(self, *, once: bool, prefetch: int = 0) -> asyncio.Task[FrameBatch]:
        raise NotImplementedError

    def _drop_stale_fetch(self) -> None:
        raise NotImplementedError

    async def _wake(self) -> None:
        raise NotImplementedError

    def _accept(self, batch: FrameBatch) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------- the calls

    async def recv(self) -> T:
        """Receive the next message, waiting while the channel is empty.

        Returns at once while prefetched messages remain and no task is
        blocked ahead; otherwise waits, first come first served, for the next
        batch from the actor.

        Returns:
            The next message, validated against the channel's type.

        Raises:
            ChannelClosedError: end of channel (every sender closed and the
                channel drained), or this receiver is closed.
            ChannelTimeoutError: the channel's default deadline (its
                ``timeout`` option) passed; nothing was taken.
            InvalidMessageError: the next message does not match the channel's
                type (it is skipped; call again for the following ones).
            ChannelLostError: messages were lost, or the channel actor died.
        """
        inbox = self._inbox
        pos = inbox.pos
        items = inbox.items
        if (
            pos < len(items)
            and not inbox.bad
            and not inbox.dupes  # delivered before (the actor said): dropped by the slow path
            and inbox.deferred is None
            and not self._closed
            and not self._link.recv_line
        ):
            inbox.pos = pos + 1
            if self._link.starved:
                self._report_soon()
            return cast(T, items[pos])
        return cast(T, await self._recv_in_line(self._link.options.timeout, default=True))

    async def try_recv(self) -> Result[T, ChannelEmpty | ChannelClosed]:
        """Receive the next message if one is available now and no task is blocked ahead.

        Messages still in a sender of this process count as available (they are
        flushed first); messages of other processes count once stored in the actor.

        Returns:
            ``Ok(item)``, ``Err(ChannelEmpty())`` (also while tasks are blocked
            receiving: they come first) or ``Err(ChannelClosed(reason))``.

        Raises:
            InvalidMessageError: the next message does not match the channel's type.
            ChannelLostError: messages were lost, or the channel actor died.
        """
        if self._closed:
            return _THIS_RECEIVER_CLOSED
        link = self._link
        polled = False
        while not link.line(link.recv_line):
            try:
                item = self._next_shared()
            except ChannelClosedError as exc:
                return Err(exc.to_struct())
            if item is not NOTHING:
                return Ok(cast(T, item))
            if polled:
                break
            await self._poll_now()
            polled = True
        return _EMPTY

    async def recv_batch(self, max_items: int, timeout: float | None = None) -> list[T]:
        """Wait (up to ``timeout`` s) for a message, then take up to ``max_items`` available ones.

        "Available" means already fetched by this receiver: the batch never
        waits for another actor call once it has its first message.

        Args:
            max_items: the most messages to return, at least 1.
            timeout: seconds to wait for the first message; ``None`` waits up
                to the channel's default deadline (its ``timeout`` option;
                none unless configured), ``0`` asks the actor once without
                waiting (after pushing what senders of this process hold).

        Returns:
            A new list of 1 to ``max_items`` messages, or ``[]`` if ``timeout``
            elapsed first. It stops before an invalid message, which the next
            call raises.

        Raises:
            ChannelClosedError: end of channel, or this receiver is closed.
            ChannelTimeoutError: ``timeout`` is ``None`` and the channel's
                default deadline passed.
            ValueError: ``max_items < 1`` or ``timeout < 0``.
            InvalidMessageError: the next message does not match the channel's type.
            ChannelLostError: messages were lost, or the channel actor died.
        """
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be >= 0 or None, got {timeout}")
        if self._closed:
            raise EndpointClosedError(RECEIVER_CLOSED)
        link = self._link
        if timeout == 0:
            first: object = NOTHING
            if not link.line(link.recv_line):
                first = self._next_shared()
                if first is NOTHING:
                    await self._poll_now()
                    if not link.recv_line:
                        first = self._next_shared()
            if first is NOTHING:
                return []
        elif timeout is None:
            first = await self._recv_in_line(link.options.timeout, default=True)
        else:
            first = await self._recv_in_line(timeout, default=False)
            if first is NOTHING:
                return []
        out: list[T] = [cast(T, first)]
        inbox = self._inbox
        while not inbox.take(out, max_items):
            if inbox.deferred is not None or inbox.bad or not self._take_done_fetch():
                break
        if link.starved:
            self._report_soon()
        return out

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        inbox = self._inbox
        pos = inbox.pos
        items = inbox.items
        if (
            pos < len(items)
            and not inbox.bad
            and not inbox.dupes  # delivered before (the actor said): dropped by the slow path
            and inbox.deferred is None
            and not self._closed
            and not self._link.recv_line
        ):
            inbox.pos = pos + 1
            if self._link.starved:
                self._report_soon()
            return cast(T, items[pos])
        try:
            return await self.recv()
        except ChannelEndedError:
            raise StopAsyncIteration from None

    def take_pending(self, loop: asyncio.AbstractEventLoop) -> object:
        """Hand over the next message this receiver fetched and has not delivered.

        A task blocked on a sibling receiver of this process takes it in its
        turn, so no message waits in one receiver while another's task waits.
        It counts as delivered by this receiver.

        Args:
            loop: the running event loop; a receiver working on another one,
                closed, or acknowledging explicitly lends nothing.

        Returns:
            The message, or ``NOTHING``.

        Raises:
            InvalidMessageError: the next message does not match the channel's type.
            ChannelLostError: messages were lost, or the channel actor died.
        """
        if self._closed or self._confirmed is not None or self._loop is not loop:
            return NOTHING
        inbox = self._inbox
        while True:
            item = inbox.next()
            if item is not NOTHING:
                if self._link.starved:
                    self._report_soon()  # a sender of this process waits for this room
                return item
            if not self._take_done_fetch():
                if inbox.eof is not None:
                    self._report_soon()  # the others' end waits for this one's acknowledgement
                return NOTHING

    # ------------------------------------------------------------ the line

    async def _recv_in_line(self, timeout: float | None, *, default: bool) -> object:
        """The next message, waiting in the process's line of receives.

        Args:
            timeout: seconds to wait at most (``None``: no limit).
            default: the deadline is the channel's default one: past it, raise
                ``ChannelTimeoutError``; else return ``NOTHING``.
        """
        link = self._link
        line = link.line(link.recv_line)
        if not line:
            item = self._next_shared()
            if item is not NOTHING:
                return item
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        entry: Entry = (self, loop.create_future())
        line.join(entry)
        link.note_waiting()
        try:
            while True:
                if self._closed:
                    raise EndpointClosedError(RECEIVER_CLOSED)
                if line.is_head(entry):
                    item = self._next_shared()
                    if item is not NOTHING:
                        return item
                    self._await_fetches()
                try:
                    entry = await sleep_in_line(line, entry, deadline, timeout)
                except ChannelTimeoutError:
                    if default:
                        raise
                    return NOTHING
        finally:
            line.leave(entry)
            link.note_waiting()

    def _await_fetches(self) -> None:
        """Keep a fetch in flight for this receiver; wake the line when any local fetch returns."""
        link = self._link
        if link.lost is not None:
            raise ChannelLostError(link.channel_id, link.lost + self._inbox.last_seen())
        self._drop_stale_fetch()
        if self._fetch is None and self._fetcher() is self:
            self._fetch = self._start_fetch(once=False)  # type: ignore[misc]  # the receiver's slot
        self._report_soon()  # others may wait at the end until this one's batch is acked
        loop = asyncio.get_running_loop()
        for receiver in (self, *link.receivers):
            fetch = getattr(receiver, "_fetch", None)
            if fetch is not None and fetch.get_loop() is loop and fetch not in _hooked:
                _hooked.add(fetch)
                fetch.add_done_callback(self._fetched)

    def _fetched(self, fetch: asyncio.Task[FrameBatch]) -> None:
        line = self._link.recv_line
        if line.owner_loop is fetch.get_loop():
            line.wake_head()

    def _next_shared(self) -> object:
        """The next message of this receiver, else one a sibling of this process fetched."""
        item = self._next_local()
        if item is NOTHING and self._confirmed is None:
            loop = asyncio.get_running_loop()
            for other in list(self._link.receivers):
                if cast(object, other) is not self:
                    item = other.take_pending(loop)
                    if item is not NOTHING:
                        return item
        return item

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
        self._fetch = None  # type: ignore[misc]
        if fetch.cancelled():  # its event loop ended while it waited
            return False
        batch = fetch.result()
        self._accept(batch)
        return batch.status == "ok"

    def _fetcher(self) -> ReceiveCalls[Any]:
        """The receiver whose fetch serves this one: a lending sibling with one in flight, or itself.

        One fetch at a time per process keeps what its tasks take in the
        order the actor handed it out, and spares the actor calls.
        """
        if self._confirmed is not None or self._fetch is not None:
            return self
        loop = asyncio.get_running_loop()
        for other in self._link.receivers:
            if (
                isinstance(other, ReceiveCalls)
                and other is not self
                and other._fetch is not None
                and other._loop is loop
                and other._confirmed is None
                and not other._closed
                and other._inbox.eof is None
            ):
                return other
        return self

    async def _poll_now(self) -> None:
        """Fetch whatever the channel holds right now, without waiting for more."""
        link = self._link
        await link.push_local_senders()
        self._drop_stale_fetch()
        fetcher = self._fetcher()
        fetch = fetcher._fetch
        if fetch is None:
            fetch = fetcher._fetch = fetcher._start_fetch(once=True)  # type: ignore[misc]
        elif not fetch.done():
            await fetcher._wake()
        await asyncio.shield(fetch)
        if fetcher._fetch is fetch and not fetcher._closed:
            fetcher._take_done_fetch()

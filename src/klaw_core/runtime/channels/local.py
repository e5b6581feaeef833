"""In-process channels: ``LocalSender[T]``/``LocalReceiver[T]`` for coroutines of one event loop.

Both ends share one :class:`~.local_state.LocalChannelState`: a ``deque``
buffer, the endpoint counts, the totals, and two FIFO queues of blocked tasks.
Items are never serialised or copied.

Why it is fast. The common case never suspends: ``send`` on a channel with
room appends and returns, ``recv`` on a non-empty channel pops and returns,
without a trip through the event loop and without allocating anything but the
coroutine itself. A future is created only when a call really has to wait
(empty or full), so with a bounded channel under load a producer and a
consumer exchange about one wake-up per buffer-full of items instead of one per
item. (anyio's memory object streams yield to the event loop on every call, and
``asyncio.Queue`` allocates a future per waiting call and has no batch calls.)

Why it is fair (trio's rule). Blocked senders and receivers are served
first-come first-served; the room or item a woken task was granted is its own
until it runs, so a newcomer (``send``, ``try_send``, ``recv``, ``try_recv``)
never barges past a waiter (see :mod:`.local_state`).

Why it is safe under cancellation. A grant carries a right, never an item: an
item enters the buffer only when its ``send`` returns, and leaves it only when
a ``recv`` returns it. A ``send`` or ``recv`` cancelled after it was woken
passes its grant to the next waiter, so a cancelled ``send`` enqueues nothing
and a cancelled ``recv`` loses nothing.

Closing. ``close()`` (or ``async with``) closes an endpoint; a task blocked on
that endpoint raises :class:`~klaw_core.runtime.errors.EndpointClosedError`.
An endpoint garbage-collected without ``close()`` emits a ``ResourceWarning``
and counts as closed (tokio's ``Drop``): the channel ends when its last sender
is gone, and sends fail once its last receiver is.

Not thread-safe: use the channel from the event loop that runs its endpoints
(to feed it from a thread, ``loop.call_soon_threadsafe`` a coroutine that
sends).
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
import warnings
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import ClassVar, Final, Generic, Self, TypeVar, cast

from klaw_core.result import Err, Ok, Result
from klaw_core.runtime.channels.local_state import LocalChannelState, wake_all
from klaw_core.runtime.channels.protocols import DEFAULT_CAPACITY, ClosesOnExit
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.errors import (
    ChannelClosed,
    ChannelEmpty,
    ChannelEnded,
    ChannelEndedError,
    ChannelFull,
    ChannelTimeoutError,
    EndpointClosed,
    EndpointClosedError,
    ReceiversClosed,
    ReceiversClosedError,
)

__all__ = ["LocalReceiver", "LocalSender", "local_channel"]

T = TypeVar("T")

_SENDER_CLOSED: Final = "this sender is closed"
_RECEIVER_CLOSED: Final = "this receiver is closed"

_OK_NONE: Ok[None] = Ok(None)
_EMPTY: Err[ChannelEmpty] = Err(ChannelEmpty())
_ENDED: Err[ChannelEnded] = Err(ChannelEnded())
_NO_RECEIVERS: Err[ReceiversClosed] = Err(ReceiversClosed())
_THIS_SENDER_CLOSED: Err[EndpointClosed] = Err(EndpointClosed(_SENDER_CLOSED))
_THIS_RECEIVER_CLOSED: Err[EndpointClosed] = Err(EndpointClosed(_RECEIVER_CLOSED))
_NOTHING: Final = object()


def _enqueue(state: LocalChannelState[T], owner: object, send: bool) -> asyncio.Future[bool]:
    """Queue a waiter for a turn to send (``send``) or to receive, and return its future.

    The future resolves to ``True`` with a grant, ``False`` on a close. Queued
    behind grants not used yet, the call may get its turn at once.
    """
    waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    if send:
        state.send_waiters.append((owner, waiter))
        if len(state.buffer) < state.open_limit:
            state.grant_room()
    else:
        state.recv_waiters.append((owner, waiter))
        if len(state.buffer) > state.claimed:
            state.grant_items()
    return waiter


def _abandon(
    state: LocalChannelState[T], owner: object, send: bool, waiter: asyncio.Future[bool]
) -> None:
    """Undo a wait ended by an exception (cancelled, timed out).

    Granted and then cancelled before it ran, the grant goes to the next waiter,
    so a slot or an item never stays with nobody woken for it.
    """
    if waiter.done() and not waiter.cancelled():
        if waiter.result():
            if send:
                state.release_slot(owner)
            else:
                state.release_item(owner)
        return
    with contextlib.suppress(ValueError):
        (state.send_waiters if send else state.recv_waiters).remove((owner, waiter))


class _LocalEndpoint(ClosesOnExit, Generic[T]):
    """What both ends share: the channel state, the closed flag, and the
    lifecycle (``clone``, ``close``, ``stats``, ``async with``, closing at
    garbage collection). A subclass names its side and how leaving the channel
    affects the other side (``_leave``)."""

    __slots__ = ("_busy", "_closed", "_state")

    _closed_reason: ClassVar[str]

    def __init__(self, state: LocalChannelState[T]) -> None:
        self._state = state
        self._closed = False
        # Grants held by this endpoint's woken tasks and not used yet, plus one
        # once closed: the fast paths check both at once.
        self._busy = 0

    @property
    def closed(self) -> bool:
        """True once this endpoint is closed (or was dropped without ``close()``)."""
        return self._closed

    def _leave(self) -> None:
        """Drop this endpoint from the channel's count and wake who must notice."""
        raise NotImplementedError

    def _join(self) -> None:
        """Count this new endpoint in the channel."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close this endpoint (idempotent); tasks blocked on it raise ``EndpointClosedError``."""
        if self._closed:
            return
        self._closed = True
        self._busy += 1
        self._leave()

    def __del__(self) -> None:
        # tokio's Drop: an endpoint nobody can use any more counts as closed, so
        # the other side is not left waiting forever; anyio warns about it.
        if getattr(self, "_closed", True):
            return
        self._closed = True
        self._busy += 1
        try:
            warnings.warn(
                f"{type(self).__name__} garbage-collected without close(); closing it "
                f"({self._state.describe()})",
                ResourceWarning,
                stacklevel=1,
                source=self,
            )
        finally:
            self._leave_from_gc()

    def _leave_from_gc(self) -> None:
        """Leave the channel from a finalizer, which may run in any thread."""
        state = self._state
        queued = state.send_waiters or state.recv_waiters
        if not queued:
            self._leave()  # nothing to wake: only counters change
            return
        waiter = cast("asyncio.Future[bool]", queued[0][1])
        loop = waiter.get_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._leave()
        else:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(self._leave)

    def clone(self) -> Self:
        """Return a new open endpoint of the same kind on the same channel.

        The clone counts as one more sender (or receiver) until it is closed:
        the channel ends only when every sender, clones included, has closed.

        Returns:
            The new endpoint.

        Raises:
            EndpointClosedError: this endpoint is closed.
        """
        if self._closed:
            raise EndpointClosedError(self._closed_reason)
        clone = type(self)(self._state)
        clone._join()
        return clone

    async def stats(self) -> ChannelStats:
        """Return a snapshot of the channel's counters.

        Returns:
            The counters at this moment (no suspension: the state is in-process).
        """
        return self._state.snapshot()

    def __repr__(self) -> str:
        status = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {status} {self._state.describe()}>"


class LocalSender(_LocalEndpoint[T]):
    """The sending end of an in-process channel (implements :class:`~.protocols.Sender`).

    Create with :func:`klaw_core.runtime.channels.channel` (or
    :func:`local_channel`); ``clone()`` for more producers.

    Example:
        >>> import asyncio
        >>> async def main() -> list[int]:
        ...     tx, rx = local_channel(2)
        ...     await tx.send(1)
        ...     full = await tx.try_send(2), await tx.try_send(3)
        ...     await tx.close()
        ...     print(full)
        ...     return [item async for item in rx]
        >>> asyncio.run(main())
        (Ok(value=None), Err(error=ChannelFull(capacity=2)))
        [1, 2]
    """

    __slots__ = ()

    _closed_reason = _SENDER_CLOSED

    async def send(self, value: T) -> None:
        """Send ``value``, waiting while the channel is full.

        Returns without suspending when there is room and no sender is ahead in
        line. Blocked senders are admitted first-come first-served; cancelled
        while it waits, it enqueues nothing.

        Args:
            value: the item; it is stored as is (no copy, no validation).

        Raises:
            EndpointClosedError: this sender is closed (also while it waits).
            ReceiversClosedError: every receiver is closed (also while it waits).
            ChannelTimeoutError: the channel's default deadline
                (``channels.timeout``) passed while it waited.
        """
        state = self._state
        buffer = state.buffer
        if self._busy or not state.receivers or len(buffer) >= state.open_limit:
            await self._claim_slot()
            state.open_limit += 1
            self._busy -= 1
        buffer.append(value)
        state.sent += 1
        if len(buffer) > state.high_watermark:
            state.high_watermark = len(buffer)
        if state.recv_waiters:
            state.grant_items()

    async def _claim_slot(self) -> None:
        """Return owning one granted slot (taken out of ``state.open_limit``, counted in ``_busy``).

        (Written out rather than shared with ``_claim_item``: one coroutine less
        per wait is measurable on a channel that waits once per item.)
        """
        state = self._state
        if not self._busy and state.receivers:
            if len(state.buffer) < state.open_limit:
                state.open_limit -= 1
                self._busy += 1
                return
        elif self._closed:
            raise EndpointClosedError(_SENDER_CLOSED)
        elif not state.receivers:
            raise ReceiversClosedError()
        waiter = _enqueue(state, self, True)
        timeout = state.timeout
        try:
            if waiter.done():  # granted at once, behind this endpoint's own grants:
                await asyncio.sleep(0)  # let those tasks (already woken) go first
            if timeout is None:
                granted = await waiter
            else:
                async with asyncio.timeout(timeout):
                    granted = await waiter
        except BaseException as exc:
            _abandon(state, self, True, waiter)
            if timeout is not None and isinstance(exc, TimeoutError):
                raise ChannelTimeoutError(timeout) from None
            raise
        if granted:
            if not self._closed and state.receivers:
                return
            state.release_slot(self)  # closed by another task meanwhile
        if self._closed:
            raise EndpointClosedError(_SENDER_CLOSED)
        raise ReceiversClosedError()

    async def try_send(self, value: T) -> Result[None, ChannelFull | ChannelClosed]:
        """Send ``value`` if there is room now and no blocked sender is ahead; never waits.

        Args:
            value: the item; it is stored as is (no copy, no validation).

        Returns:
            ``Ok(None)`` when stored; ``Err(ChannelFull(capacity))`` when the
            channel is full or blocked senders come first;
            ``Err(EndpointClosed())`` when this sender is closed,
            ``Err(ReceiversClosed())`` when every receiver is. Nothing is
            enqueued on ``Err``.
        """
        state = self._state
        if self._closed:
            return _THIS_SENDER_CLOSED
        if not state.receivers:
            return _NO_RECEIVERS
        buffer = state.buffer
        if self._busy or len(buffer) >= state.open_limit:
            return Err(ChannelFull(state.capacity))
        buffer.append(value)
        state.sent += 1
        if len(buffer) > state.high_watermark:
            state.high_watermark = len(buffer)
        if state.recv_waiters:
            state.grant_items()
        return _OK_NONE

    async def send_batch(self, values: Iterable[T]) -> None:
        """Send every item of ``values`` in order, as many at a time as there is room for.

        The iterable is read as room frees up, never ahead of it: a generator
        gets back-pressure (one item is read ahead while this call waits), and
        an endless one works. Each time there is room, as many items as fit go
        in at once and as many waiting receivers are woken, so a full channel
        costs one wait per buffer-full rather than one per item.

        Args:
            values: the items, any iterable.

        Raises:
            EndpointClosedError: this sender is closed.
            ReceiversClosedError: every receiver is closed. Items accepted
                before that stay in the channel; the item read ahead is dropped.
            ChannelTimeoutError: the channel's default deadline passed while it waited.
        """
        if not isinstance(values, list | tuple):
            await self._send_lazily(iter(values))
            return
        state = self._state
        buffer = state.buffer
        if not self._busy and state.receivers and len(values) <= state.open_limit - len(buffer):
            buffer.extend(values)
            state.sent += len(values)
            if len(buffer) > state.high_watermark:
                state.high_watermark = len(buffer)
            if state.recv_waiters:
                state.grant_items()
            return
        await self._send_sequence(values)

    async def _send_sequence(self, items: list[T] | tuple[T, ...]) -> None:
        """Send a list or tuple that does not fit now, a slice per turn."""
        state = self._state
        buffer = state.buffer
        self._check_can_send()
        total = len(items)
        start = 0
        while start < total:
            if self._busy or not state.receivers or len(buffer) >= state.open_limit:
                await self._claim_slot()
                state.open_limit += 1  # the room this call uses: its slot and any free one
                self._busy -= 1
            stop = min(total, start + state.open_limit - len(buffer))
            buffer.extend(items[start:stop])
            state.sent += stop - start
            if len(buffer) > state.high_watermark:
                state.high_watermark = len(buffer)
            if state.recv_waiters:
                state.grant_items()
            start = stop

    def _check_can_send(self) -> None:
        if self._closed:
            raise EndpointClosedError(_SENDER_CLOSED)
        if not self._state.receivers:
            raise ReceiversClosedError()

    async def _send_lazily(self, it: Iterator[T]) -> None:
        """Send from an iterator, reading only as many items as there is room for."""
        state = self._state
        buffer = state.buffer
        self._check_can_send()
        while True:
            pending = next(it, _NOTHING)
            if pending is _NOTHING:
                return
            await self._claim_slot()
            state.open_limit += 1  # the room this call uses: its slot and any free one
            self._busy -= 1
            room = state.open_limit - len(buffer)
            chunk: list[T] = [pending]  # type: ignore[list-item]
            try:
                if room > 1:
                    chunk.extend(islice(it, room - 1))
            finally:  # what was read is sent, even if the iterable raised part way
                buffer.extend(chunk)
                state.added(len(chunk))

    async def flush(self) -> None:
        """Do nothing: an in-process channel holds no local batch."""

    def _join(self) -> None:
        self._state.senders += 1

    def _leave(self) -> None:
        self._state.sender_left(self)


class LocalReceiver(_LocalEndpoint[T]):
    """The receiving end of an in-process channel (implements :class:`~.protocols.Receiver`).

    ``async for item in receiver`` runs until end of channel; ``clone()`` for
    more consumers (each item goes to exactly one).

    Example:
        >>> import asyncio
        >>> async def main() -> list[int]:
        ...     tx, rx = local_channel(8)
        ...     await tx.send_batch(range(5))
        ...     await tx.close()
        ...     first = await rx.recv_batch(3)
        ...     return first + [item async for item in rx]
        >>> asyncio.run(main())
        [0, 1, 2, 3, 4]
    """

    __slots__ = ()

    _closed_reason = _RECEIVER_CLOSED

    async def recv(self) -> T:
        """Receive the next item, waiting while the channel is empty.

        Returns without suspending when an item is buffered and no receiver is
        ahead in line. Blocked receivers are served first-come first-served;
        cancelled while it waits, it loses no item.

        Returns:
            The oldest buffered item.

        Raises:
            ChannelEndedError: end of channel (every sender closed and the
                buffer drained).
            EndpointClosedError: this receiver is closed (also while it waits).
            ChannelTimeoutError: the channel's default deadline
                (``channels.timeout``) passed while it waited.
        """
        state = self._state
        buffer = state.buffer
        if buffer and not self._busy and not state.claimed:
            item = buffer.popleft()
            if state.send_waiters:
                state.grant_room()
            return item
        await self._claim_item(state.timeout)
        state.claimed -= 1
        self._busy -= 1
        item = buffer.popleft()
        if state.send_waiters:
            state.grant_room()
        if not buffer and state.recv_waiters and not state.senders:
            wake_all(state.recv_waiters)  # the last claimed item is gone: end of channel
        return item

    async def _claim_item(self, timeout: float | None) -> None:
        """Return owning one claimed item (counted in ``state.claimed`` and ``_busy``)."""
        state = self._state
        if not self._busy:
            if len(state.buffer) > state.claimed:
                state.claimed += 1
                self._busy += 1
                return
            if not state.buffer and not state.senders:
                raise ChannelEndedError()
        elif self._closed:
            raise EndpointClosedError(_RECEIVER_CLOSED)
        waiter = _enqueue(state, self, False)
        try:
            if waiter.done():  # granted at once, behind this endpoint's own grants:
                await asyncio.sleep(0)  # let those tasks (already woken) go first
            if timeout is None:
                granted = await waiter
            else:
                async with asyncio.timeout(timeout):
                    granted = await waiter
        except BaseException as exc:
            _abandon(state, self, False, waiter)
            if timeout is not None and isinstance(exc, TimeoutError):
                raise ChannelTimeoutError(timeout) from None
            raise
        if granted:
            if not self._closed:
                return
            state.release_item(self)  # closed by another task meanwhile
        if self._closed:
            raise EndpointClosedError(_RECEIVER_CLOSED)
        raise ChannelEndedError()

    async def try_recv(self) -> Result[T, ChannelEmpty | ChannelClosed]:
        """Receive the next item if one is buffered now and no blocked receiver is ahead.

        Returns:
            ``Ok(item)``; ``Err(ChannelEmpty())`` when nothing is buffered or
            every buffered item is already granted to a woken receiver;
            ``Err(ChannelEnded())`` at end of channel, ``Err(EndpointClosed())``
            when this receiver is closed.
        """
        state = self._state
        if self._closed:
            return _THIS_RECEIVER_CLOSED
        buffer = state.buffer
        if len(buffer) > state.claimed and not self._busy:
            item = buffer.popleft()
            if state.send_waiters:
                state.grant_room()
            return Ok(item)
        return _EMPTY if state.senders or buffer else _ENDED

    async def recv_batch(self, max_items: int, timeout: float | None = None) -> list[T]:
        """Wait (up to ``timeout`` s) for an item, then take up to ``max_items`` available ones.

        Args:
            max_items: the most items to return, at least 1.
            timeout: seconds to wait for the first item; ``None`` waits up to
                the channel's default deadline (``channels.timeout``; none
                unless configured), ``0`` only takes what is buffered now.

        Returns:
            A new list of 1 to ``max_items`` items, or ``[]`` if ``timeout`` elapsed.

        Raises:
            ChannelEndedError: end of channel.
            EndpointClosedError: this receiver is closed.
            ChannelTimeoutError: ``timeout`` is ``None`` and the channel's
                default deadline passed.
            ValueError: ``max_items < 1`` or ``timeout < 0``.
        """
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be >= 0 or None, got {timeout}")
        state = self._state
        buffer = state.buffer
        available = len(buffer) - state.claimed
        if available <= 0 or self._busy:
            if timeout == 0:
                if self._closed:
                    raise EndpointClosedError(_RECEIVER_CLOSED)
                if not buffer and not state.senders:
                    raise ChannelEndedError()
                return []
            try:
                await self._claim_item(state.timeout if timeout is None else timeout)
            except ChannelTimeoutError:
                if timeout is None:
                    raise
                return []
            state.claimed -= 1
            self._busy -= 1
            if len(buffer) <= max_items and not state.claimed:
                items = list(buffer)
                buffer.clear()
            else:
                items = self._take(min(max_items, len(buffer) - state.claimed))
            if state.send_waiters or not buffer:
                state.taken()
            return items
        if available <= max_items and not state.claimed:
            items = list(buffer)
            buffer.clear()
        else:
            items = self._take(min(max_items, available))
        if state.send_waiters:
            state.grant_room()
        return items

    def _take(self, count: int) -> list[T]:
        pop = self._state.buffer.popleft
        return [pop() for _ in range(count)]

    def _join(self) -> None:
        self._state.receivers += 1

    def _leave(self) -> None:
        self._state.receiver_left(self)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        """The next item; stops at end of channel, raises if this receiver was closed.

        Raises:
            EndpointClosedError: this receiver was closed (by any task): a closed
                receiver is a bug to surface, not an end of channel (trio and
                anyio raise ``ClosedResourceError``).
        """
        state = self._state
        buffer = state.buffer
        if buffer and not self._busy and not state.claimed:
            item = buffer.popleft()
            if state.send_waiters:
                state.grant_room()
            return item
        try:
            await self._claim_item(state.timeout)
        except ChannelEndedError:
            raise StopAsyncIteration from None
        state.claimed -= 1
        self._busy -= 1
        item = buffer.popleft()
        if state.send_waiters:
            state.grant_room()
        if not buffer and state.recv_waiters and not state.senders:
            wake_all(state.recv_waiters)  # the last claimed item is gone: end of channel
        return item


def local_channel(
    capacity: int | None = None,
    *,
    unbounded: bool = False,
    name: str | None = None,
    timeout: float | None = None,
) -> tuple[LocalSender[T], LocalReceiver[T]]:
    """Create an in-process channel and return its first sender and receiver.

    Args:
        capacity: the most items buffered at once (default
            :data:`~.protocols.DEFAULT_CAPACITY`); must be omitted when
            ``unbounded``.
        unbounded: no limit on buffered items (``send`` never waits).
        name: a label shown in ``repr`` (in-process channels cannot be attached
            to by name).
        timeout: the default deadline, in seconds, of every blocking call
            (``send``, ``send_batch``, ``recv``, ``async for``, ``recv_batch``
            without a timeout): past it the call raises
            :class:`~klaw_core.runtime.errors.ChannelTimeoutError`. ``None`` or
            ``0`` waits indefinitely. ``channel()`` passes ``channels.timeout``.

    Returns:
        ``(sender, receiver)``.

    Raises:
        ValueError: ``capacity`` is less than 1, or given with ``unbounded``;
            ``timeout`` is negative.
        TypeError: ``capacity`` is not an int.

    Example:
        >>> tx, rx = local_channel(16)
        >>> tx
        <LocalSender open capacity=16 buffered=0 senders=1 receivers=1>
    """
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be >= 0 or None, got {timeout}")
    deadline = timeout or None  # 0 means no deadline
    if unbounded:
        if capacity is not None:
            raise ValueError("give either a capacity or unbounded=True, not both")
        state: LocalChannelState[T] = LocalChannelState(None, name, deadline)
    else:
        if capacity is None:
            capacity = DEFAULT_CAPACITY
        capacity = operator.index(capacity)  # TypeError for floats, strings, ...
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        state = LocalChannelState(capacity, name, deadline)
    return LocalSender(state), LocalReceiver(state)

"""In-process channels: ``LocalSender[T]``/``LocalReceiver[T]`` for coroutines of one event loop.

Both ends share one :class:`_ChannelState`: a ``deque`` buffer, the endpoint
counts, the totals, and two queues of waiter futures (receivers waiting for an
item, senders waiting for room). Items are never serialised or copied.

Why it is fast. The common case never suspends: ``send`` on a channel with
room appends and returns, ``recv`` on a non-empty channel pops and returns,
without a trip through the event loop and without allocating anything but the
coroutine itself. A future is created only when a call really has to wait
(empty or full), so with a bounded channel under load a producer and a
consumer exchange about one wake-up per buffer-full of items instead of one per
item. (anyio's memory object streams yield to the event loop on every call, and
``asyncio.Queue`` allocates a future per waiting call and has no batch calls.)

Why it is safe under cancellation. A waiter future carries a wake-up, never an
item: the item stays in the buffer until the woken task takes it. A ``recv``
cancelled after its wake-up therefore loses nothing; it passes the wake-up to
the next waiting receiver so no item is left with nobody woken for it. A
``send`` appends only once there is room, so a cancelled ``send`` enqueues
nothing. Items leave the buffer in the order they entered it, which keeps each
sender's items in order.

Not thread-safe: use the channel from the event loop that runs its endpoints
(to feed it from a thread, ``loop.call_soon_threadsafe`` a coroutine that
sends). Close every endpoint (``async with`` does it): a channel ends for its
receivers only when its last sender is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
import sys
from collections import deque
from collections.abc import Iterable
from typing import ClassVar, Generic, Self, TypeVar

from klaw_core.result import Err, Ok, Result
from klaw_core.runtime.channels.protocols import DEFAULT_CAPACITY, ClosesOnExit
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.errors import (
    ChannelClosed,
    ChannelClosedError,
    ChannelEmpty,
    ChannelFull,
)

__all__ = ["LocalReceiver", "LocalSender", "local_channel"]

T = TypeVar("T")

_ALL_SENDERS_CLOSED = "all senders closed"
_ALL_RECEIVERS_CLOSED = "all receivers closed"
_SENDER_CLOSED = "sender is closed"
_RECEIVER_CLOSED = "receiver is closed"

_OK_NONE: Ok[None] = Ok(None)
_EMPTY: Err[ChannelEmpty] = Err(ChannelEmpty())
_END: Err[ChannelClosed] = Err(ChannelClosed(_ALL_SENDERS_CLOSED))
_NO_RECEIVERS: Err[ChannelClosed] = Err(ChannelClosed(_ALL_RECEIVERS_CLOSED))
_THIS_SENDER_CLOSED: Err[ChannelClosed] = Err(ChannelClosed(_SENDER_CLOSED))
_THIS_RECEIVER_CLOSED: Err[ChannelClosed] = Err(ChannelClosed(_RECEIVER_CLOSED))


def _wake_one(waiters: deque[asyncio.Future[None]]) -> None:
    """Wake the oldest waiter that is still waiting."""
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


def _wake_many(waiters: deque[asyncio.Future[None]], count: int) -> None:
    """Wake up to ``count`` waiters, oldest first."""
    while count > 0 and waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            count -= 1


def _wake_all(waiters: deque[asyncio.Future[None]]) -> None:
    """Wake every waiter so each re-checks the channel (after a close)."""
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)


async def _wait(waiters: deque[asyncio.Future[None]]) -> None:
    """Wait for a wake-up on ``waiters``.

    A caller cancelled after it was woken hands the wake-up to the next waiter,
    so no item (or free slot) is left with nobody woken for it; a wake-up that
    turns out to be spurious only makes that waiter check again.
    """
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    try:
        await waiter
    except BaseException:
        if waiter.done() and not waiter.cancelled():
            _wake_one(waiters)
        else:
            with contextlib.suppress(ValueError):
                waiters.remove(waiter)
        raise


class _ChannelState(Generic[T]):
    """What both ends of one channel share. ``received`` is derived: ``sent - len(buffer)``."""

    __slots__ = (
        "buffer",
        "capacity",
        "high_watermark",
        "limit",
        "name",
        "receivers",
        "recv_waiters",
        "send_waiters",
        "senders",
        "sent",
    )

    def __init__(self, capacity: int | None, name: str | None) -> None:
        self.buffer: deque[T] = deque()
        self.name = name
        self.capacity = capacity
        self.limit = sys.maxsize if capacity is None else capacity
        self.senders = 1
        self.receivers = 1
        self.sent = 0
        self.high_watermark = 0
        self.recv_waiters: deque[asyncio.Future[None]] = deque()
        self.send_waiters: deque[asyncio.Future[None]] = deque()

    def snapshot(self) -> ChannelStats:
        buffered = len(self.buffer)
        return ChannelStats(
            buffered=buffered,
            capacity=self.capacity,
            senders=self.senders,
            receivers=self.receivers,
            sent=self.sent,
            received=self.sent - buffered,
            high_watermark=self.high_watermark,
            senders_closed=self.senders == 0,
            receivers_closed=self.receivers == 0,
        )

    def describe(self) -> str:
        capacity = "unbounded" if self.capacity is None else f"capacity={self.capacity}"
        label = "" if self.name is None else f"name={self.name!r} "
        return (
            f"{label}{capacity} buffered={len(self.buffer)} "
            f"senders={self.senders} receivers={self.receivers}"
        )


class _LocalEndpoint(ClosesOnExit, Generic[T]):
    """What both ends share: the channel state, the closed flag, and the
    lifecycle (``clone``, ``close``, ``stats``, ``async with``). A subclass
    names its side (``_side_closed``) and how closing it affects the other side
    (``_release``)."""

    __slots__ = ("_closed", "_state")

    _side_closed: ClassVar[str]

    def __init__(self, state: _ChannelState[T]) -> None:
        self._state = state
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once this endpoint is closed."""
        return self._closed

    def _release(self) -> None:
        """Drop this endpoint from the channel's count and wake who must notice."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close this endpoint (idempotent); tasks blocked on it see the close."""
        if self._closed:
            return
        self._closed = True
        self._release()

    def clone(self) -> Self:
        """Return a new open endpoint of the same kind on the same channel.

        The clone counts as one more sender (or receiver) until it is closed:
        the channel ends only when every sender, clones included, has closed.

        Returns:
            The new endpoint.

        Raises:
            ChannelClosedError: this endpoint is closed.
        """
        if self._closed:
            raise ChannelClosedError(self._side_closed)
        clone = type(self)(self._state)
        clone._join()
        return clone

    def _join(self) -> None:
        """Count this new endpoint in the channel."""
        raise NotImplementedError

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

    _side_closed = _SENDER_CLOSED

    async def send(self, value: T) -> None:
        """Send ``value``, waiting while the channel is full.

        Returns without suspending when there is room. Cancelled while it waits,
        it enqueues nothing.

        Args:
            value: the item; it is stored as is (no copy, no validation).

        Raises:
            ChannelClosedError: every receiver is closed, or this sender is
                (also when that happens while it waits).
        """
        state = self._state
        buffer = state.buffer
        while True:
            if self._closed:
                raise ChannelClosedError(_SENDER_CLOSED)
            if not state.receivers:
                raise ChannelClosedError(_ALL_RECEIVERS_CLOSED)
            if len(buffer) < state.limit:
                break
            await _wait(state.send_waiters)
        buffer.append(value)
        state.sent += 1
        if len(buffer) > state.high_watermark:
            state.high_watermark = len(buffer)
        if state.recv_waiters:
            _wake_one(state.recv_waiters)

    async def try_send(self, value: T) -> Result[None, ChannelFull | ChannelClosed]:
        """Send ``value`` if there is room now; never waits.

        Args:
            value: the item; it is stored as is (no copy, no validation).

        Returns:
            ``Ok(None)`` when stored, ``Err(ChannelFull(capacity))`` when the
            channel is full, ``Err(ChannelClosed(reason))`` when every receiver
            (or this sender) is closed. Nothing is enqueued on ``Err``.
        """
        state = self._state
        if self._closed:
            return _THIS_SENDER_CLOSED
        if not state.receivers:
            return _NO_RECEIVERS
        buffer = state.buffer
        if len(buffer) >= state.limit:
            return Err(ChannelFull(state.capacity))
        buffer.append(value)
        state.sent += 1
        if len(buffer) > state.high_watermark:
            state.high_watermark = len(buffer)
        if state.recv_waiters:
            _wake_one(state.recv_waiters)
        return _OK_NONE

    async def send_batch(self, values: Iterable[T]) -> None:
        """Send every item of ``values`` in order, as many at a time as there is room for.

        Each time there is room, as many items as fit go in at once and as many
        waiting receivers are woken, so a full channel costs one wait per
        buffer-full rather than one per item.

        Args:
            values: the items; an iterable that is not a list or tuple is read
                into a list first.

        Raises:
            ChannelClosedError: every receiver is closed, or this sender is.
                Items accepted before that stay in the channel.
        """
        items = values if isinstance(values, list | tuple) else list(values)
        state = self._state
        buffer = state.buffer
        total = len(items)
        start = 0
        if not total:
            if self._closed:
                raise ChannelClosedError(_SENDER_CLOSED)
            if not state.receivers:
                raise ChannelClosedError(_ALL_RECEIVERS_CLOSED)
            return
        while True:
            if self._closed:
                raise ChannelClosedError(_SENDER_CLOSED)
            if not state.receivers:
                raise ChannelClosedError(_ALL_RECEIVERS_CLOSED)
            room = state.limit - len(buffer)
            if room > 0:
                if start == 0 and room >= total:
                    buffer.extend(items)
                    count = total
                else:
                    count = min(room, total - start)
                    buffer.extend(items[start : start + count])
                start += count
                state.sent += count
                if len(buffer) > state.high_watermark:
                    state.high_watermark = len(buffer)
                if state.recv_waiters:
                    _wake_many(state.recv_waiters, count)
                if start >= total:
                    return
            await _wait(state.send_waiters)

    async def flush(self) -> None:
        """Do nothing: an in-process channel holds no local batch."""

    def _join(self) -> None:
        self._state.senders += 1

    def _release(self) -> None:
        # The last sender to close ends the channel once the buffer drains.
        state = self._state
        state.senders -= 1
        if not state.senders:
            _wake_all(state.recv_waiters)
        # A task of this endpoint may be blocked in send(): let it see the close.
        _wake_all(state.send_waiters)


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

    _side_closed = _RECEIVER_CLOSED

    async def recv(self) -> T:
        """Receive the next item, waiting while the channel is empty.

        Returns without suspending when an item is buffered. Cancelled while it
        waits, it loses no item.

        Returns:
            The oldest buffered item.

        Raises:
            ChannelClosedError: end of channel (every sender closed and the
                buffer drained), or this receiver is closed.
        """
        state = self._state
        buffer = state.buffer
        if buffer and not self._closed:
            item = buffer.popleft()
            if state.send_waiters:
                _wake_one(state.send_waiters)
            return item
        await self._wait_for_item()
        item = buffer.popleft()
        if state.send_waiters:
            _wake_one(state.send_waiters)
        return item

    async def try_recv(self) -> Result[T, ChannelEmpty | ChannelClosed]:
        """Receive the next item if one is buffered now.

        Returns:
            ``Ok(item)``, ``Err(ChannelEmpty())``, or ``Err(ChannelClosed(reason))``
            at end of channel or when this receiver is closed.
        """
        state = self._state
        if self._closed:
            return _THIS_RECEIVER_CLOSED
        if state.buffer:
            item = state.buffer.popleft()
            if state.send_waiters:
                _wake_one(state.send_waiters)
            return Ok(item)
        return _EMPTY if state.senders else _END

    async def recv_batch(self, max_items: int, timeout: float | None = None) -> list[T]:
        """Wait (up to ``timeout`` s) for an item, then take up to ``max_items`` available ones.

        Args:
            max_items: the most items to return, at least 1.
            timeout: seconds to wait for the first item; ``None`` waits
                indefinitely, ``0`` only takes what is buffered now.

        Returns:
            A new list of 1 to ``max_items`` items, or ``[]`` if ``timeout`` elapsed.

        Raises:
            ChannelClosedError: end of channel, or this receiver is closed.
            ValueError: ``max_items < 1`` or ``timeout < 0``.
        """
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be >= 0 or None, got {timeout}")
        state = self._state
        buffer = state.buffer
        if not buffer or self._closed:
            if timeout is None:
                await self._wait_for_item()
            elif timeout == 0:
                self._check_open()
                return []
            else:
                try:
                    async with asyncio.timeout(timeout):
                        await self._wait_for_item()
                except TimeoutError:
                    return []
        count = len(buffer)
        if count <= max_items:
            items = list(buffer)
            buffer.clear()
        else:
            count = max_items
            pop = buffer.popleft
            items = [pop() for _ in range(count)]
        if state.send_waiters:
            _wake_many(state.send_waiters, count)
        return items

    async def _wait_for_item(self) -> None:
        """Return once the buffer holds an item; raise at end of channel or if closed."""
        state = self._state
        buffer = state.buffer
        while True:
            if self._closed:
                raise ChannelClosedError(_RECEIVER_CLOSED)
            if buffer:
                return
            if not state.senders:
                raise ChannelClosedError(_ALL_SENDERS_CLOSED)
            await _wait(state.recv_waiters)

    def _check_open(self) -> None:
        """Raise if this receiver is closed, or at end of channel (nothing buffered, no senders)."""
        if self._closed:
            raise ChannelClosedError(_RECEIVER_CLOSED)
        if not self._state.buffer and not self._state.senders:
            raise ChannelClosedError(_ALL_SENDERS_CLOSED)

    def _join(self) -> None:
        self._state.receivers += 1

    def _release(self) -> None:
        # When the last receiver closes, sends fail.
        state = self._state
        state.receivers -= 1
        if not state.receivers:
            _wake_all(state.send_waiters)
        # A task of this endpoint may be blocked in recv(): let it see the close.
        _wake_all(state.recv_waiters)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        state = self._state
        buffer = state.buffer
        if buffer and not self._closed:
            item = buffer.popleft()
            if state.send_waiters:
                _wake_one(state.send_waiters)
            return item
        try:
            await self._wait_for_item()
        except ChannelClosedError:
            raise StopAsyncIteration from None
        item = buffer.popleft()
        if state.send_waiters:
            _wake_one(state.send_waiters)
        return item


def local_channel(
    capacity: int | None = None, *, unbounded: bool = False, name: str | None = None
) -> tuple[LocalSender[T], LocalReceiver[T]]:
    """Create an in-process channel and return its first sender and receiver.

    Args:
        capacity: the most items buffered at once (default
            :data:`~.protocols.DEFAULT_CAPACITY`); must be omitted when
            ``unbounded``.
        unbounded: no limit on buffered items (``send`` never waits).
        name: a label shown in ``repr`` (in-process channels cannot be attached
            to by name).

    Returns:
        ``(sender, receiver)``.

    Raises:
        ValueError: ``capacity`` is less than 1, or given with ``unbounded``.
        TypeError: ``capacity`` is not an int.

    Example:
        >>> tx, rx = local_channel(16)
        >>> tx
        <LocalSender open capacity=16 buffered=0 senders=1 receivers=1>
    """
    if unbounded:
        if capacity is not None:
            raise ValueError("give either a capacity or unbounded=True, not both")
        state: _ChannelState[T] = _ChannelState(None, name)
    else:
        if capacity is None:
            capacity = DEFAULT_CAPACITY
        capacity = operator.index(capacity)  # TypeError for floats, strings, ...
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        state = _ChannelState(capacity, name)
    return LocalSender(state), LocalReceiver(state)

"""The channel contract: ``Sender[T]`` and ``Receiver[T]``, one for every transport.

Code that moves items between coroutines is written against these protocols
and runs unchanged over the in-process backend (:mod:`.local`) and the Ray
backend (:mod:`.ray`); the same semantics test suite runs on both.

Variance (FR-2.1). A ``Sender`` only consumes ``T`` and a ``Receiver`` only
produces it, so::

    T_contra: Sender[Animal] is usable where Sender[Dog] is expected
              (whatever accepts any animal accepts a dog);
    T_co:     Receiver[Dog] is usable where Receiver[Animal] is expected
              (whatever yields dogs yields animals).

That is why ``recv_batch`` is declared to return a ``Sequence`` (read-only,
covariant) rather than a ``list``; every implementation returns a new list.

Sync or async. Everything that may touch another process is ``async`` (a Ray
backend talks to an actor): ``send``, ``try_send``, ``flush``, ``close``,
``recv``, ``try_recv``, ``stats``. The ``try_`` forms never wait for capacity
or for items, but they may await a round trip. ``clone()`` is synchronous: it
registers a new endpoint and returns at once, so it works in ``__init__``
methods and in non-async callbacks.

Semantics every backend honours:

- Bounded by default (``channels.capacity`` through ``channel()``,
  :data:`DEFAULT_CAPACITY` for the backends' own constructors); unbounded only
  when asked.
- End of channel is reached when the last sender has closed *and* the buffer is
  drained: ``recv`` raises :class:`~klaw_core.runtime.errors.ChannelEndedError`,
  ``try_recv`` returns ``Err(ChannelEnded())``, ``async for`` stops. Nothing a
  sender got accepted is lost by closing it. It is the only case where
  ``async for`` stops without an error.
- When every receiver has closed, sends fail with ``ReceiversClosed`` (anyio's
  ``BrokenResourceError``) and enqueue nothing, and senders blocked on a full
  channel wake with that error.
- A closed endpoint refuses every call with ``EndpointClosed`` (trio's and
  anyio's ``ClosedResourceError``), ``async for`` included; a task blocked on an
  endpoint that another task closes raises it. The cases are told apart by
  class (all are ``ChannelClosedError``/``ChannelClosed``), never by text.
- ``try_recv`` on an empty open channel returns ``Err(ChannelEmpty())``;
  ``try_send`` on a full one returns ``Err(ChannelFull(capacity))``.
- Items from one sender are received in the order it sent them.
- Fairness (trio's rule): tasks blocked in ``send`` are admitted, and tasks
  blocked in ``recv`` served, first-come first-served; a newcomer never takes
  the room or item granted to a waiting task. (The local backend; the Ray
  backend does not order admission at the actor yet.)
- A cancelled ``recv`` loses no item. A ``send`` cancelled while it waits for
  capacity enqueues nothing in-process; a batching transport may already hold
  the item in its local batch.
- A transport that batches (Ray) may return from ``send`` once the item is in
  its local batch; ``flush()`` and ``close()`` push the batch out, and an error
  on the way (e.g. no receivers left) is raised by ``send`` or at the latest by
  the next ``flush()``/``close()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from types import TracebackType
from typing import Protocol, Self, TypeVar, runtime_checkable

from klaw_core.result import Result
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.errors import ChannelClosed, ChannelEmpty, ChannelFull

__all__ = [
    "DEFAULT_CAPACITY",
    "ChannelStats",
    "Receiver",
    "ReferenceReceiver",
    "ReferenceSender",
    "Sender",
]

DEFAULT_CAPACITY = 1024
"""Capacity of a ``local_channel()`` or ``RayChannel.create()`` made without one:
bounded, so a fast producer cannot exhaust memory, and large enough to absorb
bursts. ``channel()`` uses the configured ``channels.capacity`` instead."""


class ClosesOnExit:
    """Base of the backends' endpoints: ``async with endpoint:`` closes it on exit.

    Not part of the protocols (which only promise the behaviour); a subclass
    provides :meth:`close`.
    """

    __slots__ = ()

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


# Variance (FR-2.1): a Sender consumes T (contravariant), a Receiver produces T
# (covariant). Checked by mypy: using T_co in an argument position is an error.
T_co = TypeVar("T_co", covariant=True)
T_contra = TypeVar("T_contra", contravariant=True)


@runtime_checkable
class Sender(Protocol[T_contra]):
    """The sending end of a channel.

    Contravariant: a ``Sender[Animal]`` can be used where a ``Sender[Dog]`` is
    expected. ``async with sender:`` closes it on exit.

    Example:
        >>> import asyncio
        >>> from klaw_core.runtime.channels import channel
        >>> async def main() -> list[int]:
        ...     tx, rx = channel(capacity=4, value_type=int)
        ...     async with tx:
        ...         await tx.send(1)
        ...         await tx.send_batch([2, 3])
        ...     return [item async for item in rx]
        >>> asyncio.run(main())
        [1, 2, 3]
    """

    async def send(self, value: T_contra) -> None:
        """Send ``value``, waiting while the channel is full.

        Args:
            value: the item to send.

        Raises:
            ReceiversClosedError: every receiver is closed.
            EndpointClosedError: this sender is closed.
        """
        ...

    async def try_send(self, value: T_contra) -> Result[None, ChannelFull | ChannelClosed]:
        """Send ``value`` unless that would mean waiting for capacity.

        Args:
            value: the item to send.

        Returns:
            ``Ok(None)`` when accepted, ``Err(ChannelFull(capacity))`` when the
            channel is full, ``Err(ReceiversClosed())`` when every receiver is
            closed, ``Err(EndpointClosed())`` when this sender is. Nothing is
            enqueued on ``Err``.
        """
        ...

    async def send_batch(self, values: Iterable[T_contra]) -> None:
        """Send every item of ``values`` in order, waiting for capacity as needed.

        Not atomic: if it raises (or is cancelled) part way, the items before
        the failing one have been sent. ``values`` is read only as room frees
        up, so a generator gets back-pressure and an endless one works.

        Args:
            values: the items to send.

        Raises:
            ReceiversClosedError: every receiver is closed.
            EndpointClosedError: this sender is closed.
        """
        ...

    async def flush(self) -> None:
        """Push out items a batching transport still holds locally (no-op in-process).

        Raises:
            ReceiversClosedError: the batch could not be delivered because every
                receiver is closed.
        """
        ...

    async def close(self) -> None:
        """Flush, then close this sender. Idempotent.

        When the last sender closes, receivers get what is buffered, then end
        of channel.
        """
        ...

    def clone(self) -> Self:
        """Return a new, open sender on the same channel (multi-producer use).

        Each clone must be closed on its own; the channel ends only after the
        last one closes.

        Returns:
            The new sender, of the same class as this one.

        Raises:
            EndpointClosedError: this sender is already closed.
        """
        ...

    async def stats(self) -> ChannelStats:
        """Return a snapshot of the channel's counters.

        Returns:
            The counters at this moment, the same whichever endpoint asks.
        """
        ...

    async def __aenter__(self) -> Self:
        """Return self; the ``async with`` block closes it on exit."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close this sender."""
        ...


@runtime_checkable
class Receiver(Protocol[T_co]):
    """The receiving end of a channel.

    Covariant: a ``Receiver[Dog]`` can be used where a ``Receiver[Animal]`` is
    expected. ``async for item in receiver`` runs until end of channel;
    ``async with receiver:`` closes it on exit.

    Example:
        >>> import asyncio
        >>> from klaw_core.runtime.channels import channel
        >>> async def main() -> tuple[object, ...]:
        ...     tx, rx = channel(capacity=4, value_type=str)
        ...     empty = await rx.try_recv()
        ...     await tx.send("a")
        ...     await tx.close()
        ...     return empty, await rx.recv(), await rx.try_recv()
        >>> asyncio.run(main())
        (Err(error=ChannelEmpty()), 'a', Err(error=ChannelEnded(reason=None)))
    """

    async def recv(self) -> T_co:
        """Receive the next item, waiting while the channel is empty.

        Returns:
            The next item.

        Raises:
            ChannelEndedError: end of channel (every sender closed and the
                buffer drained).
            EndpointClosedError: this receiver is closed.
        """
        ...

    async def try_recv(self) -> Result[T_co, ChannelEmpty | ChannelClosed]:
        """Receive the next item if one is buffered now.

        Returns:
            ``Ok(item)``, ``Err(ChannelEmpty())`` on an empty open channel,
            ``Err(ChannelEnded())`` at end of channel, or
            ``Err(EndpointClosed())`` when this receiver is closed.
        """
        ...

    async def recv_batch(self, max_items: int, timeout: float | None = None) -> Sequence[T_co]:
        """Receive up to ``max_items`` items.

        Waits (at most ``timeout`` seconds; ``None`` waits indefinitely) for the
        first item, then returns it together with whatever else is available
        at that moment, up to ``max_items``, without waiting further.

        Args:
            max_items: the most items to return, at least 1.
            timeout: seconds to wait for the first item, or ``None``.

        Returns:
            A new list of 1 to ``max_items`` items, or an empty one when
            ``timeout`` elapsed first.

        Raises:
            ChannelEndedError: end of channel.
            EndpointClosedError: this receiver is closed.
            ValueError: ``max_items`` is less than 1 or ``timeout`` negative.
        """
        ...

    async def close(self) -> None:
        """Close this receiver. Idempotent.

        When the last receiver closes, every later send fails with
        ``ReceiversClosed`` and blocked senders wake with that error; items
        still buffered can no longer be received.
        """
        ...

    def clone(self) -> Self:
        """Return a new, open receiver on the same channel (multi-consumer use).

        Receivers compete: each item goes to exactly one of them.

        Returns:
            The new receiver, of the same class as this one.

        Raises:
            EndpointClosedError: this receiver is already closed.
        """
        ...

    async def stats(self) -> ChannelStats:
        """Return a snapshot of the channel's counters.

        Returns:
            The counters at this moment, the same whichever endpoint asks.
        """
        ...

    def __aiter__(self) -> AsyncIterator[T_co]:
        """Iterate over items until end of channel (``EndpointClosedError`` if this receiver is closed)."""
        ...

    async def __aenter__(self) -> Self:
        """Return self; the ``async with`` block closes it on exit."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close this receiver."""
        ...


@runtime_checkable
class ReferenceSender(Sender[T_contra], Protocol[T_contra]):
    """A :class:`Sender` that is a reference to a channel held outside this process.

    The channel's state lives elsewhere (the Ray backend keeps it in an actor),
    so the endpoint itself is a small handle: it can be pickled and passed to
    other Ray tasks and actors, where it rebuilds its codec and works the same.
    In-process (local) endpoints are not references: they cannot leave the
    event loop that owns them. ``RaySender`` is one; ``isinstance`` tells them
    apart (it checks that every member, ``channel_id`` and ``name`` included,
    is present, not the signatures).

    Example:
        >>> from klaw_core.runtime.channels import channel
        >>> tx, rx = channel(4)
        >>> isinstance(tx, Sender), isinstance(tx, ReferenceSender)
        (True, False)
    """

    @property
    def channel_id(self) -> str:
        """The channel's id, as written in every wire header it sends."""
        ...

    @property
    def name(self) -> str | None:
        """The name other jobs attach to the channel by, or ``None`` if anonymous."""
        ...


@runtime_checkable
class ReferenceReceiver(Receiver[T_co], Protocol[T_co]):
    """A :class:`Receiver` that is a reference to a channel held outside this process.

    Picklable like :class:`ReferenceSender`; it validates what it receives
    against the channel's value type at this boundary.

    Example:
        >>> from klaw_core.runtime.channels import channel
        >>> tx, rx = channel(4)
        >>> isinstance(rx, Receiver), isinstance(rx, ReferenceReceiver)
        (True, False)
    """

    @property
    def channel_id(self) -> str:
        """The channel's id, as written in every wire header it receives."""
        ...

    @property
    def name(self) -> str | None:
        """The name other jobs attach to the channel by, or ``None`` if anonymous."""
        ...

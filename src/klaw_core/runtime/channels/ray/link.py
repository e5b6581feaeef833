"""What every endpoint of one Ray channel shares inside a process, and how it calls the actor.

Why a shared link: endpoints of the same channel in one process (a sender and
its clones, the receivers) must agree on things the actor cannot tell them
without a round trip. They share one :class:`Link`, found by channel id in a
process-wide weak registry, so that:

- all senders draw on one **credit**, the room the actor last reported minus
  what they hold locally, and ``try_send`` on a full channel answers
  ``ChannelFull`` even when the room was used up by a sibling;
- once the actor says every receiver has closed, or the actor is lost, every
  local endpoint fails fast without asking again;
- a receiver can flush the senders of its own process before it reports "empty",
  and ``stats()`` can count items that local receivers fetched but did not yet
  deliver, which makes a channel used inside one process behave exactly like the
  local backend even though senders batch and receivers prefetch.

Every actor call goes through :func:`call` (async) or :func:`call_blocking`:
Ray's actor failures become :class:`~klaw_core.runtime.errors.ChannelLostError`,
and each call has a deadline (the server-side wait plus ``reply_timeout``), so a
dead or unreachable actor makes callers fail instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import typing
import weakref
from typing import Any, Final, Protocol

import ray as _ray_module
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from klaw_core.runtime.channels.ray.constants import (
    ALL_RECEIVERS_CLOSED,
    ALL_SENDERS_CLOSED,
    LOST_DETAIL,
    RECEIVER_CLOSED,
    SENDER_CLOSED,
)
from klaw_core.runtime.channels.ray.identity import ChannelRef
from klaw_core.runtime.channels.ray.options import RayChannelOptions
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.errors import (
    ChannelClosedError,
    ChannelEndedError,
    ChannelError,
    ChannelLostError,
    EndpointClosedError,
    KlawError,
    ReceiversClosedError,
)

__all__ = [
    "ALL_RECEIVERS_CLOSED",
    "ALL_SENDERS_CLOSED",
    "LOST_DETAIL",
    "RECEIVER_CLOSED",
    "SENDER_CLOSED",
    "ChannelRef",
    "Link",
    "LocalReceiver",
    "LocalSender",
    "RayChannelOptions",
    "call",
    "call_blocking",
    "check_portable",
    "closed_error",
    "get_link",
    "new_endpoint_id",
]


# Ray's annotations are partial; its API is used dynamically (the tests check it).
ray: Any = _ray_module

_UNBOUNDED_CREDIT: Final = sys.maxsize


def new_endpoint_id() -> int:
    """Return a fresh random endpoint or stream id (62 bits, never 0).

    Random rather than counted, so that processes that never talk to each
    other can make ids for one actor without colliding.

    Returns:
        An int from 1 to ``2**62``, from :mod:`secrets`.

    Example:
        >>> a, b = new_endpoint_id(), new_endpoint_id()
        >>> a != b and 0 < a <= 2**62
        True
    """
    return secrets.randbits(62) + 1


class LocalSender(Protocol):
    """What a link needs from a sender of its process.

    Example:
        >>> from klaw_core.runtime.channels.ray.sender import RaySender
        >>> hasattr(RaySender, "push") and hasattr(RaySender, "held")
        True
    """

    @property
    def held(self) -> int:
        """Values in the sender's local batch."""
        ...

    async def push(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send the local batch; wait for the actor's first answer.

        Args:
            loop: the running event loop.
        """
        ...


class LocalReceiver(Protocol):
    """What a link needs from a receiver of its process.

    Example:
        >>> from klaw_core.runtime.channels.ray.receiver import RayReceiver
        >>> hasattr(RayReceiver, "report")
        True
    """

    async def report(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tell the actor what it delivered.

        Args:
            loop: the running event loop.
        """
        ...


class Link:
    """The per-process shared state of one Ray channel (see the module docstring).

    Made by :func:`get_link`, never directly, so that one process holds one
    link per channel. Endpoints keep it alive; it keeps them only weakly.

    Args:
        ref: the channel's identity and options.

    Attributes:
        ref: the channel's identity and options.
        credit: messages the senders of this process may still add before
            asking the actor for room.
        lost: why the channel is lost, or ``None`` while it is not.
        receivers_closed: whether the actor reported every receiver closed.

    Example:
        >>> import asyncio
        >>> from klaw_core.runtime.channels.ray.factory import RayChannel
        >>> chan = RayChannel.create(4, value_type=int)
        >>> link = get_link(chan.ref)
        >>> async def main() -> tuple[int, int]:
        ...     async with chan.sender() as tx:
        ...         await tx.send(1)
        ...         await tx.flush()
        ...         credit = link.credit
        ...     return credit, (await link.stats()).buffered
        >>> asyncio.run(main())
        (3, 1)
        >>> chan.destroy()
        >>> link.usable, link.lost
        (False, 'the channel was destroyed')
    """

    __slots__ = (
        "__weakref__",
        "credit",
        "lost",
        "receivers",
        "receivers_closed",
        "ref",
        "senders",
        "starved",
    )

    def __init__(self, ref: ChannelRef) -> None:
        self.ref = ref
        capacity = ref.capacity
        self.credit: int = _UNBOUNDED_CREDIT if capacity is None else capacity
        self.lost: str | None = None
        self.receivers_closed = False
        self.starved = 0  # senders of this process waiting for room
        self.senders: weakref.WeakSet[LocalSender] = weakref.WeakSet()
        self.receivers: weakref.WeakSet[LocalReceiver] = weakref.WeakSet()

    @property
    def actor(self) -> Any:
        """The channel actor's handle."""
        return self.ref.actor

    @property
    def channel_id(self) -> str:
        """The id in every wire header of the channel."""
        return self.ref.channel_id

    @property
    def capacity(self) -> int | None:
        """Most messages held, ``None`` when unbounded."""
        return self.ref.capacity

    @property
    def value_type(self) -> Any:
        """The channel's item type."""
        return self.ref.value_type

    @property
    def name(self) -> str | None:
        """The name other jobs attach by."""
        return self.ref.name

    @property
    def namespace(self) -> str | None:
        """The Ray namespace of a named channel."""
        return self.ref.namespace

    @property
    def options(self) -> RayChannelOptions:
        """The endpoints' tuning."""
        return self.ref.options

    @property
    def usable(self) -> bool:
        """False once the actor is lost or every receiver has closed."""
        return self.lost is None and not self.receivers_closed

    def lose(self, detail: str) -> ChannelLostError:
        """Mark the channel lost for every local endpoint; return the error to raise.

        Args:
            detail: why; kept only if the channel is not lost already (the
                first reason is the one every endpoint reports).

        Returns:
            A :class:`~klaw_core.runtime.errors.ChannelLostError` naming the
            channel and the first reason.
        """
        if self.lost is None:
            self.lost = detail
        return ChannelLostError(self.channel_id, self.lost)

    def set_room(self, room: int | None) -> None:
        """Recompute the shared credit from the room the actor just reported.

        Args:
            room: messages the actor can take now (``None`` when unbounded);
                the credit is that minus what local senders hold in their
                batches, so it can drop to zero or below.
        """
        if room is None:
            self.credit = _UNBOUNDED_CREDIT
            return
        self.credit = room - sum(sender.held for sender in self.senders)

    async def push_local_senders(self) -> None:
        """Send what senders of this process (on this event loop) hold, without waiting for room.

        Each such sender's batch gets one answer from the actor (stored, or
        "full" and waiting there): enough for a receiver of this process to see
        everything sent here, and never a wait for room only a receiver can make.
        """
        loop = asyncio.get_running_loop()
        for sender in list(self.senders):
            await sender.push(loop)

    async def report_local_receivers(self) -> None:
        """Have receivers of this process (on this event loop) report what they delivered."""
        loop = asyncio.get_running_loop()
        for receiver in list(self.receivers):
            await receiver.report(loop)

    async def stats(self) -> ChannelStats:
        """Channel stats as the local backend would report them.

        Local senders push their batches first, and local receivers report what
        they delivered, so that within one process the counts are exact; messages
        a receiver fetched but has not delivered count as buffered.

        Returns:
            The actor's counters after those updates.

        Raises:
            ChannelLostError: the actor died, did not reply, or was restarted
                (its buffer is gone).
        """
        await self.push_local_senders()
        await self.report_local_receivers()
        stats: ChannelStats | None = await call(self, self.actor.stats.remote(), 0.0)
        if stats is None:
            raise self.lose(LOST_DETAIL)
        return stats


_links: weakref.WeakValueDictionary[str, Link] = weakref.WeakValueDictionary()


def get_link(ref: ChannelRef) -> Link:
    """Return this process's link for ``ref``'s channel, creating it on first use.

    Links are held weakly: one lives as long as an endpoint or handle of its
    channel does in this process.

    Args:
        ref: the channel; only its id is the key (the first ``ref`` seen wins).

    Returns:
        The existing link of the channel, else a new one made from ``ref``.

    Example:
        >>> from klaw_core.runtime.channels.ray.factory import RayChannel
        >>> chan = RayChannel.create(4)
        >>> get_link(chan.ref) is get_link(chan.ref)
        True
        >>> chan.destroy()
    """
    link = _links.get(ref.channel_id)
    if link is None:
        link = Link(ref)
        _links[ref.channel_id] = link
    return link


def closed_error(status: str, detail: str) -> ChannelError:
    """The one mapping from an actor reply's status to the exception an endpoint raises.

    Args:
        status: a refusal status of :data:`~.constants.Status` (not ``"ok"``).
        detail: the actor's reason.

    Returns:
        ``EndpointClosedError`` for this endpoint closed, ``ReceiversClosedError``
        when every receiver closed, ``ChannelEndedError`` at end of channel,
        ``ChannelLostError`` for ``"lost"``; ``ChannelClosedError`` otherwise.

    Example:
        >>> closed_error("closed", ALL_RECEIVERS_CLOSED)
        ReceiversClosedError('all receivers closed')
    """
    if detail in (SENDER_CLOSED, RECEIVER_CLOSED):
        return EndpointClosedError(detail)
    if detail == ALL_RECEIVERS_CLOSED:
        return ReceiversClosedError(detail)
    if detail == ALL_SENDERS_CLOSED:
        return ChannelEndedError(detail)
    return ChannelClosedError(detail or None)


async def call(link: Link, ref: Any, wait: float | None) -> Any:
    """Await one actor call, turning failures into channel errors.

    Args:
        link: the channel (marked lost on failure).
        ref: the ``ObjectRef`` of the call.
        wait: seconds the call may legitimately wait inside the actor (its
            ``timeout`` argument); ``None`` or ``0`` for a call that does not wait.

    Returns:
        The call's result.

    Raises:
        ChannelLostError: the actor died, is restarting, or did not reply within
            ``wait`` plus ``reply_timeout`` seconds.
        KlawError: the actor method raised it (re-raised as is, not wrapped in
            Ray's ``RayTaskError``); so are ``ValueError`` and ``TypeError``.

    Example:
        >>> import asyncio
        >>> from klaw_core.runtime.channels.ray.factory import RayChannel
        >>> chan = RayChannel.create(4)
        >>> link = get_link(chan.ref)
        >>> asyncio.run(call(link, chan.actor.wait_room.remote(0.0), 0.0))
        PutAck(status='ok', room=4, detail='')
        >>> chan.destroy()
    """
    limit = link.options.reply_timeout + (wait or 0.0)
    try:
        # asyncio.timeout, not wait_for: no task wrapped around the ref, so the
        # reply reaches the caller in one event-loop step (one message's latency).
        async with asyncio.timeout(limit):
            return await ref
    except RayActorError as exc:
        raise link.lose(f"the channel actor died or is unreachable: {_first_line(exc)}") from exc
    except TimeoutError as exc:
        raise link.lose(f"no reply from the channel actor within {limit:g}s") from exc
    except RayTaskError as exc:
        raise _unwrap(exc) from None


def call_blocking(link: Link, ref: Any) -> Any:
    """Like :func:`call`, for synchronous callers (``clone()``): blocks the thread.

    For calls that do not wait inside the actor: the deadline is
    ``reply_timeout`` alone.

    Args:
        link: the channel (marked lost on failure).
        ref: the ``ObjectRef`` of the call.

    Returns:
        The call's result.

    Raises:
        ChannelLostError: the actor died, is restarting, or did not reply within
            ``reply_timeout`` seconds.
        KlawError: the actor method raised it (re-raised as is, not wrapped in
            Ray's ``RayTaskError``); so are ``ValueError`` and ``TypeError``.

    Example:
        >>> from klaw_core.runtime.channels.ray.factory import RayChannel
        >>> chan = RayChannel.create(4)
        >>> link = get_link(chan.ref)
        >>> call_blocking(link, chan.actor.metadata.remote()).capacity
        4
        >>> call_blocking(link, chan.actor.get_batch.remote(0))
        Traceback (most recent call last):
        ...
        ValueError: max_items must be at least 1, got 0
        >>> chan.destroy()
    """
    limit = link.options.reply_timeout
    try:
        return ray.get(ref, timeout=limit)
    except RayActorError as exc:
        raise link.lose(f"the channel actor died or is unreachable: {_first_line(exc)}") from exc
    except GetTimeoutError as exc:
        raise link.lose(f"no reply from the channel actor within {limit:g}s") from exc
    except RayTaskError as exc:
        raise _unwrap(exc) from None


def _unwrap(exc: RayTaskError) -> BaseException:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, KlawError | ValueError | TypeError):
        return cause
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def check_portable(value_type: object) -> None:
    """Refuse a value type that Ray workers could not import.

    A type defined in ``__main__`` is pickled by value; msgspec structs cannot
    be rebuilt that way in a worker, so the actor (or a task holding an
    endpoint) would fail and its peers could wait forever. Failing here, in the
    process that creates or ships the channel, names the problem instead.

    Args:
        value_type: the channel's item type, or ``None``. Type arguments are
            checked too (``list[Point]``, ``Point | None``); the field types
            of a struct are not.

    Raises:
        TypeError: ``value_type`` (or a type nested in it) lives in ``__main__``.

    Example:
        >>> check_portable(list[int])
    """
    seen: set[int] = set()
    stack: list[object] = [value_type]
    while stack:
        tp = stack.pop()
        if id(tp) in seen:
            continue
        seen.add(id(tp))
        module = getattr(tp, "__module__", None)
        if isinstance(tp, type) and module == "__main__":
            raise TypeError(
                f"value type {tp.__qualname__} is defined in __main__: Ray workers cannot "
                "import it, so the channel could not carry it between processes. "
                "Define it in a module and import it from there."
            )
        stack.extend(typing.get_args(tp))

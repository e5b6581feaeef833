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
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Final, TypeVar

import msgspec
import ray as _ray_module
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from klaw_core._wirecore import DEFAULT_MAX_FRAME_SIZE
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.errors import (
    ChannelClosedError,
    ChannelEndedError,
    ChannelLostError,
    EndpointClosedError,
    KlawError,
    ReceiversClosedError,
)

if TYPE_CHECKING:
    from klaw_core.runtime.channels.ray.channel import RayReceiver, RaySender

__all__ = [
    "ALL_RECEIVERS_CLOSED",
    "ALL_SENDERS_CLOSED",
    "LOST_DETAIL",
    "RECEIVER_CLOSED",
    "SENDER_CLOSED",
    "Link",
    "RayChannelOptions",
    "call",
    "call_blocking",
    "check_portable",
    "closed_error",
    "get_link",
    "new_endpoint_id",
]

R = TypeVar("R")

# Ray's annotations are partial; its API is used dynamically (the tests check it).
ray: Any = _ray_module

# The local backend's reasons, so that both backends read alike.
ALL_SENDERS_CLOSED: Final = "all senders closed"
ALL_RECEIVERS_CLOSED: Final = "all receivers closed"
SENDER_CLOSED: Final = "sender is closed"
RECEIVER_CLOSED: Final = "receiver is closed"
LOST_DETAIL: Final = (
    "the channel actor was restarted after a failure; the messages it buffered "
    "and its sender/receiver registrations were lost"
)

_UNBOUNDED_CREDIT: Final = sys.maxsize


class RayChannelOptions(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """Tuning of a Ray channel's endpoints; travels with pickled endpoints.

    Attributes:
        batch_size: most messages a sender packs into one frame and actor call.
        batch_bytes: target size of one batch frame; a sender lowers its batch
            size when messages are large, so one call stays near this size.
            Ray stores an argument over 100 KiB in its object store at a cost
            of about 2 ms per object here, so frames of a few MiB amortise it
            (4 MiB vs 1 MiB: 0.99M vs 0.86M msg/s in ``bench_ray_channel``).
        linger: seconds a sender waits for a batch to fill before sending it
            (``0`` sends as soon as the previous call returned).
        fetch_size: most messages a receiver fetches in one call.
        poll_interval: longest a call waits inside the actor before returning
            to the endpoint (which then checks the actor is alive and waits again).
        reply_timeout: seconds allowed for a reply beyond that wait; after it
            the actor is declared lost.
        max_frame_size: largest frame, in bytes.

    Example:
        >>> RayChannelOptions(batch_size=512).linger
        0.002
    """

    batch_size: int = 16_384
    batch_bytes: int = 4 << 20
    linger: float = 0.002
    fetch_size: int = 65_536
    poll_interval: float = 1.0
    reply_timeout: float = 30.0
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE

    def __post_init__(self) -> None:
        for field in ("batch_size", "batch_bytes", "fetch_size", "max_frame_size"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be at least 1, got {getattr(self, field)}")
        for field in ("linger", "poll_interval", "reply_timeout"):
            if not getattr(self, field) >= 0:
                raise ValueError(f"{field} must be >= 0, got {getattr(self, field)}")


def closed_error(ack_detail: str, default: str) -> ChannelClosedError:
    """Return the exception of the closed case that an actor reply names.

    The actor's replies carry the case as their ``detail`` text (one of this
    module's constants); endpoints raise the matching class.

    Args:
        ack_detail: the reply's ``detail``.
        default: the case to assume when ``detail`` is empty.

    Returns:
        A new ``ChannelClosedError`` of the matching subclass.

    Example:
        >>> closed_error("", ALL_SENDERS_CLOSED)
        ChannelEndedError('all senders closed')
    """
    detail = ack_detail or default
    if detail in (SENDER_CLOSED, RECEIVER_CLOSED):
        return EndpointClosedError(detail)
    if detail == ALL_RECEIVERS_CLOSED:
        return ReceiversClosedError(detail)
    if detail == ALL_SENDERS_CLOSED:
        return ChannelEndedError(detail)
    return ChannelClosedError(detail)


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


class Link:
    """The per-process shared state of one Ray channel (see the module docstring).

    Made by :func:`get_link`, never directly, so that one process holds one
    link per channel. Endpoints keep it alive; it keeps them only weakly.

    Args:
        actor: the channel actor's handle.
        channel_id: the id in every wire header of the channel.
        capacity: most messages buffered, ``None`` when unbounded.
        value_type: the channel's item type (``None`` when untyped).
        name: the name other jobs attach by, if any.
        namespace: the Ray namespace of a named channel.
        options: the endpoints' tuning.

    Attributes:
        credit: messages the senders of this process may still add before
            asking the actor for room.
        lost: why the channel is lost, or ``None`` while it is not.
        receivers_closed: whether the actor reported every receiver closed.

    Example:
        >>> import asyncio
        >>> from klaw_core.runtime.channels.ray.factory import RayChannel
        >>> chan = RayChannel.create(4, value_type=int)
        >>> link = get_link(chan.actor, chan.channel_id, capacity=4, value_type=int,
        ...                 name=None, namespace=None, options=RayChannelOptions())
        >>> async def main() -> tuple[int, int]:
        ...     async with chan.sender() as tx:
        ...         await tx.send(1)
        ...         credit = link.credit  # the value held in tx's batch uses one
        ...     return credit, (await link.stats()).buffered
        >>> asyncio.run(main())
        (3, 1)
        >>> chan.destroy()
        >>> link.usable, link.lost
        (False, 'the channel was destroyed')
    """

    __slots__ = (
        "__weakref__",
        "actor",
        "capacity",
        "channel_id",
        "credit",
        "lost",
        "name",
        "namespace",
        "options",
        "receivers",
        "receivers_closed",
        "senders",
        "starved",
        "value_type",
    )

    def __init__(
        self,
        actor: Any,
        channel_id: str,
        *,
        capacity: int | None,
        value_type: Any,
        name: str | None,
        namespace: str | None,
        options: RayChannelOptions,
    ) -> None:
        self.actor = actor
        self.channel_id = channel_id
        self.capacity = capacity
        self.value_type = value_type
        self.name = name
        self.namespace = namespace
        self.options = options
        self.credit: int = _UNBOUNDED_CREDIT if capacity is None else capacity
        self.lost: str | None = None
        self.receivers_closed = False
        self.starved = 0  # senders of this process waiting for room
        self.senders: weakref.WeakSet[RaySender[Any]] = weakref.WeakSet()
        self.receivers: weakref.WeakSet[RayReceiver[Any]] = weakref.WeakSet()

    @property
    def usable(self) -> bool:
        """False once the actor is lost or every receiver has closed."""
        return self.lost is None and not self.receivers_closed

    def endpoint_args(self, endpoint_id: int) -> tuple[Any, ...]:
        """Return the constructor arguments of an endpoint of this channel.

        ``RaySender``/``RayReceiver`` take them, in this order, so that an
        endpoint rebuilt in another process (unpickled) can make its own link.

        Args:
            endpoint_id: the endpoint's sender or reader id.

        Returns:
            ``(actor, channel_id, endpoint_id, capacity, value_type, name,
            namespace, options)``.
        """
        return (
            self.actor,
            self.channel_id,
            endpoint_id,
            self.capacity,
            self.value_type,
            self.name,
            self.namespace,
            self.options,
        )

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


def get_link(
    actor: Any,
    channel_id: str,
    *,
    capacity: int | None,
    value_type: Any,
    name: str | None,
    namespace: str | None,
    options: RayChannelOptions,
) -> Link:
    """Return this process's link for ``channel_id``, creating it on first use.

    Links are held weakly: one lives as long as an endpoint or handle of its
    channel does in this process.

    Args:
        actor: the channel actor's handle.
        channel_id: the channel's id, the registry key.
        capacity: most messages buffered, ``None`` when unbounded.
        value_type: the channel's item type.
        name: the name other jobs attach by, if any.
        namespace: the Ray namespace of a named channel.
        options: the endpoints' tuning.

    Returns:
        The existing link of ``channel_id`` (the other arguments are then
        ignored), else a new one made from them.

    Example:
        >>> from klaw_core.runtime.channels.ray.factory import RayChannel
        >>> chan = RayChannel.create(4)
        >>> options = RayChannelOptions()
        >>> link = get_link(chan.actor, chan.channel_id, capacity=4, value_type=None,
        ...                 name=None, namespace=None, options=options)
        >>> again = get_link(chan.actor, chan.channel_id, capacity=99, value_type=str,
        ...                  name=None, namespace=None, options=options)
        >>> again is link, again.capacity
        (True, 4)
        >>> chan.destroy()
    """
    link = _links.get(channel_id)
    if link is None:
        link = Link(
            actor,
            channel_id,
            capacity=capacity,
            value_type=value_type,
            name=name,
            namespace=namespace,
            options=options,
        )
        _links[channel_id] = link
    return link


async def _wait(ref: Awaitable[R]) -> R:
    return await ref


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
        >>> link = get_link(chan.actor, chan.channel_id, capacity=4, value_type=None,
        ...                 name=None, namespace=None, options=RayChannelOptions())
        >>> asyncio.run(call(link, chan.actor.wait_room.remote(0.0), 0.0))
        PutAck(status='ok', room=4, detail='')
        >>> chan.destroy()
    """
    limit = link.options.reply_timeout + (wait or 0.0)
    try:
        return await asyncio.wait_for(_wait(ref), limit)
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
        >>> link = get_link(chan.actor, chan.channel_id, capacity=4, value_type=None,
        ...                 name=None, namespace=None, options=RayChannelOptions())
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

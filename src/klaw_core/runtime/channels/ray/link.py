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
- tasks blocked on any endpoint of the channel wait in one line per side
  (:class:`~..waiters.TurnLine`), served first come first served, and the
  process reports how many there are to the actor (:meth:`Link.note_waiting`);
- a receiver can flush the senders of its own process before it reports "empty",
  and ``stats()`` can count items that local receivers fetched but did not yet
  deliver, which makes a channel used inside one process behave exactly like the
  local backend even though senders batch and receivers prefetch.

Every actor call goes through :func:`call` (async) or :func:`call_blocking`:
Ray's actor failures become :class:`~klaw_core.runtime.errors.ChannelLostError`,
and each call has a deadline (the server-side wait plus ``reply_timeout``), so a
dead or unreachable actor makes callers fail instead of waiting forever. An
actor that Ray is restarting is waited for, within the same bound: Ray re-runs
calls caught by the crash on the new incarnation (the channel's default
``max_task_retries=-1``), which answers ``"restarted"``; where Ray reports the
actor unavailable instead, :func:`call` waits until it answers again and raises
:class:`ActorRestarted`, which the endpoints handle by rejoining the new epoch.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import typing
import weakref
from typing import Any, Final, Protocol

import msgspec
import ray as _ray_module
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from klaw_core.runtime.channels.ray.connection import ActorUnavailableError
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
from klaw_core.runtime.channels.waiters import TurnLine
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
    "ActorRestarted",
    "ALL_SENDERS_CLOSED",
    "LOST_DETAIL",
    "RECEIVER_CLOSED",
    "REPORT_DELAY",
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
_PROBE_INTERVAL: Final = 0.1


class ActorRestarted(ChannelLostError):
    """A call's outcome is unknown because Ray restarted the channel actor meanwhile.

    Raised by :func:`call` once the actor answers again; the sender and
    receiver catch it and rejoin the new epoch (replay, report). Elsewhere it
    reaches the caller as what it is, a :class:`ChannelLostError` for that one
    call; the channel itself is not marked lost.

    Args:
        channel: the channel's id.
        epoch: the restarted actor's epoch.

    Example:
        >>> ActorRestarted("c", 2).epoch
        2
    """

    def __init__(self, channel: str, epoch: int) -> None:
        super().__init__(channel, f"the channel actor restarted (epoch {epoch}) during the call")
        self.epoch = epoch

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.channel, self.epoch))


REPORT_DELAY: Final = 0.05
"""Seconds a change in a process's blocked tasks waits before it is reported to the actor."""


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

    @property
    def closed(self) -> bool:
        """True once the receiver is closed."""
        ...

    async def report(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tell the actor what it delivered.

        Args:
            loop: the running event loop.
        """
        ...

    def take_pending(self, loop: asyncio.AbstractEventLoop) -> object:
        """Hand over the next message it fetched and has not delivered, for a sibling's task.

        Args:
            loop: the running event loop.

        Returns:
            The message, or ``NOTHING``.
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
        link_id: this process's id for the channel (its waiting-task reports).
        send_line: tasks of this process blocked sending, in order.
        recv_line: tasks of this process blocked receiving, in order.
        epoch: the latest incarnation of the actor an endpoint here has seen
            (new endpoints start from it).

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
        "_renewing",
        "_report_due",
        "_reported",
        "credit",
        "epoch",
        "link_id",
        "lost",
        "receivers",
        "receivers_closed",
        "recv_line",
        "ref",
        "send_line",
        "senders",
        "starved",
    )

    def __init__(self, ref: ChannelRef) -> None:
        self.ref = ref
        capacity = ref.capacity
        self.credit: int = _UNBOUNDED_CREDIT if capacity is None else capacity
        self.lost: str | None = None
        self.epoch = 0  # the latest actor incarnation an endpoint of this process saw
        self.receivers_closed = False
        self.starved = 0  # senders of this process waiting for room
        self.senders: weakref.WeakSet[LocalSender] = weakref.WeakSet()
        self.receivers: weakref.WeakSet[LocalReceiver] = weakref.WeakSet()
        self.link_id = new_endpoint_id()
        self.send_line = TurnLine()
        self.recv_line = TurnLine()
        self._reported = (0, 0)  # waiting counts the actor last heard of
        self._report_due = False
        self._renewing = False  # a renewal of the last report is scheduled

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

    def line(self, line: TurnLine) -> TurnLine:
        """Return ``line`` if it belongs to the running event loop, else a fresh line for it.

        A line left by an event loop that ended holds tasks that will never
        run; the next loop starts a new one.

        Args:
            line: :attr:`send_line` or :attr:`recv_line`.

        Returns:
            The line to use on the running loop (stored back on the link).
        """
        loop = asyncio.get_running_loop()
        if line.owner_loop is loop:
            return line
        fresh = TurnLine(owner_loop=loop)
        if line is self.send_line:
            self.send_line = fresh
        else:
            self.recv_line = fresh
        return fresh

    def waiting(self) -> tuple[int, int]:
        """Tasks of this process blocked sending and receiving, on the running loop.

        Returns:
            ``(send, receive)``.
        """
        try:
            loop: object = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        send, recv = self.send_line, self.recv_line
        return (
            send.waiting() if send.owner_loop is loop else 0,
            recv.waiting() if recv.owner_loop is loop else 0,
        )

    def note_waiting(self) -> None:
        """A task joined or left a line: tell the actor the new counts, soon.

        Fire-and-forget, and only when the counts differ from the last report,
        so that ``stats()`` in another process counts this process's blocked
        tasks. Changes are reported :data:`REPORT_DELAY` later, with the counts
        of that moment: a task that blocks only briefly (a consumer between
        batches), or a consumer woken by a message that blocks again soon
        after, costs no actor call, and no report's submission (about 0.2 ms)
        lies on a message's way to its receiver. A report lasts one lease, so
        the tasks of a process that ends before reporting stop counting after
        one lease.
        """
        if self.lost is not None or self.waiting() == self._reported:
            return
        if not self._report_due:
            self._report_due = True
            asyncio.get_running_loop().call_later(REPORT_DELAY, self._send_delayed_report)

    def _send_delayed_report(self) -> None:
        self._report_due = False
        self._send_report()

    def _send_report(self) -> None:
        counts = self.waiting()
        if counts == self._reported or self.lost is not None:
            return
        if counts != (0, 0) and not self._renewing:
            # The actor counts a report for one lease: renew it while tasks wait.
            self._renewing = True
            asyncio.get_running_loop().call_later(
                self.options.lease_timeout / 2, self._renew_report
            )
        self._reported = counts
        self.notify("report_waiting", self.link_id, *counts)

    def _renew_report(self) -> None:
        self._renewing = False
        if self._reported != (0, 0):
            self._reported = (0, 0)  # forces the current counts out again
            self._send_report()

    def notify(self, method: str, *args: Any) -> None:
        """Call an actor method without waiting for its reply: once, failures ignored.

        For news the actor may miss without harm (a waiting-task count, a
        place given up); a dead actor is noticed by the next real call.

        Args:
            method: the :class:`~.actor.RayChannelActor` method.
            *args: its arguments.
        """
        try:
            ref = getattr(self.actor, method).options(max_task_retries=0).remote(*args)
            ref.future().add_done_callback(_retrieve)
        except Exception:  # the actor handle is unusable: nothing to tell
            return

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
        a receiver fetched but has not delivered count as buffered. The tasks
        waiting to send and to receive are this process's own, counted here,
        plus those the other processes reported to the actor.

        Returns:
            The actor's counters after those updates.

        Raises:
            ChannelLostError: the actor died, did not reply, or was restarted
                (its buffer is gone).
        """
        await self.push_local_senders()
        await self.report_local_receivers()
        stats: ChannelStats | None = await call(self, self.actor.stats.remote(self.link_id), 0.0)
        if stats is None:
            raise self.lose(LOST_DETAIL)
        send, receive = self.waiting()
        if not send and not receive:
            return stats
        return msgspec.structs.replace(
            stats,
            tasks_waiting_send=stats.tasks_waiting_send + send,
            tasks_waiting_receive=stats.tasks_waiting_receive + receive,
        )


_links: weakref.WeakValueDictionary[str, Link] = weakref.WeakValueDictionary()


def _retrieve(future: Any) -> None:
    """Collect a notification's outcome, so that Ray does not log it as unhandled."""
    if not future.cancelled():
        future.exception()


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
        ChannelLostError: the actor died, or did not reply within ``wait``
            plus ``reply_timeout`` seconds (the channel is then lost); or, as
            :class:`ActorRestarted`, Ray reported it restarting and it answered
            again (the call's outcome is unknown; the channel is not lost).
        KlawError: the actor method raised it (re-raised as is, not wrapped in
            Ray's ``RayTaskError``); so are ``ValueError`` and ``TypeError``.

    Example:
        >>> import asyncio
        >>> from klaw_core.runtime.channels.ray.factory import RayChannel
        >>> chan = RayChannel.create(4)
        >>> link = get_link(chan.ref)
        >>> asyncio.run(call(link, chan.actor.wait_room.remote(0.0), 0.0))
        PutAck(status='ok', room=4, detail='', epoch=0, through=-1)
        >>> chan.destroy()
    """
    limit = link.options.reply_timeout + (wait or 0.0)
    try:
        # asyncio.timeout, not wait_for: no task wrapped around the ref, so the
        # reply reaches the caller in one event-loop step (one message's latency).
        async with asyncio.timeout(limit):
            return await ref
    except ActorUnavailableError as exc:
        raise ActorRestarted(link.channel_id, await _await_actor(link, exc)) from exc
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
        ChannelLostError: the actor died or did not reply within
            ``reply_timeout`` seconds (the channel is then lost); or, as
            :class:`ActorRestarted`, Ray reported it restarting (only this
            call failed).
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
    except ActorUnavailableError as exc:  # restarting: this call failed, not the channel
        raise ActorRestarted(link.channel_id, link.epoch) from exc
    except RayActorError as exc:
        raise link.lose(f"the channel actor died or is unreachable: {_first_line(exc)}") from exc
    except GetTimeoutError as exc:
        raise link.lose(f"no reply from the channel actor within {limit:g}s") from exc
    except RayTaskError as exc:
        raise _unwrap(exc) from None


async def _await_actor(link: Link, cause: BaseException) -> int:
    """Wait until a restarting actor answers (within ``reply_timeout``); return its epoch.

    Raises:
        ChannelLostError: it died for good or did not answer in time.
    """
    limit = link.options.reply_timeout
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise link.lose(f"the channel actor did not come back within {limit:g}s: {cause}")
        try:
            async with asyncio.timeout(remaining):
                epoch: int = await link.actor.epoch.remote()
        except ActorUnavailableError:
            await asyncio.sleep(_PROBE_INTERVAL)
            continue
        except RayActorError as exc:
            raise link.lose(
                f"the channel actor died or is unreachable: {_first_line(exc)}"
            ) from exc
        except TimeoutError:
            continue
        link.epoch = max(link.epoch, epoch)
        return epoch


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

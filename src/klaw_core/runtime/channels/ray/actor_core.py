"""The channel actor's core: its state, how calls wait, how frames are checked.

Why apart: :class:`~.actor.RayChannelActor` serves three families of calls,
each in its own module (the frame path and registrations in :mod:`.actor`,
the object path in :mod:`.actor_objects`, the restart calls in
:mod:`.actor_epochs`); they share what is here. The constructor builds the
sans-IO :class:`~.store.ChannelStore` (restored from the registrations a
previous incarnation kept, when Ray restarted the actor: :mod:`.incarnation`),
and the helpers only await: a put that does not fit waits on a signal until
the store admits it, and a chain of timers expires leases on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar, cast

import msgspec

from klaw_core._wirecore import DEFAULT_MAX_FRAME_SIZE, peek_header, split_frames
from klaw_core.runtime.channels.ray import incarnation
from klaw_core.runtime.channels.ray.constants import (
    ALL_RECEIVERS_CLOSED,
    LOST_DETAIL,
    SENDER_CLOSED,
    ChannelMetadata,
    PutAck,
)
from klaw_core.runtime.channels.ray.restart import Registrations
from klaw_core.runtime.channels.ray.store import ChannelStore
from klaw_core.runtime.channels.ray.waiting import WaitingCalls
from klaw_core.runtime.channels.wire import WIRE_SCHEMA_VERSION, DataMessage, MessageKind
from klaw_core.runtime.errors import MalformedHeader, UnknownSchemaVersion

__all__ = ["DEFAULT_LEASE_TIMEOUT", "ActorCore", "deadline_after", "time_left", "type_name"]

T = TypeVar("T")

DEFAULT_LEASE_TIMEOUT: Final = 5.0
"""Seconds an endpoint may stay silent before the actor declares it lost."""


def type_name(tp: object) -> str | None:
    """Return a readable qualified name for a channel's value type.

    Args:
        tp: a class, another type form (``list[int]``, ``int | None``, ...),
            or ``None`` for an untyped channel.

    Returns:
        ``module.QualName`` for a class, the ``repr`` of any other type form,
        ``None`` for ``None``.

    Example:
        >>> type_name(int), type_name(list[int]), type_name(None)
        ('builtins.int', 'list[int]', None)
    """
    if tp is None:
        return None
    if isinstance(tp, type):
        return f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp)


class _TypeValidator(Generic[T]):
    """Validate (and convert) object-path values against the channel's type.

    Example:
        >>> v = _TypeValidator(int)
        >>> v.convert(3), v.check(3), v.check("x")
        (3, None, '...')
    """

    __slots__ = ("_convert", "value_type")

    def __init__(self, value_type: type[T] | None) -> None:
        self.value_type = value_type
        self._convert: Callable[[Any], T] | None = None
        if value_type is not None:
            target: Any = value_type

            def convert(item: Any) -> T:
                return cast(T, msgspec.convert(item, type=target, from_attributes=True))

            self._convert = convert

    def convert(self, item: Any) -> T:
        """Return ``item`` as the channel's type; raise ``msgspec.ValidationError`` if it is not."""
        if self._convert is None:
            return cast(T, item)
        return self._convert(item)

    def check(self, item: Any) -> str | None:
        """Return ``None`` when ``item`` is valid, else why it is not."""
        try:
            self.convert(item)
        except (msgspec.ValidationError, TypeError) as exc:
            return str(exc)
        return None


class _Signal:
    """Wake every waiter at once; each waiter re-checks its own condition.

    Each waiter awaits a future of its own, so a waiter that times out or is
    cancelled affects no other, and a notified waiter resumes in one
    event-loop step (no shield or ``wait_for`` task between it and the signal:
    a stored message reaches a parked ``get_frames`` sooner). Which parked
    ``get_frames`` call may take is decided by :class:`~.waiting.WaitingCalls`
    (arrival order), not by the order the waiters wake in.
    """

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def waiting(self) -> bool:
        """Whether a waiter is parked on the signal."""
        return bool(self._waiters)

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for future in waiters:
            if not future.done():
                future.set_result(None)

    async def wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.add(future)
        timer = None if timeout is None else loop.call_later(timeout, _wake, future)
        try:
            await future
        finally:
            if timer is not None:
                timer.cancel()
            self._waiters.discard(future)  # timed out or cancelled: not notified


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def time_left(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` (monotonic clock), at least 0; ``None`` for none.

    Args:
        deadline: a :func:`deadline_after` result.

    Returns:
        The seconds left, or ``None``.

    Example:
        >>> time_left(None), time_left(0.0)
        (None, 0.0)
    """
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def deadline_after(timeout: float | None) -> float | None:
    """The monotonic time ``timeout`` seconds from now; ``None`` for no timeout.

    Args:
        timeout: seconds, or ``None``.

    Returns:
        The deadline, or ``None``.

    Example:
        >>> deadline_after(None) is None
        True
    """
    return None if timeout is None else time.monotonic() + max(0.0, timeout)


class ActorCore(Generic[T]):
    """The state and internals every family of the actor's calls shares (see the module docstring).

    Args:
        channel_id: the id every frame's header must carry.
        capacity: most messages held at once; ``None`` for unbounded.
        value_type: the item type (validates the object path).
        senders: ids of sender endpoints registered from the start.
        receivers: ids of receiver endpoints registered from the start.
        name: the name other jobs attach by, if any.
        namespace: the Ray namespace of a named channel.
        max_frame_size: largest frame accepted.
        wire_versions: schema versions accepted in headers.
        lease_timeout: seconds an endpoint may stay silent before it is lost.

    Example:
        >>> ActorCore("c", capacity=2)._store.capacity
        2
    """

    def __init__(
        self,
        channel_id: str,
        capacity: int | None = None,
        value_type: type[T] | None = None,
        senders: Iterable[int] = (),
        receivers: Iterable[int] = (),
        *,
        name: str | None = None,
        namespace: str | None = None,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        wire_versions: tuple[int, ...] = (WIRE_SCHEMA_VERSION,),
        lease_timeout: float = DEFAULT_LEASE_TIMEOUT,
    ) -> None:
        record: Registrations | None = None
        self._lost = False
        if incarnation.reconstructed():
            record = incarnation.load(channel_id)
            self._lost = record is None  # nothing tells who was registered: report the loss
        epoch = 0 if record is None else record.epoch + 1
        self._store = ChannelStore(
            channel_id,
            capacity,
            lease_timeout=lease_timeout,
            now=time.monotonic(),
            senders=senders if record is None else (),
            receivers=receivers if record is None else (),
            epoch=epoch,
        )
        if record is not None:
            self._store.restore(record, time.monotonic())
        self._epoch = epoch
        self._persist()
        self._metadata = ChannelMetadata(
            channel_id=channel_id,
            name=name,
            namespace=namespace,
            capacity=capacity,
            value_type=type_name(value_type),
            created_at=datetime.now(UTC),
            wire_versions=tuple(sorted(wire_versions)),
        )
        self._value_type = value_type
        self._validator: _TypeValidator[T] = _TypeValidator(value_type)
        self._max_frame_size = max_frame_size
        self._wire_versions = frozenset(wire_versions)
        self._readable = _Signal()
        self._writable = _Signal()
        self._waiting = WaitingCalls()
        self._woken: dict[int, int] = {}
        self._object_seq = 0
        self._reaper: asyncio.TimerHandle | None = None
        item_type: Any = Any if value_type is None else value_type
        self._frame_type: Any = DataMessage[list[item_type]]

    def _now(self) -> float:
        if self._reaper is None:
            with contextlib.suppress(RuntimeError):  # no running loop: a plain object
                self._schedule_expiry(asyncio.get_running_loop())
        return time.monotonic()

    def _schedule_expiry(self, loop: asyncio.AbstractEventLoop) -> None:
        """Check the leases again when the next one may run out (half a lease at most).

        A chain of timers, not a task sleeping in a loop: when Ray tears the
        actor down, a pending timer vanishes quietly, where a pending task was
        reported as "Task was destroyed but it is pending!".
        """
        store = self._store
        deadline = store.next_deadline()
        wait = store.lease_timeout / 2
        if deadline is not None:
            wait = min(wait, max(0.05, deadline - time.monotonic() + 0.01))
        self._reaper = loop.call_later(wait, self._expire_leases, loop)

    def _expire_leases(self, loop: asyncio.AbstractEventLoop) -> None:
        """Timer callback: declare silent endpoints lost when their lease runs out."""
        try:
            if self._store.expire(time.monotonic()):
                self._persist()
                self._changed()
        finally:  # a failure to persist is logged by the loop; the leases keep being checked
            self._schedule_expiry(loop)

    def _changed(self) -> None:
        self._readable.notify()
        self._writable.notify()

    def _persist(self) -> None:
        """Keep the registrations for a next incarnation (see :mod:`.incarnation`).

        Once every sender and every receiver has ended, nothing can happen on
        the channel any more: the record is deleted.
        """
        if self._lost:
            return
        store = self._store
        if store.senders_closed and store.receivers_closed:
            incarnation.forget(store.channel_id)
        else:
            incarnation.save(store.channel_id, store.registrations())

    def _through(self, sender_id: int, oldest: int) -> int:
        return -1 if oldest < 0 else self._store.delivered_through(sender_id, oldest)

    async def _admit(
        self, sender_id: int | None, ticket: tuple[int, int], count: int, deadline: float | None
    ) -> PutAck | None:
        store = self._store
        while True:
            if self._lost:
                return PutAck("lost", detail=LOST_DETAIL)
            verdict = store.admit(sender_id, ticket, count)
            if verdict == "ok":
                return None
            if verdict == "closed":
                return PutAck("closed", detail=ALL_RECEIVERS_CLOSED)
            if verdict == "sender_closed":
                return PutAck("closed", detail=SENDER_CLOSED)
            remaining = time_left(deadline)
            if remaining == 0.0:
                if sender_id is None:  # an object-path put does not come back
                    store.withdraw(0, ticket)
                return PutAck("full", room=store.room())
            if sender_id is None:  # a blocked object-path caller counts as a waiting task
                self._waiting.object_puts += 1
                try:
                    await self._writable.wait(remaining)
                finally:
                    self._waiting.object_puts -= 1
            else:
                await self._writable.wait(remaining)

    def _check_frames(
        self, data: bytes, kinds: tuple[MessageKind, ...], *, seq: bool = False
    ) -> int:
        """Check every frame's header by peeking; return the first seq (or kind)."""
        channel_id = self._store.channel_id
        frames = split_frames(data, self._max_frame_size)
        if not frames:
            raise MalformedHeader("a batch holds at least one frame", 0)
        first = -1
        for frame in frames:
            header = peek_header(frame)
            if header.tag not in kinds:
                expected = " or ".join(f"{k.name} (tag {int(k)})" for k in kinds)
                raise MalformedHeader(f"expected a {expected} envelope, got tag {header.tag}", 0)
            if header.version not in self._wire_versions:
                known = ", ".join(str(v) for v in sorted(self._wire_versions))
                raise UnknownSchemaVersion(
                    f"schema version {header.version} is not accepted (known: {known})", 0
                )
            if header.channel_id != channel_id:
                raise MalformedHeader(
                    f"frame of channel {header.channel_id!r} sent to channel {channel_id!r}", 0
                )
            if first < 0:
                first = header.seq if seq else header.tag
        return first

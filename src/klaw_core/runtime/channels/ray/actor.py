"""The Ray actor that holds a channel's buffer: wire frames in, wire frames out.

Why an actor holding *bytes*: a Ray channel must be reachable from any task or
actor of the cluster, so its buffer lives in one async actor. The hot path
(:meth:`RayChannelActor.put_frames` / :meth:`RayChannelActor.get_frames`) stores
and hands out the batch frames that ``RaySender`` encodes, exactly as they
arrived. The actor checks each frame's header by *peeking* (the wire core reads
a few bytes: kind DATA, a known schema version, this channel's id) and never
unpickles or decodes a user payload, so its cost per call does not grow with
the messages in the batch, and type validation happens where it belongs: at
the receiving boundary, with the receiver's typed decoder.

Capacity is counted in *messages*, not frames: a batch frame of 4,096 messages
takes 4,096 slots (the sender says how many messages its frame holds). A put
that does not fit waits (backpressure) on an asyncio signal, in the actor, so a
sender feels a full channel as a slow ``put_frames`` reply. Every wait is
bounded by the caller's timeout; the endpoints poll with short timeouts so that
a dead actor is noticed within seconds instead of never.

The object path of FR-2.2 (:meth:`~RayChannelActor.put`, ``get``, ...) stores
Python values that Ray pickled, validated with a cached ``msgspec.convert``
when the channel has a ``value_type``. It shares the buffer with the frame path:
frames are decoded for an object-path ``get`` and values encoded for a
``get_frames``, so both kinds of endpoint can be mixed on one channel.

After a crash with ``max_restarts`` Ray re-runs ``__init__``: the buffer and the
registrations are gone. The new incarnation knows it was reconstructed and
answers every call with status ``"lost"``, so endpoints raise
``ChannelLostError`` instead of mistaking the empty actor for a clean end of
channel.

``RayChannelActor`` is a plain, typed class; :func:`remote_actor_class` wraps it
with ``ray.remote`` on first use, so importing this module starts nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar, cast

import msgspec
import ray as _ray_module

from klaw_core._wirecore import DEFAULT_MAX_FRAME_SIZE, peek_header, split_frames
from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.constants import (
    OBJECT_PATH_STREAM,
    BatchResult,
    ChannelMetadata,
    FrameBatch,
    PutAck,
    ReaderInfo,
    SingleResult,
    Status,
)
from klaw_core.runtime.channels.ray.link import (
    ALL_RECEIVERS_CLOSED as _ALL_RECEIVERS_CLOSED,
)
from klaw_core.runtime.channels.ray.link import (
    ALL_SENDERS_CLOSED as _ALL_SENDERS_CLOSED,
)
from klaw_core.runtime.channels.ray.link import LOST_DETAIL as _LOST_DETAIL
from klaw_core.runtime.channels.ray.link import RECEIVER_CLOSED as _RECEIVER_CLOSED
from klaw_core.runtime.channels.ray.link import SENDER_CLOSED as _SENDER_CLOSED
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.channels.wire import WIRE_SCHEMA_VERSION, DataMessage, MessageKind
from klaw_core.runtime.errors import KlawWireError, MalformedHeader, UnknownSchemaVersion

__all__ = [
    "RayChannelActor",
    "remote_actor_class",
    "type_name",
]

T = TypeVar("T")

# Ray's annotations are partial; its API is used dynamically (the tests check it).
ray: Any = _ray_module

#: Pseudo receiver stream of object-path gets: it makes no frame receiver exclusive.
_OBJECT_READER_STREAM: Final = -1


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _int_set() -> set[int]:
    return set()


def _int_dict() -> dict[int, int]:
    return {}


def _reader_dict() -> dict[int, ReaderInfo]:
    return {}


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


class _ChannelActorState(msgspec.Struct, gc=True):
    """Mutable bookkeeping of one channel actor.

    GC-tracked on purpose (FR-4.1): it is long-lived, mutated in place and holds
    containers, so the collector must be able to see through it.
    """

    channel_id: str
    capacity: int | None
    value_type: Any = None
    name: str | None = None
    namespace: str | None = None
    senders: set[int] = msgspec.field(default_factory=_int_set)
    receivers: dict[int, ReaderInfo] = msgspec.field(default_factory=_reader_dict)
    senders_closed: bool = False
    receivers_closed: bool = False
    created_at: datetime = msgspec.field(default_factory=_utcnow)
    buffered: int = 0
    high_watermark: int = 0
    total_sent: int = 0
    total_received: int = 0
    object_seq: int = 0
    reader_streams: set[int] = msgspec.field(default_factory=_int_set)
    woken: dict[int, int] = msgspec.field(default_factory=_int_dict)
    handed: dict[int, int] = msgspec.field(default_factory=_int_dict)
    delivered: dict[int, int] = msgspec.field(default_factory=_int_dict)
    outstanding: int = 0
    lost: bool = False


class _TypeValidator(Generic[T]):
    """Validate (and convert) object-path values against the channel's type.

    ``msgspec.convert`` compiles nothing per call, but building the closure and
    looking up the type once keeps the hot path to one call. Thread-safe: it
    holds no mutable state.

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


class _Entry:
    """One buffered batch: a stored frame (frame path) or Python values (object path)."""

    __slots__ = ("count", "data", "seq", "stream", "values")

    def __init__(
        self, count: int, data: bytes | None, values: list[Any] | None, stream: int, seq: int
    ) -> None:
        self.count = count
        self.data = data
        self.values = values
        self.stream = stream
        self.seq = seq


class _Signal:
    """Wake every waiter at once; each waiter re-checks its own condition.

    A waiter that times out or is cancelled never cancels the shared future
    (it waits through ``asyncio.shield``), so the others are unaffected.
    """

    __slots__ = ("_future",)

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None

    def notify(self) -> None:
        future = self._future
        if future is not None:
            self._future = None
            if not future.done():
                future.set_result(None)

    async def wait(self, timeout: float | None) -> None:
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        waiter = asyncio.shield(self._future)
        if timeout is None:
            await waiter
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout)


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + max(0.0, timeout)


def _reconstructed() -> bool:
    """True inside an actor that Ray restarted after a crash."""
    if not ray.is_initialized():  # used as a plain object, outside Ray
        return False
    context = ray.get_runtime_context()
    if context.get_actor_id() is None:
        return False
    with warnings.catch_warnings():  # Ray's own property uses a deprecated accessor
        warnings.simplefilter("ignore", DeprecationWarning)
        return bool(context.was_current_actor_reconstructed)


class RayChannelActor(Generic[T]):
    """A bounded (or unbounded) buffer of wire frames, shared through Ray.

    ``T`` types the object path and documents the channel; the frame path moves
    bytes and leaves validation to the receivers. Create it through
    :func:`remote_actor_class` (the endpoints do); as a plain object it runs
    in-process, which is how its unit tests drive it.

    Args:
        channel_id: the id every frame's header must carry.
        capacity: most messages buffered at once; ``None`` for unbounded.
        value_type: the item type (validates the object path).
        senders: ids of sender endpoints registered from the start.
        receivers: ids of receiver endpoints registered from the start.
        name: the name other jobs attach by, if any.
        namespace: the Ray namespace of a named channel.
        max_frame_size: largest frame accepted.
        wire_versions: schema versions accepted in headers.

    Example:
        >>> import asyncio
        >>> actor = RayChannelActor("c", capacity=2, value_type=int, senders=(), receivers=())
        >>> asyncio.run(actor.put(1)), asyncio.run(actor.get_nowait()).value
        ('ok', 1)
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
    ) -> None:
        if capacity is not None and capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._state = _ChannelActorState(
            channel_id=channel_id,
            capacity=capacity,
            value_type=value_type,
            name=name,
            namespace=namespace,
        )
        now = self._state.created_at
        self._state.senders.update(senders)
        for reader_id in receivers:
            self._state.receivers[reader_id] = ReaderInfo(reader_id, registered_at=now)
        self._state.lost = _reconstructed()
        self._validator: _TypeValidator[T] = _TypeValidator(value_type)
        self._max_frame_size = max_frame_size
        self._wire_versions = frozenset(wire_versions)
        self._buffer: deque[_Entry] = deque()
        self._readable = _Signal()
        self._writable = _Signal()
        item_type: Any = Any if value_type is None else value_type
        self._frame_type: Any = DataMessage[list[item_type]]

    # ------------------------------------------------------------ registration

    async def metadata(self) -> ChannelMetadata:
        """Return the channel's static description.

        Answers even after a restart (lost), with the new incarnation's
        creation time.

        Returns:
            Id, name, namespace, capacity, the value type's name, creation time
            and the accepted wire versions.
        """
        state = self._state
        return ChannelMetadata(
            channel_id=state.channel_id,
            name=state.name,
            namespace=state.namespace,
            capacity=state.capacity,
            value_type=type_name(state.value_type),
            created_at=state.created_at,
            wire_versions=tuple(sorted(self._wire_versions)),
        )

    async def value_type(self) -> type[T] | None:
        """Return the channel's item type (Ray pickles it for the caller).

        Returns:
            The ``value_type`` the actor was created with; ``None`` when untyped.
        """
        return cast("type[T] | None", self._state.value_type)

    async def register_sender(self, sender_id: int) -> PutAck:
        """Register a sender endpoint so that the channel stays open until it closes.

        Args:
            sender_id: a fresh endpoint id (:func:`~.link.new_endpoint_id`);
                registering an id twice counts it once.

        Returns:
            ``"ok"`` with the room left (``None`` when unbounded); ``"closed"``
            once every sender has closed (the channel has ended and cannot be
            reopened); ``"lost"`` after a restart.
        """
        state = self._state
        if state.lost:
            return PutAck("lost", detail=_LOST_DETAIL)
        if state.senders_closed:
            return PutAck("closed", detail=_ALL_SENDERS_CLOSED)
        state.senders.add(sender_id)
        return PutAck("ok", room=self._room())

    async def register_receiver(self, reader_id: int, node_id: str | None = None) -> PutAck:
        """Register a receiver endpoint so that sends keep succeeding until it closes.

        Args:
            reader_id: a fresh endpoint id (:func:`~.link.new_endpoint_id`);
                registering it again resets its :class:`~.constants.ReaderInfo`.
            node_id: the Ray node the receiver runs on, reported by
                :meth:`reader_stats`.

        Returns:
            ``"ok"`` with the room left (``None`` when unbounded); ``"closed"``
            once every receiver has closed (sends already fail for good);
            ``"lost"`` after a restart.
        """
        state = self._state
        if state.lost:
            return PutAck("lost", detail=_LOST_DETAIL)
        if state.receivers_closed:
            return PutAck("closed", detail=_ALL_RECEIVERS_CLOSED)
        state.receivers[reader_id] = ReaderInfo(reader_id, node_id, registered_at=_utcnow())
        return PutAck("ok", room=self._room())

    async def close_sender(self, sender_id: int) -> ChannelStats | None:
        """Deregister a sender. The last one to close starts the end of channel.

        Receivers then get what is buffered, then ``"closed"``.

        Args:
            sender_id: the id given to :meth:`register_sender`; an unknown or
                already closed id changes nothing.

        Returns:
            The channel's stats after the close, or ``None`` after a restart (lost).
        """
        state = self._state
        if state.lost:
            return None
        state.senders.discard(sender_id)
        if not state.senders and not state.senders_closed:
            state.senders_closed = True
            self._readable.notify()
        return self._stats()

    async def close_receiver(
        self,
        reader_id: int,
        frames: tuple[bytes, ...] = (),
        streams: tuple[int, ...] = (),
        counts: tuple[int, ...] = (),
        reader_stream: int | None = None,
    ) -> ChannelStats | None:
        """Deregister a receiver, putting back what it fetched and did not deliver.

        ``frames`` (with their ``streams`` and message ``counts``) go back to the
        front of the buffer, oldest first, so that nothing buffered is lost when
        one of several receivers closes. Whatever else ``reader_stream`` fetched
        was delivered. When the last receiver closes, every waiting and later put
        fails with ``"closed"``.

        Args:
            reader_id: the id given to :meth:`register_receiver`.
            frames: fetched frames the receiver did not deliver, oldest first,
                as :meth:`get_frames` handed them out (or re-encoded).
            streams: the sending stream of each frame.
            counts: the number of messages in each frame.
            reader_stream: the stream the receiver fetched with; ``None`` if it
                never fetched.

        Returns:
            The channel's stats after the close, or ``None`` after a restart (lost).

        Raises:
            ValueError: ``frames``, ``streams`` and ``counts`` differ in length.
        """
        state = self._state
        if state.lost:
            return None
        if not len(frames) == len(streams) == len(counts):
            raise ValueError("frames, streams and counts must have the same length")
        state.receivers.pop(reader_id, None)
        state.woken.pop(reader_id, None)
        if reader_stream is not None:
            held = state.handed.pop(reader_stream, 0) - state.delivered.pop(reader_stream, 0)
            state.outstanding -= held
            self._writable.notify()
        returned = sum(counts)
        for data, stream, count in zip(
            reversed(frames), reversed(streams), reversed(counts), strict=True
        ):
            self._buffer.appendleft(_Entry(count, data, None, stream, 0))
        state.buffered += returned
        state.total_received -= returned
        if not state.receivers and not state.receivers_closed:
            state.receivers_closed = True
            self._writable.notify()
        self._readable.notify()
        return self._stats()

    async def ack(self, stream: int, delivered: int) -> None:
        """Record that receiver ``stream`` has delivered ``delivered`` messages in all.

        Messages a receiver fetched count against the capacity until it reports
        them delivered (with this call or with its next ``get_frames``), so a
        prefetching receiver never makes the channel hold more than its capacity.
        Reporting frees that room and wakes waiting puts.

        Args:
            stream: the receiving stream, as passed to :meth:`get_frames`; an
                unknown stream is ignored.
            delivered: a running total, not an increment; a value at or below
                the last one reported changes nothing, and it is capped at what
                the stream was handed.
        """
        self._delivered(stream, delivered)

    async def wake_reader(self, reader_id: int, generation: int) -> None:
        """Make the reader's pending ``get_frames`` (issued before ``generation``) return now.

        The pending call returns at once (``"empty"``, unless something was
        buffered meanwhile): a receiver closing, or polling in ``try_recv``,
        does not wait out the ``poll_interval`` of its prefetch.

        Args:
            reader_id: the receiver whose fetch to interrupt.
            generation: interrupts calls made with a lower ``generation``; a
                value at or below an earlier wake changes nothing.
        """
        woken = self._state.woken
        if generation > woken.get(reader_id, 0):
            woken[reader_id] = generation
            self._readable.notify()

    # -------------------------------------------------------------- frame path

    async def put_frames(
        self,
        data: bytes,
        count: int,
        sender_id: int,
        stream: int,
        timeout: float | None = None,
    ) -> PutAck:
        """Store one framed batch of ``count`` messages, waiting for room.

        Args:
            data: one or more length-prefixed ``DataMessage`` frames.
            count: messages the frames hold in total (at least 1).
            sender_id: the registered sender storing them.
            stream: the sending stream (for per-sender sequence checks).
            timeout: seconds to wait for room; ``None`` waits indefinitely,
                ``0`` does not wait.

        Returns:
            ``"ok"`` with the room left, ``"full"`` (nothing stored) when no room
            came within ``timeout``, ``"closed"`` when every receiver (or this
            sender) is closed, ``"lost"`` after a restart.

        Raises:
            MalformedHeader: a frame is not a DATA envelope of this channel.
            UnknownSchemaVersion: a frame's header names an unknown version.
            TruncatedFrame, FrameTooLarge: ``data`` is not a whole batch of frames.
            ValueError: ``count`` is less than 1.
        """
        state = self._state
        if state.lost:
            return PutAck("lost", detail=_LOST_DETAIL)
        if sender_id not in state.senders:
            return PutAck("closed", detail=_SENDER_CLOSED)
        if count < 1:
            raise ValueError(f"a batch holds at least 1 message, got {count}")
        self._check_frames(data)
        refusal = await self._wait_for_room(count, _deadline(timeout))
        if refusal is not None:
            return refusal
        if sender_id not in state.senders:  # closed while waiting
            return PutAck("closed", detail=_SENDER_CLOSED)
        self._append(_Entry(count, data, None, stream, 0))
        return PutAck("ok", room=self._room())

    async def wait_room(self, timeout: float | None = None) -> PutAck:
        """Wait until at least one message fits; report the room (``"full"`` on timeout).

        Args:
            timeout: seconds to wait; ``None`` waits indefinitely, ``0`` only
                reports.

        Returns:
            ``"ok"`` with the room left (``None`` when unbounded), ``"full"``
            with ``room=0`` when ``timeout`` elapsed first, ``"closed"`` when
            every receiver is closed, ``"lost"`` after a restart.
        """
        refusal = await self._wait_for_room(1, _deadline(timeout))
        return refusal if refusal is not None else PutAck("ok", room=self._room())

    async def get_frames(
        self,
        reader_id: int,
        stream: int,
        max_messages: int,
        timeout: float | None = None,
        generation: int = 0,
        delivered: int = -1,
    ) -> FrameBatch:
        """Hand out whole stored batches, oldest first, up to ``max_messages``.

        Always returns at least one batch when any is buffered, even one larger
        than ``max_messages`` (a frame is never split). Waits up to ``timeout``
        for the first one.

        Args:
            reader_id: the registered receiver asking.
            stream: the receiving stream (a pickled endpoint gets a new one).
            max_messages: stop adding batches once this many messages are taken.
            timeout: seconds to wait when empty; ``None`` waits indefinitely.
            generation: return ``"empty"`` early once :meth:`wake_reader` was
                called for this reader with a higher generation.
            delivered: messages this stream has delivered in all, as for
                :meth:`ack` (``-1``: no news).

        Returns:
            ``"ok"`` with frames, ``"empty"`` (timeout or woken), ``"closed"`` at
            end of channel or when this receiver is closed, ``"lost"`` after a
            restart.
        """
        state = self._state
        if delivered >= 0:
            self._delivered(stream, delivered)
        deadline = _deadline(timeout)
        while True:
            if state.lost:
                return FrameBatch("lost", detail=_LOST_DETAIL)
            if reader_id not in state.receivers:
                return FrameBatch("closed", detail=_RECEIVER_CLOSED)
            if self._buffer:
                break
            if state.senders_closed:
                return FrameBatch("closed", detail=_ALL_SENDERS_CLOSED)
            if state.woken.get(reader_id, 0) > generation:
                return FrameBatch("empty")
            remaining = _remaining(deadline)
            if remaining == 0.0:
                return FrameBatch("empty")
            await self._readable.wait(remaining)
        state.reader_streams.add(stream)
        frames: list[bytes] = []
        streams: list[int] = []
        counts: list[int] = []
        taken = 0
        buffer = self._buffer
        while buffer and (taken == 0 or taken + buffer[0].count <= max_messages):
            entry = buffer.popleft()
            frames.append(entry.data if entry.data is not None else self._encode_entry(entry))
            streams.append(entry.stream)
            counts.append(entry.count)
            taken += entry.count
        self._taken(taken, reader_id)
        state.handed[stream] = state.handed.get(stream, 0) + taken
        state.outstanding += taken
        return FrameBatch(
            "ok",
            tuple(frames),
            tuple(streams),
            tuple(counts),
            exclusive=len(state.reader_streams) == 1,
        )

    # ------------------------------------------------------------- object path

    async def put(self, item: T, timeout: float | None = None) -> Status:
        """Store one value (validated against the channel's type), waiting for room.

        Args:
            item: the value; it is converted to the channel's type with
                ``msgspec.convert`` (``from_attributes=True``) and stored as
                converted.
            timeout: seconds to wait for room; ``None`` waits indefinitely,
                ``0`` does not wait.

        Returns:
            ``"ok"``, ``"full"`` (timeout), ``"closed"``, ``"invalid"`` (wrong
            type; nothing stored) or ``"lost"``.
        """
        return (await self.put_batch((item,), timeout)).status

    async def put_nowait(self, item: T) -> Status:
        """Store one value if it fits now; ``"full"`` otherwise.

        Args:
            item: the value, validated as for :meth:`put`.

        Returns:
            The status, as for :meth:`put`; ``"full"`` instead of waiting.
        """
        return await self.put(item, 0)

    async def put_batch(self, items: tuple[T, ...], timeout: float | None = None) -> BatchResult[T]:
        """Store all of ``items`` or none of them (validated first, then one wait for room).

        A batch larger than the capacity is admitted once the channel is empty,
        or it could never be stored.

        Args:
            items: the values, in order; each one validated as for :meth:`put`.
            timeout: seconds to wait for room for all of them; ``None`` waits
                indefinitely, ``0`` does not wait.

        Returns:
            A result without items: ``"ok"`` (all stored; also for no items),
            ``"full"`` (no room within ``timeout``), ``"invalid"`` (``detail``
            says which value failed and why), ``"closed"`` or ``"lost"``.
            Nothing is stored unless the status is ``"ok"``.
        """
        state = self._state
        if state.lost:
            return BatchResult("lost", detail=_LOST_DETAIL)
        if state.receivers_closed:
            return BatchResult("closed", detail=_ALL_RECEIVERS_CLOSED)
        if not items:
            return BatchResult("ok")
        try:
            values = [self._validator.convert(item) for item in items]
        except (msgspec.ValidationError, TypeError) as exc:
            return BatchResult("invalid", detail=str(exc))
        refusal = await self._wait_for_room(len(values), _deadline(timeout))
        if refusal is not None:
            return BatchResult(refusal.status, detail=refusal.detail)
        self._append(_Entry(len(values), None, values, OBJECT_PATH_STREAM, state.object_seq))
        state.object_seq += len(values)
        return BatchResult("ok")

    async def get(
        self, timeout: float | None = None, reader_id: int | None = None
    ) -> SingleResult[T]:
        """Take the oldest value, waiting up to ``timeout`` when empty.

        Args:
            timeout: seconds to wait for a value; ``None`` waits indefinitely,
                ``0`` does not wait.
            reader_id: the registered receiver asking, credited in
                :meth:`reader_stats`; ``None`` for an anonymous caller.

        Returns:
            ``"ok"`` with the value, ``"empty"`` (timeout), ``"closed"`` (end of
            channel), ``"invalid"`` (the next stored frame does not match the
            type and was dropped) or ``"lost"``.
        """
        batch = await self.get_batch(1, timeout, reader_id)
        if batch.status != "ok":
            return SingleResult(batch.status, detail=batch.detail)
        return SingleResult("ok", batch.items[0])

    async def get_nowait(self, reader_id: int | None = None) -> SingleResult[T]:
        """Take the oldest value if there is one; ``"empty"`` otherwise.

        Args:
            reader_id: as for :meth:`get`.

        Returns:
            The result, as for :meth:`get`; ``"empty"`` instead of waiting.
        """
        return await self.get(0, reader_id)

    async def get_batch(
        self, max_items: int, timeout: float | None = None, reader_id: int | None = None
    ) -> BatchResult[T]:
        """Take up to ``max_items`` values, waiting up to ``timeout`` for the first.

        Stored frames are decoded here (object-path callers get Python values);
        a frame whose payload does not match the type is dropped and reported as
        ``"invalid"``. Unlike :meth:`get_frames`, a stored batch is split when it
        holds more than is asked for.

        Args:
            max_items: the most values to return, at least 1.
            timeout: seconds to wait for the first value; ``None`` waits
                indefinitely, ``0`` does not wait.
            reader_id: as for :meth:`get`.

        Returns:
            ``"ok"`` with 1 to ``max_items`` values in channel order,
            ``"empty"`` (timeout), ``"closed"`` (end of channel), ``"invalid"``
            with the values taken before the dropped frame, or ``"lost"``.

        Raises:
            ValueError: ``max_items`` is less than 1.
        """
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        state = self._state
        deadline = _deadline(timeout)
        while not self._buffer:
            if state.lost:
                return BatchResult("lost", detail=_LOST_DETAIL)
            if state.senders_closed:
                return BatchResult("closed", detail=_ALL_SENDERS_CLOSED)
            remaining = _remaining(deadline)
            if remaining == 0.0:
                return BatchResult("empty")
            await self._readable.wait(remaining)
        if state.lost:
            return BatchResult("lost", detail=_LOST_DETAIL)
        state.reader_streams.add(_OBJECT_READER_STREAM)
        items: list[T] = []
        buffer = self._buffer
        while buffer and len(items) < max_items:
            entry = buffer[0]
            if entry.data is not None:
                try:
                    self._decode_entry(entry, entry.data)
                except KlawWireError as exc:
                    buffer.popleft()
                    # The values already taken leave the buffer too.
                    self._taken(entry.count + len(items), reader_id)
                    return BatchResult("invalid", tuple(items), detail=str(exc))
            values = cast("list[T]", entry.values)
            want = max_items - len(items)
            if len(values) <= want:
                buffer.popleft()
                items.extend(values)
            else:
                items.extend(values[:want])
                entry.values = values[want:]
                entry.count -= want
                entry.seq += want
        self._taken(len(items), reader_id)
        return BatchResult("ok", tuple(items))

    # ------------------------------------------------------------------- stats

    async def stats(self) -> ChannelStats | None:
        """Return a snapshot of the channel's counters, or ``None`` after a restart (lost).

        Returns:
            The counters; messages a receiver fetched and has not reported
            delivered count as buffered, not received. ``None`` after a restart.
        """
        return None if self._state.lost else self._stats()

    def _stats(self) -> ChannelStats:
        # Messages fetched by a receiver and not yet delivered by it are still
        # in the channel: buffered, not received.
        state = self._state
        return ChannelStats(
            buffered=state.buffered + state.outstanding,
            capacity=state.capacity,
            senders=len(state.senders),
            receivers=len(state.receivers),
            sent=state.total_sent,
            received=state.total_received - state.outstanding,
            high_watermark=state.high_watermark,
            senders_closed=state.senders_closed,
            receivers_closed=state.receivers_closed,
        )

    async def reader_stats(self) -> tuple[ReaderInfo, ...]:
        """Return what is known about each registered receiver.

        Returns:
            One :class:`~.constants.ReaderInfo` per open receiver, in
            registration order.
        """
        return tuple(self._state.receivers.values())

    async def is_lost(self) -> bool:
        """Tell whether this actor is a restarted incarnation (its buffer was lost).

        Returns:
            ``True`` after Ray restarted the actor (``max_restarts``); every
            other call then answers ``"lost"``.
        """
        return self._state.lost

    # --------------------------------------------------------------- internals

    def _room(self) -> int | None:
        state = self._state
        capacity = state.capacity
        return None if capacity is None else max(0, capacity - state.buffered - state.outstanding)

    def _fits(self, count: int) -> bool:
        state = self._state
        capacity = state.capacity
        used = state.buffered + state.outstanding
        # A batch larger than the whole capacity is admitted into an empty
        # channel, or it could never be stored.
        return capacity is None or used + count <= capacity or used == 0

    def _delivered(self, stream: int, delivered: int) -> None:
        state = self._state
        handed = state.handed.get(stream)
        if handed is None:
            return
        before = state.delivered.get(stream, 0)
        now = min(delivered, handed)
        if now > before:
            state.delivered[stream] = now
            state.outstanding -= now - before
            self._writable.notify()

    async def _wait_for_room(self, count: int, deadline: float | None) -> PutAck | None:
        state = self._state
        while True:
            if state.lost:
                return PutAck("lost", detail=_LOST_DETAIL)
            if state.receivers_closed:
                return PutAck("closed", detail=_ALL_RECEIVERS_CLOSED)
            if self._fits(count):
                return None
            remaining = _remaining(deadline)
            if remaining == 0.0:
                return PutAck("full", room=self._room())
            await self._writable.wait(remaining)

    def _append(self, entry: _Entry) -> None:
        state = self._state
        self._buffer.append(entry)
        state.buffered += entry.count
        state.total_sent += entry.count
        used = state.buffered + state.outstanding
        if used > state.high_watermark:
            state.high_watermark = used
        self._readable.notify()

    def _taken(self, count: int, reader_id: int | None) -> None:
        state = self._state
        state.buffered -= count
        state.total_received += count
        if reader_id is not None:
            info = state.receivers.get(reader_id)
            if info is not None:
                state.receivers[reader_id] = msgspec.structs.replace(
                    info, last_seen_at=_utcnow(), total_received=info.total_received + count
                )
        self._writable.notify()

    def _check_frames(self, data: bytes) -> None:
        """Check every frame's header by peeking; never decode a payload."""
        channel_id = self._state.channel_id
        frames = split_frames(data, self._max_frame_size)
        if not frames:
            raise MalformedHeader("a batch holds at least one frame", 0)
        for frame in frames:
            header = peek_header(frame)
            if header.tag != MessageKind.DATA:
                raise MalformedHeader(f"expected a DATA envelope (tag 1), got tag {header.tag}", 0)
            if header.version not in self._wire_versions:
                known = ", ".join(str(v) for v in sorted(self._wire_versions))
                raise UnknownSchemaVersion(
                    f"schema version {header.version} is not accepted (known: {known})", 0
                )
            if header.channel_id != channel_id:
                raise MalformedHeader(
                    f"frame of channel {header.channel_id!r} sent to channel {channel_id!r}", 0
                )

    def _encode_entry(self, entry: _Entry) -> bytes:
        """Encode object-path values as one batch frame (header seq = first value's)."""
        message = DataMessage.new(entry.values, channel_id=self._state.channel_id, seq=entry.seq)
        return bytes(get_codec_pool().encode_frames([message]))

    def _decode_entry(self, entry: _Entry, data: bytes) -> None:
        """Decode a stored frame entry in place into values (object-path gets only).

        Raises:
            KlawWireError: a frame is malformed or its payload has the wrong type.
        """
        messages = cast(
            "list[DataMessage[list[Any]]]",
            get_codec_pool().decode_frames(data, self._frame_type),
        )
        values: list[Any] = []
        for message in messages:
            values.extend(message.payload)
        entry.values = values
        entry.seq = messages[0].header.seq if messages else 0
        entry.data = None


def _remote_options() -> dict[str, Any]:
    return {"max_concurrency": 1000}


_remote_class: Any = None


def remote_actor_class() -> Any:
    """Return ``ray.remote(RayChannelActor)``, built once per process.

    Wrapping lazily keeps :class:`RayChannelActor` an ordinary typed class for
    importers and type checkers; only code that creates an actor pays for
    ``ray.remote``.

    Returns:
        The Ray actor class, with ``max_concurrency=1000`` so that calls waiting
        for room or for messages do not hold up the others. Pass
        :class:`RayChannelActor`'s arguments to ``.remote()``, Ray's actor
        options to ``.options()``.

    Example:
        >>> Actor = remote_actor_class()
        >>> Actor is remote_actor_class()
        True
        >>> actor = Actor.options(num_cpus=0).remote("doc-actor", capacity=4, value_type=int)
        >>> ray.get(actor.put.remote(7)), ray.get(actor.get_nowait.remote()).value
        ('ok', 7)
        >>> ray.kill(actor)
    """
    global _remote_class
    if _remote_class is None:
        _remote_class = ray.remote(**_remote_options())(RayChannelActor)
    return _remote_class

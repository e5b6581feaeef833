"""The Ray actor that holds a channel: it drives the channel's state machine.

Why an actor holding *bytes*: a Ray channel must be reachable from any task or
actor of the cluster, so its buffer lives in one async actor. The hot path
(:meth:`RayChannelActor.put_frames` / :meth:`RayChannelActor.get_frames`) stores
and hands out the batch frames that ``RaySender`` encodes, exactly as they
arrived. The actor checks each frame's header by *peeking* (kind, schema
version, channel id) and never decodes a user payload: type validation happens
at the receiving boundary.

Every rule (capacity, first-come-first-served admission, acknowledgements,
leases, redelivery, end of channel) lives in the sans-IO
:class:`~.store.ChannelStore`; this class only awaits: a put that does not fit
waits on a signal until the store admits it, a get waits until there is
something to hand out, and a background task expires leases on time. Control
traffic arrives as the wire protocol's own envelopes: a ``ControlMessage``
(close) or ``WireError`` (close with an error) in :meth:`close_sender`,
``Heartbeat`` frames in :meth:`heartbeat`, an ``Ack`` in :meth:`ack`.

The object path of FR-2.2 (:meth:`~RayChannelActor.put`, ``get``, ...) stores
Python values, validated with ``msgspec.convert`` when the channel has a
``value_type``, as frames in the same buffer.

After a crash with ``max_restarts`` Ray re-runs ``__init__``: the buffer and the
registrations are gone. The new incarnation knows it was reconstructed and
answers every call with status ``"lost"``.

``RayChannelActor`` is a plain, typed class; :func:`remote_actor_class` wraps it
with ``ray.remote`` on first use, so importing this module starts nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar, cast

import msgspec
import ray as _ray_module

from klaw_core._wirecore import DEFAULT_MAX_FRAME_SIZE, peek_header, split_frames
from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.constants import (
    ALL_RECEIVERS_CLOSED,
    ALL_SENDERS_CLOSED,
    LOST_DETAIL,
    OBJECT_PATH_STREAM,
    RECEIVER_CLOSED,
    SENDER_CLOSED,
    BatchResult,
    ChannelMetadata,
    FrameBatch,
    PutAck,
    ReaderInfo,
    SingleResult,
    Status,
)
from klaw_core.runtime.channels.ray.store import ChannelStore, Frame
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.channels.wire import (
    WIRE_SCHEMA_VERSION,
    Ack,
    DataMessage,
    Heartbeat,
    MessageKind,
)
from klaw_core.runtime.errors import KlawWireError, MalformedHeader, UnknownSchemaVersion

__all__ = ["DEFAULT_LEASE_TIMEOUT", "RayChannelActor", "remote_actor_class", "type_name"]

T = TypeVar("T")

# Ray's annotations are partial; its API is used dynamically (the tests check it).
ray: Any = _ray_module

DEFAULT_LEASE_TIMEOUT: Final = 5.0
"""Seconds an endpoint may stay silent before the actor declares it lost."""

#: Pseudo receiver session of object-path gets: it makes no frame receiver exclusive.
_OBJECT_READER_SESSION: Final = -1


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
    a stored message reaches a parked ``get_frames`` sooner).
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

    Create it through :func:`remote_actor_class` (the endpoints do); as a plain
    object it runs in-process, which is how its unit tests drive it.

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
        lease_timeout: float = DEFAULT_LEASE_TIMEOUT,
    ) -> None:
        self._store = ChannelStore(
            channel_id,
            capacity,
            lease_timeout=lease_timeout,
            now=time.monotonic(),
            senders=senders,
            receivers=receivers,
        )
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
        self._lost = _reconstructed()
        self._validator: _TypeValidator[T] = _TypeValidator(value_type)
        self._max_frame_size = max_frame_size
        self._wire_versions = frozenset(wire_versions)
        self._readable = _Signal()
        self._writable = _Signal()
        self._woken: dict[int, int] = {}
        self._object_seq = 0
        self._reaper: asyncio.Task[None] | None = None
        item_type: Any = Any if value_type is None else value_type
        self._frame_type: Any = DataMessage[list[item_type]]

    # ------------------------------------------------------------ registration

    async def metadata(self) -> ChannelMetadata:
        """Return the channel's static description (also after a restart).

        Returns:
            Id, name, namespace, capacity, the value type's name, creation time
            and the accepted wire versions.
        """
        return self._metadata

    async def value_type(self) -> type[T] | None:
        """Return the channel's item type (Ray pickles it for the caller).

        Returns:
            The ``value_type`` the actor was created with; ``None`` when untyped.
        """
        return self._value_type

    async def register_sender(self, sender_id: int) -> PutAck:
        """Register a sender endpoint so that the channel stays open until it ends.

        Args:
            sender_id: a fresh endpoint id; registering an id twice counts it once.

        Returns:
            ``"ok"`` with the room left; ``"closed"`` once every sender has ended
            (the channel cannot be reopened); ``"lost"`` after a restart.
        """
        if self._lost:
            return PutAck("lost", detail=LOST_DETAIL)
        if not self._store.add_sender(sender_id, self._now()):
            return PutAck("closed", detail=ALL_SENDERS_CLOSED)
        return PutAck("ok", room=self._store.room())

    async def register_receiver(self, reader_id: int, node_id: str | None = None) -> PutAck:
        """Register a receiver endpoint so that sends keep succeeding until it closes.

        Args:
            reader_id: a fresh endpoint id.
            node_id: the Ray node the receiver runs on, reported by :meth:`reader_stats`.

        Returns:
            ``"ok"`` with the room left; ``"closed"`` once every receiver has
            closed; ``"lost"`` after a restart.
        """
        if self._lost:
            return PutAck("lost", detail=LOST_DETAIL)
        if not self._store.add_receiver(reader_id, self._now(), node_id):
            return PutAck("closed", detail=ALL_RECEIVERS_CLOSED)
        return PutAck("ok", room=self._store.room())

    async def close_sender(
        self, sender_id: int, control: bytes | None = None
    ) -> ChannelStats | None:
        """End a sender: cleanly (a ``ControlMessage`` close, or no frame) or failed (a ``WireError``).

        A ``WireError`` frame is kept in the buffer after the sender's messages:
        the receiver that reaches it raises ``ProducerFailedError``. When the
        last sender ends, receivers get end of channel once drained.

        Args:
            sender_id: the id given to :meth:`register_sender`; an unknown or
                ended id changes nothing.
            control: one framed ``ControlMessage`` (action ``close``) or
                ``WireError`` envelope of this channel.

        Returns:
            The channel's stats after the close, or ``None`` after a restart (lost).

        Raises:
            MalformedHeader: ``control`` is not a close or error envelope of this channel.
        """
        if self._lost:
            return None
        marker: bytes | None = None
        if control is not None:
            kind = self._check_frames(control, (MessageKind.CONTROL, MessageKind.ERROR))
            marker = control if kind == MessageKind.ERROR else None
        self._store.close_sender(sender_id, marker)
        self._changed()
        return self._store.stats()

    async def close_receiver(
        self, reader_id: int, delivered: int | None = None, session: int | None = None
    ) -> ChannelStats | None:
        """Deregister a receiver; what it holds beyond ``delivered`` goes back to the channel.

        The given-back frames go to the front of the buffer, oldest first, so
        nothing is lost when one of several receivers closes. When the last
        receiver closes, every waiting and later put fails with ``"closed"``.

        Args:
            reader_id: the id given to :meth:`register_receiver`.
            delivered: its delivered total (``None``: it never fetched).
            session: the receiver instance that fetched; ignored when it is not
                the current one.

        Returns:
            The channel's stats after the close, or ``None`` after a restart (lost).
        """
        if self._lost:
            return None
        store = self._store
        holding = store.receivers.get(reader_id)
        if holding is not None and session is not None and holding.session != session:
            delivered = None
        store.close_receiver(reader_id, delivered)
        self._woken.pop(reader_id, None)
        self._changed()
        return store.stats()

    async def ack(self, reader_id: int, session: int, ack: bytes) -> None:
        """Record a receiver's delivered total, carried by an ``Ack`` envelope.

        Args:
            reader_id: the receiver.
            session: its instance, as passed to :meth:`get_frames`.
            ack: one framed ``Ack`` whose ``acked_seq`` is the running total of
                messages delivered (only moves forward).

        Raises:
            MalformedHeader: ``ack`` is not an ``Ack`` of this channel.
        """
        self._check_frames(ack, (MessageKind.ACK,))
        envelope = get_codec_pool().decode_frames(ack, Ack)[0]
        self._store.renew(reader_id, self._now(), session)
        if self._store.ack(reader_id, session, envelope.acked_seq, self._now()):
            self._changed()

    async def heartbeat(self, beats: bytes) -> tuple[int, ...]:
        """Renew the leases of the endpoints named by ``Heartbeat`` frames.

        Args:
            beats: framed ``Heartbeat`` envelopes of this channel; each
                ``sender_id`` is ``"<endpoint id>/<session>"`` in decimal,
                with ``"/transit"`` appended when another process beats for
                an endpoint pickled away.

        Returns:
            The endpoint ids whose beating session is superseded (a moved
            endpoint's new instance has spoken): the sender stops beating for them.

        Raises:
            MalformedHeader: a frame is not a ``Heartbeat`` of this channel.
        """
        self._check_frames(beats, (MessageKind.HEARTBEAT,))
        now = self._now()
        superseded: list[int] = []
        for beat in get_codec_pool().decode_frames(beats, Heartbeat):
            endpoint, _, rest = beat.sender_id.partition("/")
            session, _, transit = rest.partition("/")
            with contextlib.suppress(ValueError):
                endpoint_id = int(endpoint)
                mark = int(session) if session else None
                if self._store.renew(endpoint_id, now, mark, transit == "transit"):
                    superseded.append(endpoint_id)
        return tuple(superseded)

    async def wake_reader(self, reader_id: int, generation: int) -> None:
        """Make the reader's pending ``get_frames`` (issued before ``generation``) return now.

        Args:
            reader_id: the receiver whose fetch to interrupt.
            generation: interrupts calls made with a lower ``generation``.
        """
        if generation > self._woken.get(reader_id, 0):
            self._woken[reader_id] = generation
            self._readable.notify()

    # -------------------------------------------------------------- frame path

    async def put_frames(
        self, data: bytes, count: int, sender_id: int, session: int, timeout: float | None = None
    ) -> PutAck:
        """Store one framed batch of ``count`` messages, waiting for room in arrival order.

        A sender's seqs form one stream, named by its sender id, that stays the
        same when Ray re-runs the task or restarts the actor holding it (they
        unpickle the same endpoint). Messages this channel already stored from
        that stream are recognised by ``(sender_id, seq)`` and dropped: a put
        repeated after a lost reply, or by a deterministic producer sending
        again from the start, stores nothing twice.

        Args:
            data: one or more length-prefixed ``DataMessage`` frames.
            count: messages the frames hold in total (at least 1).
            sender_id: the registered sender storing them (its seq stream).
            session: the sender instance calling (a re-run or moved endpoint
                gets a new one); it renews the sender's lease.
            timeout: seconds to wait for room; ``None`` waits indefinitely,
                ``0`` does not wait. A put that gets ``"full"`` keeps its place
                in line for its retry (same first seq).

        Returns:
            ``"ok"`` with the room left (also for a put stored before),
            ``"full"`` (nothing stored), ``"closed"`` when every receiver (or
            this sender) is closed, ``"lost"`` after a restart.

        Raises:
            MalformedHeader: a frame is not a DATA envelope of this channel.
            UnknownSchemaVersion: a frame's header names an unknown version.
            TruncatedFrame, FrameTooLarge: ``data`` is not a whole batch of frames.
            ValueError: ``count`` is less than 1.
        """
        if self._lost:
            return PutAck("lost", detail=LOST_DETAIL)
        store = self._store
        store.renew(sender_id, self._now(), session)
        if count < 1:
            raise ValueError(f"a batch holds at least 1 message, got {count}")
        seq = self._check_frames(data, (MessageKind.DATA,), seq=True)
        if store.fresh(sender_id, seq, count) == 0:
            return PutAck("ok", room=store.room())  # stored before: its reply was lost
        if not store.is_open_sender(sender_id):
            return PutAck("closed", detail=SENDER_CLOSED)
        refusal = await self._admit(sender_id, (sender_id, seq), count, _deadline(timeout))
        if refusal is not None:
            return refusal
        store.store(
            Frame(data, producer=sender_id, stream=sender_id, seq=seq, count=count), self._now()
        )
        if self._readable.waiting:
            # A receiver is parked: let its get_frames take the frame and reply
            # before this one does, so the message is not queued behind the ack.
            self._readable.notify()
            await asyncio.sleep(0)
        return PutAck("ok", room=store.room())

    async def wait_room(self, timeout: float | None = None) -> PutAck:
        """Wait until at least one message fits; report the room (``"full"`` on timeout).

        Args:
            timeout: seconds to wait; ``None`` waits indefinitely, ``0`` only reports.

        Returns:
            ``"ok"`` with the room left, ``"full"`` with ``room=0``, ``"closed"``
            when every receiver is closed, ``"lost"`` after a restart.
        """
        deadline = _deadline(timeout)
        store = self._store
        while True:
            if self._lost:
                return PutAck("lost", detail=LOST_DETAIL)
            if store.receivers_closed:
                return PutAck("closed", detail=ALL_RECEIVERS_CLOSED)
            room = store.room()
            if room is None or (room > 0 and not store.waiting):
                return PutAck("ok", room=room)
            remaining = _remaining(deadline)
            if remaining == 0.0:
                return PutAck("full", room=0)
            await self._writable.wait(remaining)

    async def get_frames(
        self,
        reader_id: int,
        stream: int,
        max_messages: int,
        timeout: float | None = None,
        generation: int = 0,
        delivered: int = -1,
        received: int = -1,
    ) -> FrameBatch:
        """Hand out whole stored frames, oldest first, up to ``max_messages`` (at least one).

        Args:
            reader_id: the registered receiver asking.
            stream: the receiver instance (its session; a pickled endpoint gets a new one).
            max_messages: stop adding frames once this many messages are taken.
            timeout: seconds to wait when empty; ``None`` waits indefinitely.
            generation: return ``"empty"`` early once :meth:`wake_reader` was
                called for this reader with a higher generation.
            delivered: messages this session has delivered in all, as for
                :meth:`ack` (``-1``: no news).
            received: messages this session received from earlier calls
                (``-1``: unknown); what was handed beyond it is handed again.

        Returns:
            ``"ok"`` with frames, ``"empty"`` (timeout or woken), ``"closed"`` at
            end of channel or when this receiver is closed, ``"lost"`` after a restart.
        """
        store = self._store
        store.renew(reader_id, self._now(), stream)
        if delivered >= 0 and store.ack(reader_id, stream, delivered, self._now()):
            self._changed()
        deadline = _deadline(timeout)
        while True:
            if self._lost:
                return FrameBatch("lost", detail=LOST_DETAIL)
            if reader_id not in store.receivers:
                return FrameBatch("closed", detail=RECEIVER_CLOSED)
            taken = store.take(
                reader_id, stream, max_messages, self._now(), received if received >= 0 else None
            )
            if taken:
                break
            if store.ended_for(reader_id):
                return FrameBatch("closed", detail=ALL_SENDERS_CLOSED)
            if self._woken.get(reader_id, 0) > generation:
                return FrameBatch("empty")
            remaining = _remaining(deadline)
            if remaining == 0.0:
                return FrameBatch("empty")
            await self._readable.wait(remaining)
        self._writable.notify()  # a given-back frame taken again may unblock nothing; cheap
        return FrameBatch(
            "ok",
            tuple(f.data if f.data is not None else self._encode_values(f) for f in taken),
            tuple(f.stream for f in taken),
            tuple(f.count for f in taken),
            tuple(f.skip for f in taken),
            tuple(f.redelivered for f in taken),
            store.delivered_within(taken),
            exclusive=store.is_exclusive(reader_id),
        )

    # ------------------------------------------------------------- object path

    async def put(self, item: T, timeout: float | None = None) -> Status:
        """Store one value (validated against the channel's type), waiting for room.

        Args:
            item: the value, converted to the channel's type with ``msgspec.convert``.
            timeout: seconds to wait for room; ``None`` waits indefinitely, ``0`` does not.

        Returns:
            ``"ok"``, ``"full"``, ``"closed"``, ``"invalid"`` or ``"lost"``.
        """
        return (await self.put_batch((item,), timeout)).status

    async def put_nowait(self, item: T) -> Status:
        """Store one value if it fits now; ``"full"`` otherwise.

        Args:
            item: the value, validated as for :meth:`put`.

        Returns:
            The status, as for :meth:`put`.
        """
        return await self.put(item, 0)

    async def put_batch(self, items: tuple[T, ...], timeout: float | None = None) -> BatchResult[T]:
        """Store all of ``items`` or none of them (validated first, then one wait for room).

        Args:
            items: the values, in order.
            timeout: seconds to wait for room for all of them.

        Returns:
            ``"ok"`` (also for no items), ``"full"``, ``"invalid"`` (``detail``
            says why), ``"closed"`` or ``"lost"``; nothing is stored unless ``"ok"``.
        """
        if self._lost:
            return BatchResult("lost", detail=LOST_DETAIL)
        store = self._store
        if store.receivers_closed:
            return BatchResult("closed", detail=ALL_RECEIVERS_CLOSED)
        if not items:
            return BatchResult("ok")
        try:
            values = [self._validator.convert(item) for item in items]
        except (msgspec.ValidationError, TypeError) as exc:
            return BatchResult("invalid", detail=str(exc))
        seq = self._object_seq
        self._object_seq += len(values)
        refusal = await self._admit(
            None, (OBJECT_PATH_STREAM, seq), len(values), _deadline(timeout)
        )
        if refusal is not None:
            return BatchResult(refusal.status, detail=refusal.detail)
        frame = Frame(
            None,
            producer=OBJECT_PATH_STREAM,
            stream=OBJECT_PATH_STREAM,
            seq=seq,
            count=len(values),
            values=values,
        )
        store.store(frame, self._now())
        self._readable.notify()
        return BatchResult("ok")

    async def get(
        self, timeout: float | None = None, reader_id: int | None = None
    ) -> SingleResult[T]:
        """Take the oldest value, waiting up to ``timeout`` when empty.

        Args:
            timeout: seconds to wait; ``None`` waits indefinitely, ``0`` does not wait.
            reader_id: the registered receiver asking, credited in :meth:`reader_stats`.

        Returns:
            ``"ok"`` with the value, or the status of :meth:`get_batch`.
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
            The result, as for :meth:`get`.
        """
        return await self.get(0, reader_id)

    async def get_batch(
        self, max_items: int, timeout: float | None = None, reader_id: int | None = None
    ) -> BatchResult[T]:
        """Take up to ``max_items`` values, waiting up to ``timeout`` for the first.

        Stored frames are decoded here; a frame whose payload does not match
        the type is dropped and reported as ``"invalid"``.

        Args:
            max_items: the most values to return, at least 1.
            timeout: seconds to wait for the first value; ``None`` waits indefinitely.
            reader_id: the registered receiver asking, credited in
                :meth:`reader_stats`; ``None`` for an anonymous caller.

        Returns:
            ``"ok"`` with values, ``"empty"``, ``"closed"``, ``"invalid"`` (with
            the values taken before the dropped frame) or ``"lost"``.

        Raises:
            ValueError: ``max_items`` is less than 1.
        """
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        store = self._store
        deadline = _deadline(timeout)
        while not any(f.count for f in store.buffer):
            if self._lost:
                return BatchResult("lost", detail=LOST_DETAIL)
            if store.senders_closed and not store.buffer:
                return BatchResult("closed", detail=ALL_SENDERS_CLOSED)
            while store.buffer and not store.buffer[0].count:
                store.buffer.popleft()  # markers mean nothing to the object path
            remaining = _remaining(deadline)
            if remaining == 0.0:
                return BatchResult("empty")
            await self._readable.wait(remaining)
        if self._lost:
            return BatchResult("lost", detail=LOST_DETAIL)
        store.ever_fetched.add(_OBJECT_READER_SESSION)
        items: list[T] = []
        while len(items) < max_items:
            frame = store.take_values(max_items)
            if frame is None:
                break
            if not frame.count:
                continue
            try:
                values = self._values(frame)
            except KlawWireError as exc:
                self._changed()
                return BatchResult("invalid", tuple(items), detail=str(exc))
            want = max_items - len(items)
            rest = values[frame.skip :]
            items.extend(rest[:want])
            if len(rest) > want:
                store.put_back(frame, want)
        store.credit_reader(reader_id, len(items))
        self._changed()
        return BatchResult("ok", tuple(items))

    # ------------------------------------------------------------------- stats

    async def stats(self) -> ChannelStats | None:
        """Return the channel's counters, or ``None`` after a restart (lost).

        Returns:
            The counters; messages handed to a receiver and not acknowledged
            count as buffered. ``None`` after a restart.
        """
        return None if self._lost else self._store.stats()

    async def reader_stats(self) -> tuple[ReaderInfo, ...]:
        """Return what is known about each registered receiver.

        Returns:
            One :class:`~.constants.ReaderInfo` per open receiver, in registration order.
        """
        return self._store.reader_infos()

    async def is_lost(self) -> bool:
        """Tell whether this actor is a restarted incarnation (its buffer was lost).

        Returns:
            ``True`` after Ray restarted the actor; every other call then answers ``"lost"``.
        """
        return self._lost

    # --------------------------------------------------------------- internals

    def _now(self) -> float:
        if self._reaper is None:
            with contextlib.suppress(RuntimeError):  # no running loop: a plain object
                self._reaper = asyncio.get_running_loop().create_task(self._expire_leases())
        return time.monotonic()

    async def _expire_leases(self) -> None:
        """Background task: declare silent endpoints lost when their lease runs out."""
        store = self._store
        while True:
            deadline = store.next_deadline()
            wait = store.lease_timeout / 2
            if deadline is not None:
                wait = min(wait, max(0.05, deadline - time.monotonic() + 0.01))
            await asyncio.sleep(wait)
            if store.expire(time.monotonic()):
                self._changed()

    def _changed(self) -> None:
        self._readable.notify()
        self._writable.notify()

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
            remaining = _remaining(deadline)
            if remaining == 0.0:
                if sender_id is None:  # an object-path put does not come back
                    store.withdraw(0, ticket)
                return PutAck("full", room=store.room())
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

    def _encode_values(self, frame: Frame) -> bytes:
        """Encode object-path values as one batch frame (header seq = first value's)."""
        message = DataMessage.new(frame.values, channel_id=self._store.channel_id, seq=frame.seq)
        frame.data = bytes(get_codec_pool().encode_frames([message]))
        return frame.data

    def _values(self, frame: Frame) -> list[Any]:
        """The decoded values of a frame (object-path gets only).

        Raises:
            KlawWireError: a frame is malformed or its payload has the wrong type.
        """
        if frame.values is None:
            assert frame.data is not None
            messages = cast(
                "list[DataMessage[list[Any]]]",
                get_codec_pool().decode_frames(frame.data, self._frame_type),
            )
            frame.values = [value for message in messages for value in message.payload]
        return frame.values


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

"""The channel actor's object path (FR-2.2): Python values in, Python values out.

Why apart: the frame path (:mod:`.actor`) is what the endpoints use; this path
serves callers that hand the actor plain values, validated with
``msgspec.convert`` when the channel has a ``value_type``. They are stored as
frames in the same buffer, under the pseudo stream ``OBJECT_PATH_STREAM``, so
both paths share capacity, order and end of channel.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar, cast

import msgspec

from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.actor_core import ActorCore, deadline_after, time_left
from klaw_core.runtime.channels.ray.constants import (
    ALL_RECEIVERS_CLOSED,
    ALL_SENDERS_CLOSED,
    LOST_DETAIL,
    OBJECT_PATH_STREAM,
    BatchResult,
    SingleResult,
    Status,
)
from klaw_core.runtime.channels.ray.store import Frame
from klaw_core.runtime.channels.wire import DataMessage
from klaw_core.runtime.errors import KlawWireError

__all__ = ["ObjectPath"]

T = TypeVar("T")

#: Pseudo receiver session of object-path gets: it makes no frame receiver exclusive.
_OBJECT_READER_SESSION: Final = -1


class ObjectPath(ActorCore[T]):
    """The object-path calls of :class:`~.actor.RayChannelActor` (a base class of it).

    Example:
        >>> import asyncio
        >>> actor = ObjectPath("c", capacity=2, value_type=int)
        >>> asyncio.run(actor.put_batch((1, 2))).status, asyncio.run(actor.get_batch(5)).items
        ('ok', (1, 2))
    """

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
            None, (OBJECT_PATH_STREAM, seq), len(values), deadline_after(timeout)
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
        deadline = deadline_after(timeout)
        while not any(f.count for f in store.buffer):
            if self._lost:
                return BatchResult("lost", detail=LOST_DETAIL)
            if store.senders_closed and not store.buffer:
                return BatchResult("closed", detail=ALL_SENDERS_CLOSED)
            while store.buffer and not store.buffer[0].count:
                store.buffer.popleft()  # markers mean nothing to the object path
            remaining = time_left(deadline)
            if remaining == 0.0:
                return BatchResult("empty")
            self._waiting.object_gets += 1
            try:
                await self._readable.wait(remaining)
            finally:
                self._waiting.object_gets -= 1
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

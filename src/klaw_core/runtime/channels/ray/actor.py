"""The Ray actor that holds a channel: it drives the channel's state machine.

Why an actor holding *bytes*: a Ray channel must be reachable from any task or
actor of the cluster, so its buffer lives in one async actor. The hot path
(:mod:`.actor_frames`: ``put_frames`` / ``get_frames``) stores
and hands out the batch frames that ``RaySender`` encodes, exactly as they
arrived. The actor checks each frame's header by *peeking* (kind, schema
version, channel id) and never decodes a user payload: type validation happens
at the receiving boundary.

Every rule (capacity, first-come-first-served admission, acknowledgements,
leases, redelivery, end of channel) lives in the sans-IO
:class:`~.store.ChannelStore`; this class only awaits: a put that does not fit
waits on a signal until the store admits it, a get waits until there is
something to hand out, and a chain of timers expires leases on time. Control
traffic arrives as the wire protocol's own envelopes: a ``ControlMessage``
(close) or ``WireError`` (close with an error) in :meth:`close_sender`,
``Heartbeat`` frames in :meth:`heartbeat`, an ``Ack`` in :meth:`ack`.

The object path of FR-2.2 (:meth:`~RayChannelActor.put`, ``get``, ...) stores
Python values, validated with ``msgspec.convert`` when the channel has a
``value_type``, as frames in the same buffer.

After a crash with ``max_restarts`` Ray re-runs ``__init__``: the buffer is
gone. The new incarnation is a new *epoch* (:mod:`.restart`): it reads the
registrations its predecessor kept in Ray's GCS (:mod:`.incarnation`), answers
every call made for an earlier epoch with ``"restarted"`` (nothing applied),
takes the batches producers replay, and hands nothing out until every
receiver reported what it delivered. Only when no record survived does it
answer every call with ``"lost"``.

``RayChannelActor`` is a plain, typed class; :func:`remote_actor_class` wraps it
with ``ray.remote`` on first use, so importing this module starts nothing.
"""

from __future__ import annotations

import contextlib
from typing import Any, TypeVar

import msgspec
import ray as _ray_module

from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.actor_core import (
    DEFAULT_LEASE_TIMEOUT,
    type_name,
)
from klaw_core.runtime.channels.ray.actor_epochs import EpochCalls
from klaw_core.runtime.channels.ray.actor_frames import FrameCalls
from klaw_core.runtime.channels.ray.actor_objects import ObjectPath
from klaw_core.runtime.channels.ray.actor_turns import TurnCalls
from klaw_core.runtime.channels.ray.constants import (
    ALL_RECEIVERS_CLOSED,
    ALL_SENDERS_CLOSED,
    LOST_DETAIL,
    BeatReply,
    ChannelMetadata,
    PutAck,
    ReaderInfo,
)
from klaw_core.runtime.channels.stats import ChannelStats
from klaw_core.runtime.channels.wire import (
    Ack,
    Heartbeat,
    MessageKind,
)

__all__ = ["DEFAULT_LEASE_TIMEOUT", "RayChannelActor", "remote_actor_class", "type_name"]

T = TypeVar("T")

# Ray's annotations are partial; its API is used dynamically (the tests check it).
ray: Any = _ray_module


class RayChannelActor(ObjectPath[T], FrameCalls[T], EpochCalls[T], TurnCalls[T]):
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
            ``"ok"`` with the room left and the current epoch; ``"closed"``
            once every sender has ended (the channel cannot be reopened);
            ``"lost"`` after a restart that kept no record.
        """
        if self._lost:
            return PutAck("lost", detail=LOST_DETAIL)
        known = sender_id in self._store.producers
        if not self._store.add_sender(sender_id, self._now()):
            return PutAck("closed", detail=ALL_SENDERS_CLOSED, epoch=self._epoch)
        if not known:
            self._persist()
        return PutAck("ok", room=self._store.room(), epoch=self._epoch)

    async def register_receiver(self, reader_id: int, node_id: str | None = None) -> PutAck:
        """Register a receiver endpoint so that sends keep succeeding until it closes.

        Args:
            reader_id: a fresh endpoint id.
            node_id: the Ray node the receiver runs on, reported by :meth:`reader_stats`.

        Returns:
            ``"ok"`` with the room left and the current epoch; ``"closed"``
            once every receiver has closed; ``"lost"`` after a restart that
            kept no record.
        """
        if self._lost:
            return PutAck("lost", detail=LOST_DETAIL)
        known = reader_id in self._store.receivers
        if not self._store.add_receiver(reader_id, self._now(), node_id):
            return PutAck("closed", detail=ALL_RECEIVERS_CLOSED, epoch=self._epoch)
        if not known:
            self._persist()
        return PutAck("ok", room=self._store.room(), epoch=self._epoch)

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
        self._persist()
        self._changed()
        return self._store.stats()

    async def close_receiver(
        self,
        reader_id: int,
        delivered: int | None = None,
        session: int | None = None,
        epoch: int | None = None,
        report: dict[int, list[tuple[int, int]]] | None = None,
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
            epoch: the epoch the receiver knows (``None``: the current one).
                For an earlier epoch, ``delivered`` means nothing here and
                ``report`` tells what the receiver delivered, so that it is
                not delivered again.
            report: per sender stream, the seq spans the receiver delivered.

        Returns:
            The channel's stats after the close, or ``None`` after a restart
            that kept no record (lost).
        """
        if self._lost:
            return None
        store = self._store
        if epoch is not None and epoch != self._epoch:
            if report is not None and reader_id in store.receivers:
                store.resume(reader_id, report, {}, self._now())
            delivered = None
        holding = store.receivers.get(reader_id)
        if holding is not None and session is not None and holding.session != session:
            delivered = None
        store.close_receiver(reader_id, delivered)
        self._woken.pop(reader_id, None)
        self._persist()
        self._changed()
        return store.stats()

    async def ack(self, reader_id: int, session: int, ack: bytes, epoch: int | None = None) -> None:
        """Record a receiver's delivered total, carried by an ``Ack`` envelope.

        Args:
            reader_id: the receiver.
            session: its instance, as passed to :meth:`get_frames`.
            ack: one framed ``Ack`` whose ``acked_seq`` is the running total of
                messages delivered (only moves forward).
            epoch: the epoch the receiver knows (``None``: the current one);
                an acknowledgement for another epoch is ignored.

        Raises:
            MalformedHeader: ``ack`` is not an ``Ack`` of this channel.
        """
        self._check_frames(ack, (MessageKind.ACK,))
        envelope = get_codec_pool().decode_frames(ack, Ack)[0]
        if epoch is not None and epoch != self._epoch:
            return
        self._store.renew(reader_id, self._now(), session)
        if self._store.ack(reader_id, session, envelope.acked_seq, self._now()):
            self._changed()

    async def heartbeat(self, beats: bytes) -> BeatReply:
        """Renew the leases of the endpoints named by ``Heartbeat`` frames.

        Args:
            beats: framed ``Heartbeat`` envelopes of this channel; each
                ``sender_id`` is ``"<endpoint id>/<session>"`` in decimal,
                with ``"/transit"`` appended when another process beats for
                an endpoint pickled away.

        Returns:
            The endpoint ids whose beating session is superseded (a moved
            endpoint's new instance has spoken: the sender stops beating for
            them), and the current epoch.

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
        return BeatReply(tuple(superseded), self._epoch)

    async def wake_reader(self, reader_id: int, generation: int) -> None:
        """Make the reader's pending ``get_frames`` (issued before ``generation``) return now.

        Args:
            reader_id: the receiver whose fetch to interrupt.
            generation: interrupts calls made with a lower ``generation``.
        """
        if generation > self._woken.get(reader_id, 0):
            self._woken[reader_id] = generation
            self._readable.notify()

    # ------------------------------------------------------------------- stats

    async def stats(self, link_id: int | None = None) -> ChannelStats | None:
        """Return the channel's counters, or ``None`` after a restart (lost).

        Args:
            link_id: the asking process's link; its own blocked tasks are left
                out of ``tasks_waiting_*`` (it adds its current counts itself).

        Returns:
            The counters; messages handed to a receiver and not acknowledged
            count as buffered. ``None`` after a restart that kept no record.
        """
        if self._lost:
            return None
        send, receive = self._waiting.totals(exclude=link_id, now=self._now())
        return msgspec.structs.replace(
            self._store.stats(), tasks_waiting_send=send, tasks_waiting_receive=receive
        )

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

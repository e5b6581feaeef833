"""The small structs that cross the wire between Ray channel endpoints and the actor.

Every reply of :class:`~klaw_core.runtime.channels.ray.actor.RayChannelActor` is
one of these frozen, untracked (``gc=False``) ``msgspec.Struct`` s: they are
cheap to build, pickle by naming this module (so they unpickle in any worker
that can import klaw-core), and a reply can never be mistaken for live state.

Two families:

- the **object path** of FR-2.2 (``put``/``get`` of Python values, validated by
  the actor): :class:`SingleResult` and :class:`BatchResult`;
- the **frame path** that ``RaySender``/``RayReceiver`` use: :class:`PutAck`
  for a stored batch frame and :class:`FrameBatch` for the frames handed to a
  receiver. Frames are MessagePack wire frames (``bytes``); nothing here holds
  a decoded user payload.

``status`` is one of :data:`Status`; the endpoints turn it into the matching
channel error (``"closed"`` into ``ChannelClosed``, ``"lost"`` into
``ChannelLost``, ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Generic, Literal, TypeAlias, TypeVar

import msgspec

__all__ = [
    "ALL_RECEIVERS_CLOSED",
    "ALL_SENDERS_CLOSED",
    "DEFAULT_NAMESPACE",
    "LOST_DETAIL",
    "RECEIVER_CLOSED",
    "SENDER_CLOSED",
    "OBJECT_PATH_STREAM",
    "BatchResult",
    "BeatReply",
    "ChannelMetadata",
    "FrameBatch",
    "PutAck",
    "ReaderInfo",
    "SingleResult",
    "Status",
]

T = TypeVar("T")

Status: TypeAlias = Literal["ok", "empty", "full", "closed", "invalid", "lost", "restarted"]
"""Outcome of an actor call.

``ok``: done. ``empty``: nothing buffered within the timeout. ``full``: no room
within the timeout. ``closed``: every sender closed and the buffer is drained
(for a get), or every receiver closed (for a put), or the calling endpoint is
closed. ``invalid``: a value failed the channel's type (object path).
``lost``: the actor was restarted after a crash and its buffer is gone (no
record of its registrations survived). ``restarted``: the call was made for an
earlier incarnation (epoch) of the actor and was not applied; the reply's
``epoch`` is the current one, and the endpoint rejoins it (producers replay,
receivers report) before asking again.
"""

# The local backend's reasons, so that both backends read alike.
ALL_SENDERS_CLOSED: Final = "all senders closed"
ALL_RECEIVERS_CLOSED: Final = "all receivers closed"
SENDER_CLOSED: Final = "sender is closed"
RECEIVER_CLOSED: Final = "receiver is closed"
LOST_DETAIL: Final = (
    "the channel actor was restarted after a failure; the messages it buffered "
    "and its sender/receiver registrations were lost"
)

DEFAULT_NAMESPACE: Final = "klaw"
"""Ray namespace of named channel actors when none is configured."""

OBJECT_PATH_STREAM: Final = 0
"""Stream id of frames the actor builds itself from object-path ``put`` calls."""


class ReaderInfo(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """What the actor knows about one registered receiver.

    Attributes:
        reader_id: the receiver's endpoint id.
        node_id: Ray node the receiver last called from, when known.
        registered_at: when the receiver was registered (UTC).
        last_seen_at: when it last received something (UTC), if ever.
        total_received: messages handed to it so far.

    Example:
        >>> from datetime import datetime, timezone
        >>> info = ReaderInfo(7, registered_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
        >>> info.total_received, info.last_seen_at is None
        (0, True)
    """

    reader_id: int
    node_id: str | None = None
    registered_at: datetime | None = None
    last_seen_at: datetime | None = None
    total_received: int = 0


class SingleResult(msgspec.Struct, Generic[T], frozen=True, gc=False, omit_defaults=True):
    """Reply to an object-path ``get``/``put``: a status and, on ``"ok"``, the value.

    Attributes:
        status: see :data:`Status`.
        value: the item received (``None`` unless a get succeeded).
        detail: why a put was refused (``"invalid"``), else empty.

    Example:
        >>> SingleResult("ok", 3).value, SingleResult("empty").value
        (3, None)
    """

    status: Status
    value: T | None = None
    detail: str = ""


class BatchResult(msgspec.Struct, Generic[T], frozen=True, gc=False, omit_defaults=True):
    """Reply to an object-path ``get_batch``/``put_batch``.

    Attributes:
        status: see :data:`Status`.
        items: the items received, in channel order.
        detail: why a put was refused (``"invalid"``), else empty.

    Example:
        >>> BatchResult("ok", (1, 2)).items
        (1, 2)
    """

    status: Status
    items: tuple[T, ...] = ()
    detail: str = ""


class ChannelMetadata(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """Static description of a Ray channel, as its actor reports it.

    Attributes:
        channel_id: the id written in every wire header of the channel.
        name: the name other jobs attach by (``None`` for an anonymous channel).
        namespace: Ray namespace of a named channel's actor.
        capacity: the most messages buffered at once (``None`` when unbounded).
        value_type: qualified name of the item type (``None`` when untyped).
        created_at: when the actor was created (UTC).
        wire_versions: schema versions the actor accepts in headers.

    Example:
        >>> msgspec.msgpack.encode(ChannelMetadata("c1", capacity=8))
        b'\\x82\\xaachannel_id\\xa2c1\\xa8capacity\\x08'
    """

    channel_id: str
    name: str | None = None
    namespace: str | None = None
    capacity: int | None = None
    value_type: str | None = None
    created_at: datetime | None = None
    wire_versions: tuple[int, ...] = ()


class PutAck(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """Reply to ``put_frames`` and ``wait_room``.

    Attributes:
        status: ``"ok"`` (stored / room available), ``"full"`` (no room within
            the timeout, nothing stored), ``"closed"``, ``"lost"`` or
            ``"restarted"`` (made for an earlier epoch; nothing done).
        room: messages that fit after this call (``None`` when unbounded).
        detail: a human-readable reason for a refusal.
        epoch: the actor's current incarnation.
        through: the first seq of the calling sender not known delivered
            (``-1``: not asked); the sender forgets what it kept below it.

    Example:
        >>> PutAck("ok", room=10).room
        10
    """

    status: Status
    room: int | None = None
    detail: str = ""
    epoch: int = 0
    through: int = -1


class BeatReply(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """Reply to ``heartbeat``.

    Attributes:
        superseded: endpoint ids whose beating session is superseded (a moved
            endpoint's new instance has spoken): the process stops beating for them.
        epoch: the actor's current incarnation; an endpoint that joined an
            earlier one rejoins (a sender replays what it kept, a receiver
            reports what it delivered) even while idle.

    Example:
        >>> BeatReply((), epoch=1).epoch
        1
    """

    superseded: tuple[int, ...] = ()
    epoch: int = 0


class FrameBatch(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """Reply to ``get_frames``: whole batch frames, oldest first, still encoded.

    Attributes:
        status: ``"ok"`` (``frames`` is not empty), ``"empty"`` (timeout or
            woken), ``"closed"`` (end of channel, or this receiver is closed)
            or ``"lost"``.
        frames: framed batches exactly as senders stored them (each one or more
            4-byte-length-prefixed ``DataMessage[list[T]]`` envelopes).
        streams: for each entry of ``frames``, the sending stream's id, so that
            receivers can check per-sender sequence numbers.
        counts: for each entry of ``frames``, how many messages it holds.
        skips: for each entry of ``frames``, how many messages at its start
            were already delivered (a frame given back part-delivered); the
            receiver drops them.
        redelivered: for each entry of ``frames``, whether it was handed to a
            receiver that died before acknowledging it (its messages may have
            been delivered once already).
        spans: ``(stream, start, end)`` seq spans inside ``frames`` that were
            delivered already (known after an actor restart, when a producer
            replays batches cut differently); the receiver drops them.
        exclusive: ``True`` while this receiver is the only one that has ever
            fetched from the channel, i.e. it sees every message and a gap in a
            stream's sequence numbers means loss.
        detail: a human-readable reason for ``"closed"``/``"lost"``.
        epoch: the actor's current incarnation (with ``"restarted"``: the
            receiver reports what it delivered, then fetches again).

    Example:
        >>> FrameBatch("empty").frames
        ()
    """

    status: Status
    frames: tuple[bytes, ...] = ()
    streams: tuple[int, ...] = ()
    counts: tuple[int, ...] = ()
    skips: tuple[int, ...] = ()
    redelivered: tuple[bool, ...] = ()
    spans: tuple[tuple[int, int, int], ...] = ()
    exclusive: bool = False
    detail: str = ""
    epoch: int = 0

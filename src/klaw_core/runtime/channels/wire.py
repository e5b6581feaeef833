"""The canonical wire protocol: every message that leaves a process is one of these.

An envelope is a msgspec ``array_like`` struct with an integer tag, so it encodes
as a MessagePack array ``[tag, header, ...fields]`` (see ``docs/wire-format.md``):

========  ===============  ==============================================
tag       type             layout
========  ===============  ==============================================
1         DataMessage      ``[1, header, payload]``
2         ControlMessage   ``[2, header, action, metadata]``
3         Heartbeat        ``[3, header, sender_id]``
4         Ack              ``[4, header, acked_seq, status]``
5         WireError        ``[5, header, code, message, details]``
========  ===============  ==============================================

``header`` is :class:`WireHeader`, ``[version, kind, channel_id, seq, ts]``.
Integer tags and positional fields keep frames small and decoding fast, and let
the wire core peek at the header without decoding the rest.

Why the details matter:

- ``header.kind`` always equals the tag. Each type has a default header of its
  own kind and a ``new(...)`` constructor that builds the header, so callers never
  write one by hand. Decoding does not re-check the kind (a ``__post_init__`` would
  cost ~30% of a small envelope's decode time); the tag decides the type.
- ``msgspec.Raw`` fields (``metadata``, ``details``, the payload of
  ``DataMessage[Raw]``) hold exactly one complete MessagePack value and default
  to nil (``Raw(b"\\xc0")``). The seeds' ``Raw(b"")`` default encoded to nothing,
  producing an array that claims more items than it holds. Every type built with
  only its defaults round-trips.
- The structs are frozen and hashable. ``msgspec.Raw`` is not hashable, so the
  types holding one hash the Raw's bytes instead (consistent with ``==``, which
  compares those bytes).
"""

from __future__ import annotations

import time
from enum import IntEnum, StrEnum
from typing import Any, Generic, TypeAlias, TypeVar

import msgspec

__all__ = [
    "NIL",
    "WIRE_SCHEMA_VERSION",
    "Ack",
    "ControlAction",
    "ControlMessage",
    "DataMessage",
    "Heartbeat",
    "MessageKind",
    "WireEnvelope",
    "WireError",
    "WireHeader",
    "now_ms",
    "to_raw",
]

T = TypeVar("T")
P = TypeVar("P")

#: Schema version written into every header built by this module.
WIRE_SCHEMA_VERSION: int = 1

#: MessagePack nil as a ``msgspec.Raw``: the default of every Raw field.
NIL: msgspec.Raw = msgspec.Raw(b"\xc0")


def _nil() -> Any:
    # Default factory of every Raw field. A factory rather than a plain default
    # because msgspec's JSON Schema export cannot render a Raw default value;
    # Any-typed so that it also serves the generic ``payload: T``.
    return NIL


# Encoders are thread-safe (msgspec >= 0.15); one serves every ``to_raw`` call.
_raw_encoder = msgspec.msgpack.Encoder()


class MessageKind(IntEnum):
    """What an envelope is; equals the envelope's tag and ``header.kind``.

    Example:
        >>> MessageKind(4), int(MessageKind.HEARTBEAT)
        (<MessageKind.ACK: 4>, 3)
    """

    DATA = 1
    CONTROL = 2
    HEARTBEAT = 3
    ACK = 4
    ERROR = 5


class ControlAction(StrEnum):
    """Well-known ``ControlMessage.action`` values.

    ``action`` is a plain string on the wire, so other actions are allowed; these
    are the ones klaw-core itself sends.

    Example:
        >>> ControlAction.CLOSE == "close", ControlAction("resize")
        (True, <ControlAction.RESIZE: 'resize'>)
    """

    CREATE = "create"
    CLOSE = "close"
    RESIZE = "resize"
    PAUSE = "pause"
    RESUME = "resume"


def now_ms() -> int:
    """Return the current time as integer Unix milliseconds (the header's ``ts``).

    Returns:
        Milliseconds since the Unix epoch, from the wall clock (``time.time_ns``):
        comparable across machines, but not monotonic.

    Example:
        >>> now_ms() > 1_700_000_000_000
        True
    """
    return time.time_ns() // 1_000_000


def to_raw(value: object) -> msgspec.Raw:
    """Encode ``value`` as one MessagePack value wrapped in ``msgspec.Raw``.

    A ``msgspec.Raw`` is returned unchanged, so the caller can pass either a
    Python object or pre-encoded bytes.

    Args:
        value: any object msgspec can encode, or a ``msgspec.Raw``.

    Returns:
        A ``msgspec.Raw`` holding exactly one MessagePack value (``None`` gives nil).

    Raises:
        TypeError: ``value`` is not encodable by msgspec.

    Example:
        >>> bytes(to_raw({"a": 1}))
        b'\\x81\\xa1a\\x01'
        >>> to_raw(None) == NIL
        True
    """
    if isinstance(value, msgspec.Raw):
        return value
    return msgspec.Raw(_raw_encoder.encode(value))


def _hashable(value: object) -> object:
    """Map a Raw to its bytes so that it can take part in a hash."""
    if isinstance(value, msgspec.Raw):
        return bytes(value)
    return value


def _ts(ts: int | None) -> int:
    return now_ms() if ts is None else ts


class WireHeader(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """The fixed header of every envelope: ``[version, kind, channel_id, seq, ts]``.

    Attributes:
        version: wire schema version; routes decoding (see ``schema.py``).
        kind: the envelope's :class:`MessageKind`, equal to its tag.
        channel_id: the channel the message belongs to.
        seq: sender-assigned sequence number.
        ts: creation time in Unix milliseconds (0 when unknown).

    Example:
        >>> msgspec.msgpack.encode(WireHeader(kind=MessageKind.ACK, channel_id="c", seq=7))
        b'\\x95\\x01\\x04\\xa1c\\x07\\x00'
    """

    version: int = WIRE_SCHEMA_VERSION
    kind: MessageKind = MessageKind.DATA
    channel_id: str = ""
    seq: int = 0
    ts: int = 0


# Frozen, gc-free and immutable, so one instance per kind can be shared as the
# default header (cheaper than a default_factory call per construction).
_DATA_HEADER = WireHeader(kind=MessageKind.DATA)
_CONTROL_HEADER = WireHeader(kind=MessageKind.CONTROL)
_HEARTBEAT_HEADER = WireHeader(kind=MessageKind.HEARTBEAT)
_ACK_HEADER = WireHeader(kind=MessageKind.ACK)
_ERROR_HEADER = WireHeader(kind=MessageKind.ERROR)


class DataMessage(msgspec.Struct, Generic[T], tag=1, array_like=True, frozen=True, gc=False):
    """Data-plane message carrying one user payload: ``[1, header, payload]``.

    ``DataMessage[Raw]`` (the form inside :data:`WireEnvelope`) keeps the payload
    undecoded; ``DataMessage[MyType]`` decodes and validates it in one pass.
    The payload defaults to nil.

    Example:
        >>> msg = DataMessage.new({"x": 1}, channel_id="jobs", seq=3, ts=1000)
        >>> msg.header
        WireHeader(version=1, kind=<MessageKind.DATA: 1>, channel_id='jobs', seq=3, ts=1000)
        >>> msgspec.msgpack.encode(msg)
        b'\\x93\\x01\\x95\\x01\\x01\\xa4jobs\\x03\\xcd\\x03\\xe8\\x81\\xa1x\\x01'
    """

    header: WireHeader = _DATA_HEADER
    payload: T = msgspec.field(default_factory=_nil)

    @classmethod
    def new(
        cls,
        payload: P,
        *,
        channel_id: str = "",
        seq: int = 0,
        ts: int | None = None,
        version: int = WIRE_SCHEMA_VERSION,
    ) -> DataMessage[P]:
        """Build a data message and its header.

        Args:
            payload: the value to carry (a ``msgspec.Raw`` stays pre-encoded).
            channel_id: the channel it belongs to.
            seq: sender-assigned sequence number.
            ts: Unix milliseconds; ``None`` means now.
            version: wire schema version for the header.

        Returns:
            A ``DataMessage`` whose header has ``kind == MessageKind.DATA``.
        """
        header = WireHeader(version, MessageKind.DATA, channel_id, seq, _ts(ts))
        return DataMessage(header, payload)

    def __hash__(self) -> int:
        return hash((DataMessage, self.header, _hashable(self.payload)))


class ControlMessage(msgspec.Struct, tag=2, array_like=True, frozen=True, gc=False):
    """Control-plane message: ``[2, header, action, metadata]``.

    Attributes:
        action: what to do, usually a :class:`ControlAction` value.
        metadata: one undecoded MessagePack value (nil by default).

    Example:
        >>> msg = ControlMessage.new(ControlAction.RESIZE, metadata={"capacity": 8}, ts=0)
        >>> msgspec.msgpack.decode(msg.metadata)
        {'capacity': 8}
    """

    header: WireHeader = _CONTROL_HEADER
    action: str = ""
    metadata: msgspec.Raw = msgspec.field(default_factory=_nil)

    @classmethod
    def new(
        cls,
        action: str,
        *,
        metadata: object = None,
        channel_id: str = "",
        seq: int = 0,
        ts: int | None = None,
        version: int = WIRE_SCHEMA_VERSION,
    ) -> ControlMessage:
        """Build a control message, encoding ``metadata`` to ``msgspec.Raw``.

        Args:
            action: the action (a :class:`ControlAction` or any string).
            metadata: any msgspec-encodable object, or a ``msgspec.Raw``.
            channel_id: the channel it concerns.
            seq: sender-assigned sequence number.
            ts: Unix milliseconds; ``None`` means now.
            version: wire schema version for the header.

        Returns:
            A ``ControlMessage`` whose header has ``kind == MessageKind.CONTROL``.

        Raises:
            TypeError: ``metadata`` is not encodable.
        """
        header = WireHeader(version, MessageKind.CONTROL, channel_id, seq, _ts(ts))
        return cls(header, str(action), to_raw(metadata))

    def __hash__(self) -> int:
        return hash((ControlMessage, self.header, self.action, bytes(self.metadata)))


class Heartbeat(msgspec.Struct, tag=3, array_like=True, frozen=True, gc=False):
    """Liveness probe: ``[3, header, sender_id]``.

    Example:
        >>> Heartbeat.new("worker-1", ts=5).header.kind
        <MessageKind.HEARTBEAT: 3>
    """

    header: WireHeader = _HEARTBEAT_HEADER
    sender_id: str = ""

    @classmethod
    def new(
        cls,
        sender_id: str,
        *,
        channel_id: str = "",
        seq: int = 0,
        ts: int | None = None,
        version: int = WIRE_SCHEMA_VERSION,
    ) -> Heartbeat:
        """Build a heartbeat.

        Args:
            sender_id: who is alive.
            channel_id: the channel it concerns, if any.
            seq: sender-assigned sequence number.
            ts: Unix milliseconds; ``None`` means now.
            version: wire schema version for the header.

        Returns:
            A ``Heartbeat`` whose header has ``kind == MessageKind.HEARTBEAT``.
        """
        header = WireHeader(version, MessageKind.HEARTBEAT, channel_id, seq, _ts(ts))
        return cls(header, sender_id)


class Ack(msgspec.Struct, tag=4, array_like=True, frozen=True, gc=False):
    """Acknowledgement of a sequence number: ``[4, header, acked_seq, status]``.

    Example:
        >>> Ack.new(41, channel_id="jobs", ts=0).acked_seq
        41
    """

    header: WireHeader = _ACK_HEADER
    acked_seq: int = 0
    status: str = "ok"

    @classmethod
    def new(
        cls,
        acked_seq: int,
        status: str = "ok",
        *,
        channel_id: str = "",
        seq: int = 0,
        ts: int | None = None,
        version: int = WIRE_SCHEMA_VERSION,
    ) -> Ack:
        """Build an acknowledgement.

        Args:
            acked_seq: the sequence number being acknowledged.
            status: outcome, ``"ok"`` by default.
            channel_id: the channel it concerns.
            seq: sender-assigned sequence number of the ack itself.
            ts: Unix milliseconds; ``None`` means now.
            version: wire schema version for the header.

        Returns:
            An ``Ack`` whose header has ``kind == MessageKind.ACK``.
        """
        header = WireHeader(version, MessageKind.ACK, channel_id, seq, _ts(ts))
        return cls(header, acked_seq, status)


class WireError(msgspec.Struct, tag=5, array_like=True, frozen=True, gc=False):
    """An error reported over the wire: ``[5, header, code, message, details]``.

    Attributes:
        code: short machine-readable code.
        message: human-readable text.
        details: one undecoded MessagePack value (nil by default).

    Example:
        >>> err = WireError.new("E_FULL", "channel full", details={"capacity": 8}, ts=0)
        >>> msgspec.msgpack.decode(err.details)
        {'capacity': 8}
    """

    header: WireHeader = _ERROR_HEADER
    code: str = ""
    message: str = ""
    details: msgspec.Raw = msgspec.field(default_factory=_nil)

    @classmethod
    def new(
        cls,
        code: str,
        message: str = "",
        *,
        details: object = None,
        channel_id: str = "",
        seq: int = 0,
        ts: int | None = None,
        version: int = WIRE_SCHEMA_VERSION,
    ) -> WireError:
        """Build a wire error, encoding ``details`` to ``msgspec.Raw``.

        Args:
            code: short machine-readable code.
            message: human-readable text.
            details: any msgspec-encodable object, or a ``msgspec.Raw``.
            channel_id: the channel it concerns.
            seq: sender-assigned sequence number.
            ts: Unix milliseconds; ``None`` means now.
            version: wire schema version for the header.

        Returns:
            A ``WireError`` whose header has ``kind == MessageKind.ERROR``.

        Raises:
            TypeError: ``details`` is not encodable.
        """
        header = WireHeader(version, MessageKind.ERROR, channel_id, seq, _ts(ts))
        return cls(header, code, message, to_raw(details))

    def __hash__(self) -> int:
        return hash((WireError, self.header, self.code, self.message, bytes(self.details)))


#: Every envelope of schema version 1; decode with this type to dispatch on the tag.
WireEnvelope: TypeAlias = DataMessage[msgspec.Raw] | ControlMessage | Heartbeat | Ack | WireError

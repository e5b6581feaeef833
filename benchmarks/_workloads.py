"""The data every benchmark moves, defined once so all figures measure the same thing.

The typed message is klaw-core's own benchmark workload,
``DataMessage[Order]`` from ``klaw_core.cli._bench_cases`` (what ``klaw bench`` times):
a small record of six fields inside the wire envelope, about 100 bytes of
MessagePack. Around it this module builds:

- twins of the five wire envelopes for comparisons that need another shape:
  map-encoded msgspec structs (``tag_field="tag"``) that encode to exactly the
  JSON document pydantic reads and writes, and ``gc=True`` twins for the
  collector figure;
- the pydantic v2 models of the same five envelopes, as a discriminated union
  (``Field(discriminator="tag")``), validated from and dumped to JSON;
- payloads of a given encoded size for the header-peek figure.

Nothing here measures anything; ``compare.py`` and ``test_*.py`` do.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
import pydantic

from klaw_core.cli._bench_cases import Order, make_envelopes
from klaw_core.runtime.channels.wire import (
    Ack,
    ControlMessage,
    DataMessage,
    Heartbeat,
    WireError,
)

__all__ = [
    "BATCH",
    "MAP_UNION",
    "PYDANTIC_LIST",
    "PYDANTIC_UNION",
    "TYPED_UNION",
    "GcOrder",
    "MapData",
    "Order",
    "envelope_with_payload",
    "make_envelopes",
    "map_twin",
    "order_records",
    "pydantic_twin",
]

#: Messages per batch in every batch figure.
BATCH = 1000

#: What a typed receiver of ``Order`` decodes: the five envelopes, data typed.
TYPED_UNION = DataMessage[Order] | ControlMessage | Heartbeat | Ack | WireError


# --------------------------------------------------------- map-encoded msgspec twins


class MapHeader(msgspec.Struct, frozen=True, gc=False):
    """``WireHeader`` as a map (field names on the wire)."""

    version: int
    kind: int
    channel_id: str
    seq: int
    ts: int


class MapData(msgspec.Struct, tag_field="tag", tag=1, frozen=True, gc=False):
    """``DataMessage[Order]`` as a map: ``{"tag": 1, "header": {...}, "payload": {...}}``."""

    header: MapHeader
    payload: Order


class MapControl(msgspec.Struct, tag_field="tag", tag=2, frozen=True, gc=False):
    """``ControlMessage`` as a map (``metadata`` any JSON value)."""

    header: MapHeader
    action: str
    metadata: Any = None


class MapHeartbeat(msgspec.Struct, tag_field="tag", tag=3, frozen=True, gc=False):
    """``Heartbeat`` as a map."""

    header: MapHeader
    sender_id: str


class MapAck(msgspec.Struct, tag_field="tag", tag=4, frozen=True, gc=False):
    """``Ack`` as a map."""

    header: MapHeader
    acked_seq: int
    status: str


class MapError(msgspec.Struct, tag_field="tag", tag=5, frozen=True, gc=False):
    """``WireError`` as a map (``details`` any JSON value)."""

    header: MapHeader
    code: str
    message: str
    details: Any = None


MAP_UNION = MapData | MapControl | MapHeartbeat | MapAck | MapError


def map_twin(message: DataMessage[Order]) -> MapData:
    """The map-encoded twin of one data envelope (same values).

    Example:
        >>> msgspec.json.encode(map_twin(make_envelopes(1)[0]))[:30]
        b'{"tag":1,"header":{"version":1'
    """
    h = message.header
    return MapData(MapHeader(h.version, int(h.kind), h.channel_id, h.seq, h.ts), message.payload)


# ------------------------------------------------------------- gc=True twins


class GcOrder(msgspec.Struct, frozen=True):
    """``Order`` without ``gc=False``: its instances are tracked by the collector."""

    order_id: int
    symbol: str
    side: str
    quantity: int
    price: float
    tags: list[str]


class GcHeader(msgspec.Struct, array_like=True, frozen=True):
    """``WireHeader`` without ``gc=False``."""

    version: int
    kind: int
    channel_id: str
    seq: int
    ts: int


class GcData(msgspec.Struct, tag=1, array_like=True, frozen=True):
    """``DataMessage[Order]`` without ``gc=False`` (same bytes on the wire)."""

    header: GcHeader
    payload: GcOrder


# ------------------------------------------------------------------ pydantic v2


class PHeader(pydantic.BaseModel):
    """``WireHeader`` as a pydantic model."""

    version: int
    kind: int
    channel_id: str
    seq: int
    ts: int


class POrder(pydantic.BaseModel):
    """``Order`` as a pydantic model."""

    order_id: int
    symbol: str
    side: str
    quantity: int
    price: float
    tags: list[str]


class PData(pydantic.BaseModel):
    """``DataMessage[Order]`` as a pydantic model."""

    tag: Literal[1] = 1
    header: PHeader
    payload: POrder


class PControl(pydantic.BaseModel):
    """``ControlMessage`` as a pydantic model."""

    tag: Literal[2] = 2
    header: PHeader
    action: str
    metadata: Any = None


class PHeartbeat(pydantic.BaseModel):
    """``Heartbeat`` as a pydantic model."""

    tag: Literal[3] = 3
    header: PHeader
    sender_id: str


class PAck(pydantic.BaseModel):
    """``Ack`` as a pydantic model."""

    tag: Literal[4] = 4
    header: PHeader
    acked_seq: int
    status: str


class PError(pydantic.BaseModel):
    """``WireError`` as a pydantic model."""

    tag: Literal[5] = 5
    header: PHeader
    code: str
    message: str
    details: Any = None


PydanticEnvelope = Annotated[
    PData | PControl | PHeartbeat | PAck | PError, pydantic.Field(discriminator="tag")
]

#: Validates one envelope (discriminated on ``tag``) from JSON.
PYDANTIC_UNION: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(PydanticEnvelope)
#: Validates a JSON array of envelopes.
PYDANTIC_LIST: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(list[PydanticEnvelope])


def pydantic_twin(message: DataMessage[Order]) -> PData:
    """The pydantic model of one data envelope (same values).

    Example:
        >>> pydantic_twin(make_envelopes(1)[0]).model_dump_json()[:30]
        '{"tag":1,"header":{"version":1'
    """
    return PData.model_validate_json(msgspec.json.encode(map_twin(message)))


# ------------------------------------------------------------- sized payloads


def order_records(nbytes: int) -> list[dict[str, Any]]:
    """Order-like records (maps) whose MessagePack encoding is about ``nbytes`` long.

    Example:
        >>> 900 <= len(msgspec.msgpack.encode(order_records(1024))) <= 1100
        True
    """
    record = {"order_id": 1, "symbol": "KLAW", "side": "buy", "quantity": 100, "price": 101.25}
    size = len(msgspec.msgpack.encode(record))
    return [dict(record, order_id=i) for i in range(max(1, round(nbytes / size)))]


def envelope_with_payload(nbytes: int, kind: str) -> bytes:
    """An encoded ``DataMessage`` whose payload is about ``nbytes`` long.

    Args:
        nbytes: approximate payload size.
        kind: ``"bytes"`` (one opaque bin value) or ``"records"`` (a list of maps,
            which a decoder has to walk item by item even to skip it).

    Example:
        >>> len(envelope_with_payload(4096, "bytes")) > 4096
        True
    """
    payload: object = b"x" * nbytes if kind == "bytes" else order_records(nbytes)
    message = DataMessage.new(payload, channel_id="bench", seq=7, ts=1_700_000_000_000)
    return msgspec.msgpack.encode(message)

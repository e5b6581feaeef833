"""SchemaRegistry (FR-3.1): routing by the peeked version, evolution, JSON Schema."""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

import msgpack
import msgspec
import pytest

from klaw_core.runtime.channels import schema as schema_module
from klaw_core.runtime.channels.codec import CodecPool, encode
from klaw_core.runtime.channels.framing import pack_frame
from klaw_core.runtime.channels.schema import SchemaRegistry, get_schema_registry, register_schema
from klaw_core.runtime.channels.wire import (
    NIL,
    Ack,
    ControlMessage,
    DataMessage,
    Heartbeat,
    MessageKind,
    WireEnvelope,
    WireError,
    WireHeader,
)
from klaw_core.runtime.errors import (
    MalformedHeader,
    PayloadValidationError,
    TruncatedFrame,
    UnknownSchemaVersion,
)

T = TypeVar("T")

# ----------------------------------------------------------------- version 2
# Same tags and leading fields as version 1, new fields appended with defaults.


class DataMessageV2(msgspec.Struct, Generic[T], tag=1, array_like=True, frozen=True, gc=False):
    header: WireHeader = WireHeader(version=2, kind=MessageKind.DATA)
    payload: T = msgspec.field(default_factory=lambda: NIL)
    trace_id: str = ""


class HeartbeatV2(msgspec.Struct, tag=3, array_like=True, frozen=True, gc=False):
    header: WireHeader = WireHeader(version=2, kind=MessageKind.HEARTBEAT)
    sender_id: str = ""
    load: float = 0.0


WireEnvelopeV2 = DataMessageV2[msgspec.Raw] | ControlMessage | HeartbeatV2 | Ack | WireError


def h(version: int, kind: MessageKind, seq: int) -> WireHeader:
    return WireHeader(version, kind, "jobs", seq, 1000 + seq)


@pytest.fixture
def registry() -> SchemaRegistry:
    reg = SchemaRegistry()
    reg.register(1, WireEnvelope)
    reg.register(2, WireEnvelopeV2)
    return reg


def test_default_registry() -> None:
    reg = get_schema_registry()
    assert reg is get_schema_registry()
    assert reg.versions == (1,)
    assert reg.latest == 1
    assert reg.envelope_type(1) == WireEnvelope
    msg = Ack.new(3, channel_id="c", ts=0)
    assert reg.get_decoder(1).decode(encode(msg)) == msg
    assert reg.decode(encode(msg)) == msg
    assert repr(reg) == "SchemaRegistry(versions=(1,))"


def test_unknown_version(registry: SchemaRegistry) -> None:
    with pytest.raises(UnknownSchemaVersion) as info:
        registry.get_decoder(3)
    assert str(info.value) == "schema version 3 is not registered (known: 1, 2)"
    with pytest.raises(UnknownSchemaVersion, match="known: 1, 2"):
        registry.envelope_type(0)
    with pytest.raises(UnknownSchemaVersion) as info:
        registry.decode(encode(Heartbeat(h(7, MessageKind.HEARTBEAT, 0))))
    assert info.value.offset == 0
    assert "schema version 7 is not registered (known: 1, 2)" in str(info.value)
    with pytest.raises(UnknownSchemaVersion, match=r"\(known: none\)"):
        SchemaRegistry().decode(encode(Heartbeat()))
    with pytest.raises(LookupError):
        _ = SchemaRegistry().latest


def test_each_version_decodes_with_its_own_types(registry: SchemaRegistry) -> None:
    v1 = Heartbeat(h(1, MessageKind.HEARTBEAT, 1), "w1")
    v2 = HeartbeatV2(h(2, MessageKind.HEARTBEAT, 2), "w2", 0.75)
    assert registry.decode(encode(v1)) == v1
    assert registry.decode(encode(v2)) == v2
    assert type(registry.decode(encode(v2))) is HeartbeatV2


def test_mixed_batch_routes_each_frame(registry: SchemaRegistry) -> None:
    messages: list[Any] = [
        DataMessage(h(1, MessageKind.DATA, 0), msgspec.Raw(b"\x01")),
        DataMessageV2(h(2, MessageKind.DATA, 1), msgspec.Raw(b"\x02"), "trace-1"),
        HeartbeatV2(h(2, MessageKind.HEARTBEAT, 2), "w", 0.5),
        Heartbeat(h(1, MessageKind.HEARTBEAT, 3), "w"),
        ControlMessage(h(2, MessageKind.CONTROL, 4), "close"),
        Ack(h(1, MessageKind.ACK, 5), 4),
    ]
    batch = CodecPool().encode_frames(messages)
    decoded = registry.decode_frames(batch)
    assert decoded == messages
    assert [type(m) for m in decoded] == [type(m) for m in messages]
    assert registry.decode_frames(b"") == []


def test_new_types_read_old_bytes_and_old_types_skip_new_fields() -> None:
    """Why evolution works: array_like structs fill trailing defaults for shorter
    arrays and ignore trailing items they do not know."""
    old = Heartbeat(h(1, MessageKind.HEARTBEAT, 1), "w1")
    assert msgspec.msgpack.decode(encode(old), type=HeartbeatV2) == HeartbeatV2(
        old.header, "w1", 0.0
    )
    new = DataMessageV2(h(2, MessageKind.DATA, 1), msgspec.Raw(b"\xa1x"), "t")
    assert msgpack.unpackb(encode(new)) == [1, [2, 1, "jobs", 1, 1001], "x", "t"]
    assert msgspec.msgpack.decode(encode(new), type=WireEnvelope) == DataMessage(
        new.header, new.payload
    )


def test_batch_errors_name_the_frame(registry: SchemaRegistry) -> None:
    good = encode(Ack.new(1, ts=0))
    unknown = encode(Ack(h(9, MessageKind.ACK, 0)))
    at = 4 + len(good)  # offset of the second frame's prefix
    with pytest.raises(UnknownSchemaVersion) as info:
        registry.decode_frames(pack_frame(good) + pack_frame(unknown))
    assert info.value.offset == at
    assert str(info.value) == f"schema version 9 is not registered (known: 1, 2) (at byte {at})"

    bad_kind = msgpack.packb([4, [1, 3, "", 0, 0], 1, "ok"])  # kind 3 under tag 4
    with pytest.raises(MalformedHeader) as info2:
        registry.decode_frames(pack_frame(good) + pack_frame(bad_kind))
    assert info2.value.offset == at + 4 + 4  # the kind byte inside the second body

    bad_field = msgpack.packb([4, [1, 4, "", 0, 0], "one", "ok"])
    with pytest.raises(PayloadValidationError) as info3:
        registry.decode_frames(pack_frame(good) + pack_frame(bad_field))
    assert info3.value.offset == at
    assert info3.value.reason.startswith("payload does not match the expected type: ")

    with pytest.raises(TruncatedFrame):
        registry.decode_frames(pack_frame(good)[:-1])
    with pytest.raises(MalformedHeader):
        registry.decode(b"\xc0")
    with pytest.raises(PayloadValidationError):
        registry.decode(bad_field)


def test_register_rules() -> None:
    reg = SchemaRegistry()
    reg.register(1, WireEnvelope)
    reg.register(1, WireEnvelope)  # same type again: no-op
    with pytest.raises(ValueError, match="already registered"):
        reg.register(1, WireEnvelopeV2)
    reg.register(1, WireEnvelopeV2, replace=True)
    assert reg.envelope_type(1) == WireEnvelopeV2
    for bad in (-1, True):
        with pytest.raises(ValueError, match="schema version must be an int >= 0"):
            reg.register(bad, WireEnvelope)
    with pytest.raises(TypeError):
        reg.register(5, object())
    assert reg.versions == (1,)


def test_register_schema_decorator(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = SchemaRegistry()

    @register_schema(4, registry=reg)
    class Ping(msgspec.Struct, tag=3, array_like=True, frozen=True):
        header: WireHeader = WireHeader(version=4, kind=MessageKind.HEARTBEAT)

    assert reg.versions == (4,)
    assert reg.decode(encode(Ping())) == Ping()

    monkeypatch.setattr(schema_module, "_default_registry", None)
    register_schema(4)(Ping)
    assert get_schema_registry().versions == (1, 4)


def test_json_schema_export(registry: SchemaRegistry) -> None:
    doc = registry.json_schema()
    assert set(doc) == {"$defs", "versions"}
    assert set(doc["versions"]) == {"1", "2"}
    names = set(doc["$defs"])
    assert {
        "DataMessage_Raw_",
        "ControlMessage",
        "Heartbeat",
        "Ack",
        "WireError",
        "WireHeader",
    } <= names
    assert {"DataMessageV2_Raw_", "HeartbeatV2"} <= names
    refs = {ref["$ref"] for ref in doc["versions"]["2"]["anyOf"]}
    assert "#/$defs/HeartbeatV2" in refs
    hb = doc["$defs"]["HeartbeatV2"]
    assert hb["type"] == "array"
    assert hb["prefixItems"][0] == {"enum": [3]}
    assert hb["prefixItems"][1] == {"$ref": "#/$defs/WireHeader", "default": [2, 3, "", 0, 0]}
    assert hb["prefixItems"][3] == {"type": "number", "default": 0.0}
    assert msgspec.json.decode(msgspec.json.encode(doc)) == doc  # plain JSON


def test_concurrent_register_and_decode() -> None:
    reg = SchemaRegistry()
    reg.register(1, WireEnvelope)
    data = encode(Ack.new(1, ts=0))
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def register(base: int) -> None:
        barrier.wait()
        for v in range(base, base + 50):
            reg.register(v, WireEnvelopeV2)

    def decode() -> None:
        barrier.wait()
        try:
            for _ in range(2_000):
                assert reg.decode(data) == Ack.new(1, ts=0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(100 * (i + 1),)) for i in range(4)]
    threads.append(threading.Thread(target=decode))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(reg.versions) == 1 + 4 * 50

"""The envelope structs (FR-1.1, FR-5.1): layout, defaults, dispatch, immutability.

Layouts are checked with msgpack-python, an independent MessagePack
implementation, against DESIGN §3: ``[tag, [version, kind, channel_id, seq, ts], ...fields]``.
"""

from __future__ import annotations

import pickle
import re
import time
from typing import Any

import msgpack
import msgspec
import pytest

from klaw_core.runtime.channels.codec import decode_with
from klaw_core.runtime.channels.wire import (
    NIL,
    WIRE_SCHEMA_VERSION,
    Ack,
    ControlAction,
    ControlMessage,
    DataMessage,
    Heartbeat,
    MessageKind,
    WireEnvelope,
    WireError,
    WireHeader,
    now_ms,
    to_raw,
)
from klaw_core.runtime.errors import PayloadValidationError
from vectors.envelopes import VECTORS_DIR, envelope_messages, envelope_vectors

ENVELOPE_TYPES: list[type[Any]] = [DataMessage, ControlMessage, Heartbeat, Ack, WireError]
TAGS = {DataMessage: 1, ControlMessage: 2, Heartbeat: 3, Ack: 4, WireError: 5}

decoder = msgspec.msgpack.Decoder(WireEnvelope)


def header(kind: MessageKind) -> WireHeader:
    return WireHeader(version=3, kind=kind, channel_id="jobs", seq=2**40, ts=1_703_001_234_567)


EXPLICIT: list[Any] = [
    DataMessage(header(MessageKind.DATA), msgspec.Raw(msgspec.msgpack.encode({"k": [1, 2]}))),
    ControlMessage(header(MessageKind.CONTROL), "resize", msgspec.Raw(b"\x81\xa3cap\x08")),
    Heartbeat(header(MessageKind.HEARTBEAT), "worker-7"),
    Ack(header(MessageKind.ACK), acked_seq=-5, status="late"),
    WireError(header(MessageKind.ERROR), "E_FULL", "channel full", msgspec.Raw(b"\x92\x01\xc0")),
]
EXPLICIT_LAYOUT = [
    [1, [3, 1, "jobs", 2**40, 1_703_001_234_567], {"k": [1, 2]}],
    [2, [3, 2, "jobs", 2**40, 1_703_001_234_567], "resize", {"cap": 8}],
    [3, [3, 3, "jobs", 2**40, 1_703_001_234_567], "worker-7"],
    [4, [3, 4, "jobs", 2**40, 1_703_001_234_567], -5, "late"],
    [5, [3, 5, "jobs", 2**40, 1_703_001_234_567], "E_FULL", "channel full", [1, None]],
]
DEFAULT_LAYOUT = [
    [1, [1, 1, "", 0, 0], None],
    [2, [1, 2, "", 0, 0], "", None],
    [3, [1, 3, "", 0, 0], ""],
    [4, [1, 4, "", 0, 0], 0, "ok"],
    [5, [1, 5, "", 0, 0], "", "", None],
]


def test_constants() -> None:
    assert WIRE_SCHEMA_VERSION == 1
    assert [(k.name, int(k)) for k in MessageKind] == [
        ("DATA", 1),
        ("CONTROL", 2),
        ("HEARTBEAT", 3),
        ("ACK", 4),
        ("ERROR", 5),
    ]
    assert [str(a) for a in ControlAction] == ["create", "close", "resize", "pause", "resume"]
    assert bytes(NIL) == b"\xc0"


def test_header_defaults_and_layout() -> None:
    h = WireHeader()
    assert (h.version, h.kind, h.channel_id, h.seq, h.ts) == (1, MessageKind.DATA, "", 0, 0)
    assert msgpack.unpackb(msgspec.msgpack.encode(header(MessageKind.ACK))) == [
        3,
        4,
        "jobs",
        2**40,
        1_703_001_234_567,
    ]


@pytest.mark.parametrize("cls", ENVELOPE_TYPES, ids=lambda c: c.__name__)
def test_struct_options(cls: type[Any]) -> None:
    config = cls.__struct_config__
    assert config.array_like
    assert config.frozen
    assert not config.gc
    assert type(config.tag) is int
    assert config.tag == TAGS[cls]
    assert cls().header.kind == TAGS[cls]


@pytest.mark.parametrize(
    ("msg", "layout"),
    list(zip(EXPLICIT, EXPLICIT_LAYOUT, strict=True)),
    ids=lambda x: type(x).__name__,
)
def test_explicit_layout_read_by_msgpack(msg: Any, layout: list[Any]) -> None:
    data = msgspec.msgpack.encode(msg)
    assert msgpack.unpackb(data) == layout
    back = decoder.decode(data)
    assert type(back) is type(msg)
    assert back == msg


@pytest.mark.parametrize(
    ("cls", "layout"),
    list(zip(ENVELOPE_TYPES, DEFAULT_LAYOUT, strict=True)),
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_defaults_are_complete_and_round_trip(cls: type[Any], layout: list[Any]) -> None:
    """Regression for the seed defect: Raw(b"") defaults encoded to nothing and
    produced an array claiming more items than it held."""
    msg = cls()
    data = msgspec.msgpack.encode(msg)
    assert msgpack.unpackb(data) == layout  # msgpack-python rejects short arrays
    assert data[0] == 0x90 + len(layout)
    back = decoder.decode(data)
    assert type(back) is cls
    assert back == msg
    assert back.header.kind == cls.__struct_config__.tag


def test_raw_defaults_are_nil() -> None:
    assert ControlMessage().metadata == NIL
    assert WireError().details == NIL
    assert DataMessage().payload == NIL


def test_json_schema_of_the_envelope() -> None:
    """Raw defaults come from a factory: msgspec cannot put a Raw value in a schema."""
    (schema,), defs = msgspec.json.schema_components([WireEnvelope])
    assert len(schema["anyOf"]) == 5
    control = defs["ControlMessage"]["prefixItems"]
    assert control[0] == {"enum": [2]}
    assert control[1]["default"] == [1, 2, "", 0, 0]
    assert control[3] == {}  # any one MessagePack value


def test_tagged_dispatch_rejects_unknown_tag_and_kind() -> None:
    # Each envelope differs from a valid heartbeat in one place: the tag, the
    # header's kind, the header's channel id. msgspec's wording is not asserted.
    assert decoder.decode(msgpack.packb([3, [1, 3, "", 0, 0], "w"])).sender_id == "w"
    for bad in (
        [6, [1, 1, "", 0, 0], None],
        [3, [1, 9, "", 0, 0], "w"],
        [3, [1, 3, 7, 0, 0], "w"],
    ):
        with pytest.raises(PayloadValidationError):
            decode_with(decoder, msgpack.packb(bad))


def test_decoded_kind_is_the_enum() -> None:
    back = decoder.decode(msgspec.msgpack.encode(Heartbeat.new("w", ts=0)))
    assert back.header.kind is MessageKind.HEARTBEAT


@pytest.mark.parametrize("msg", EXPLICIT, ids=lambda m: type(m).__name__)
def test_frozen(msg: Any) -> None:
    with pytest.raises(AttributeError):
        msg.header = WireHeader()
    with pytest.raises(AttributeError):
        msg.header.seq = 1


@pytest.mark.parametrize(
    "msg", EXPLICIT + [cls() for cls in ENVELOPE_TYPES], ids=lambda m: type(m).__name__
)
def test_hashable_and_consistent_with_eq(msg: Any) -> None:
    back = decoder.decode(msgspec.msgpack.encode(msg))
    assert back is not msg
    assert hash(back) == hash(msg)
    assert {msg: "x"}[back] == "x"
    assert len({msg, back}) == 1


def test_hash_tracks_raw_bytes() -> None:
    a = ControlMessage.new("close", metadata=[1], ts=0)
    b = ControlMessage.new("close", metadata=[2], ts=0)
    c = ControlMessage.new("close", metadata=msgspec.Raw(b"\x91\x01"), ts=0)
    assert a != b
    assert a == c
    assert hash(a) == hash(c)
    assert len({a, b, c}) == 2
    e1 = WireError.new("E", details={"x": 1}, ts=0)
    assert hash(e1) == hash(WireError.new("E", details={"x": 1}, ts=0))
    assert e1 != WireError.new("E", details={"x": 2}, ts=0)
    # Data messages hash their payload: Raw by bytes, other values as themselves.
    assert hash(DataMessage.new((1, "a"), ts=0)) == hash(DataMessage.new((1, "a"), ts=0))
    with pytest.raises(TypeError, match="unhashable"):
        hash(DataMessage.new([1], ts=0))


def test_new_builds_headers_of_the_right_kind() -> None:
    before = now_ms()
    built = [
        DataMessage.new(b"x", channel_id="c", seq=1),
        ControlMessage.new(ControlAction.PAUSE, channel_id="c", seq=1),
        Heartbeat.new("w", channel_id="c", seq=1),
        Ack.new(9, channel_id="c", seq=1),
        WireError.new("E", "m", channel_id="c", seq=1),
    ]
    after = now_ms()
    for msg in built:
        h = msg.header
        assert h.kind == type(msg).__struct_config__.tag
        assert (h.version, h.channel_id, h.seq) == (WIRE_SCHEMA_VERSION, "c", 1)
        assert before <= h.ts <= after
        assert decoder.decode(msgspec.msgpack.encode(msg)).header == h


def test_new_explicit_values() -> None:
    msg = ControlMessage.new(ControlAction.CLOSE, metadata={"reason": "done"}, ts=5, version=2)
    assert type(msg.action) is str
    assert msg.action == "close"
    assert msg.header == WireHeader(2, MessageKind.CONTROL, "", 0, 5)
    assert msgspec.msgpack.decode(msg.metadata) == {"reason": "done"}
    assert ControlMessage.new("drain", ts=0).metadata == NIL
    raw = msgspec.Raw(b"\x01")
    assert ControlMessage.new("x", metadata=raw, ts=0).metadata is raw
    ack = Ack.new(4, "dup", ts=0)
    assert (ack.acked_seq, ack.status) == (4, "dup")
    err = WireError.new("E_X", "boom", details=[1], ts=0)
    assert (err.code, err.message, bytes(err.details)) == ("E_X", "boom", b"\x91\x01")
    data = DataMessage.new(msgspec.Raw(b"\xa1a"), ts=0)
    assert msgpack.unpackb(msgspec.msgpack.encode(data)) == [1, [1, 1, "", 0, 0], "a"]


def test_typed_payload() -> None:
    """DataMessage[T] decodes and validates the payload in the same pass."""
    data = msgspec.msgpack.encode(DataMessage.new([1, 2], channel_id="c", seq=3, ts=0))
    typed = msgspec.msgpack.decode(data, type=DataMessage[list[int]])
    assert typed.payload == [1, 2]
    with pytest.raises(PayloadValidationError):
        decode_with(msgspec.msgpack.Decoder(DataMessage[list[str]]), data)
    raw = decoder.decode(data)
    assert isinstance(raw.payload, msgspec.Raw)
    assert msgspec.msgpack.decode(raw.payload) == [1, 2]


def test_to_raw() -> None:
    assert bytes(to_raw({"a": 1})) == b"\x81\xa1a\x01"
    assert to_raw(None) == NIL
    with pytest.raises(TypeError):
        to_raw(object())


def test_now_ms_is_unix_milliseconds() -> None:
    assert abs(now_ms() - time.time() * 1000) < 5_000


def test_envelope_alias_members() -> None:
    assert set(WireEnvelope.__args__) == {
        DataMessage[msgspec.Raw],
        ControlMessage,
        Heartbeat,
        Ack,
        WireError,
    }


# ------------------------------------------------------------ golden vectors


def test_golden_envelope_vectors() -> None:
    """The checked-in bytes are what the code encodes today; a format change is a diff."""
    messages = envelope_messages()
    for name, data in envelope_vectors().items():
        path = VECTORS_DIR / f"{name}.bin"
        assert path.read_bytes() == data, f"{path.name} differs: regenerate it and review the diff"
        back = decoder.decode(path.read_bytes())
        assert back == messages[name]
        assert type(back) is type(messages[name])
    names = {p.stem for p in VECTORS_DIR.glob("envelope_*.bin")}
    assert names == set(messages), "stale or missing envelope vectors"


def test_wire_format_doc_lists_every_vector() -> None:
    """docs/wire-format.md is normative: its vector table must match the files."""
    doc = (VECTORS_DIR.parent.parent / "docs" / "wire-format.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(envelope_\w+)\.bin` \| .* \| `([0-9a-f]+)` \|$", doc, re.M))
    assert rows == {name: data.hex() for name, data in envelope_vectors().items()}


@pytest.mark.parametrize(
    "msg", EXPLICIT + [cls() for cls in ENVELOPE_TYPES], ids=lambda m: type(m).__name__
)
def test_pickle_round_trip(msg: Any) -> None:
    """Envelopes cross Ray task boundaries by pickle too (Raw fields included)."""
    back = pickle.loads(pickle.dumps(msg))
    assert back == msg
    assert type(back) is type(msg)

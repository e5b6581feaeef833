"""Property tests (FR-5.4): arbitrary envelopes round-trip through the codec and
through batch framing in both wire-core twins, the bytes match the layout an
independent MessagePack library reads, and schema versions interoperate."""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

import msgpack
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klaw_core.runtime.channels.codec import CodecPool
from klaw_core.runtime.channels.schema import SchemaRegistry
from klaw_core.runtime.channels.views import decode_envelope_view
from klaw_core.runtime.channels.wire import (
    Ack,
    ControlMessage,
    DataMessage,
    Heartbeat,
    MessageKind,
    WireEnvelope,
    WireError,
    WireHeader,
)
from klaw_core.runtime.errors import KlawWireError
from strategies import envelopes, msgpack_ints, msgpack_values, texts

pool = CodecPool()
encoder = msgspec.msgpack.Encoder()
decoder = msgspec.msgpack.Decoder(WireEnvelope)

# Example counts keep this file to a few seconds; the slow-marked tests at the
# end run the same properties with many more examples.
envelope_settings = settings(max_examples=60, deadline=None)
batch_settings = settings(max_examples=30, deadline=None)


def expected_layout(msg: Any) -> list[Any]:
    """DESIGN §3, built by hand: [tag, [version, kind, channel_id, seq, ts], ...fields]."""
    h = msg.header
    fields = [
        msgpack.unpackb(bytes(v)) if isinstance(v, msgspec.Raw) else v
        for v in msgspec.structs.astuple(msg)[1:]
    ]
    return [
        type(msg).__struct_config__.tag,
        [h.version, int(h.kind), h.channel_id, h.seq, h.ts],
        *fields,
    ]


@envelope_settings
@given(envelopes())
def test_codec_round_trip(msg: Any) -> None:
    data = pool.encode(msg)
    back = pool.decode(data)
    assert type(back) is type(msg)
    assert back == msg
    assert hash(back) == hash(msg)
    buf = bytearray(b"xx")
    assert pool.encode_into(msg, buf, 2) == len(data)
    assert bytes(buf[2:]) == data


@envelope_settings
@given(envelopes())
def test_layout_read_by_msgpack_python(msg: Any) -> None:
    unpacked = msgpack.unpackb(pool.encode(msg))
    # Compare through msgpack-python's own encoding, so NaN payloads compare equal.
    assert msgpack.packb(unpacked) == msgpack.packb(expected_layout(msg))
    assert unpacked[0] == unpacked[1][1] == msg.header.kind


@batch_settings
@given(st.lists(envelopes(), max_size=12))
def test_batches_round_trip_in_each_twin(wirecore: ModuleType, messages: list[Any]) -> None:
    batch = wirecore.encode_frames(encoder, messages)
    assert wirecore.decode_frames(batch, decoder) == messages
    assert [decoder.decode(v) for v in wirecore.split_frames(batch)] == messages
    assert bytes(pool.encode_frames(messages)) == bytes(batch)  # twins give identical bytes
    assert pool.decode_frames(batch) == messages


@batch_settings
@given(st.lists(envelopes(), max_size=8), st.lists(st.integers(1, 64), max_size=20))
def test_stream_round_trip_in_each_twin(
    wirecore: ModuleType, messages: list[Any], cuts: list[int]
) -> None:
    batch = bytes(pool.encode_frames(messages))
    stream = wirecore.FrameDecoder()
    frames: list[bytes] = []
    pos = 0
    for step in cuts:
        frames += stream.feed(batch[pos : pos + step])
        pos += step
    frames += stream.feed(batch[pos:])
    stream.close()
    assert [decoder.decode(f) for f in frames] == messages


@envelope_settings
@given(envelopes())
def test_peek_agrees_with_decode_in_each_twin(wirecore: ModuleType, msg: Any) -> None:
    data = pool.encode(msg)
    peek = wirecore.peek_header(data)
    h = msg.header
    assert (peek.tag, peek.version, peek.kind, peek.channel_id, peek.seq, peek.ts) == (
        h.kind,
        h.version,
        h.kind,
        h.channel_id,
        h.seq,
        h.ts,
    )
    assert wirecore.peek_version(data) == h.version
    view = decode_envelope_view(data)
    assert (view.kind, view.header) == (h.kind, h)


# ------------------------------------------------------------ schema evolution


class HeartbeatV2(msgspec.Struct, tag=3, array_like=True, frozen=True, gc=False):
    header: WireHeader = WireHeader(version=2, kind=MessageKind.HEARTBEAT)
    sender_id: str = ""
    load: float = 0.0
    zone: str = ""


class AckV2(msgspec.Struct, tag=4, array_like=True, frozen=True, gc=False):
    header: WireHeader = WireHeader(version=2, kind=MessageKind.ACK)
    acked_seq: int = 0
    status: str = "ok"
    latency_us: int = 0


WireEnvelopeV2 = DataMessage[msgspec.Raw] | ControlMessage | HeartbeatV2 | AckV2 | WireError

registry = SchemaRegistry()
registry.register(1, WireEnvelope)
registry.register(2, WireEnvelopeV2)


def v2_messages() -> st.SearchStrategy[Any]:
    def hdr(kind: MessageKind) -> st.SearchStrategy[WireHeader]:
        return st.builds(WireHeader, st.just(2), st.just(kind), texts, msgpack_ints, msgpack_ints)

    return st.builds(
        HeartbeatV2, hdr(MessageKind.HEARTBEAT), texts, st.floats(allow_nan=False), texts
    ) | st.builds(AckV2, hdr(MessageKind.ACK), msgpack_ints, texts, msgpack_ints)


@batch_settings
@given(st.lists(envelopes(version=st.just(1)) | v2_messages(), max_size=12))
def test_registry_routes_mixed_batches(messages: list[Any]) -> None:
    batch = pool.encode_frames(messages)
    decoded = registry.decode_frames(batch)
    assert decoded == messages
    assert [type(m) for m in decoded] == [type(m) for m in messages]


@envelope_settings
@given(envelopes(version=st.just(1)))
def test_v2_types_read_v1_bytes(msg: Any) -> None:
    back = msgspec.msgpack.decode(pool.encode(msg), type=WireEnvelopeV2)
    if isinstance(msg, Heartbeat):
        assert back == HeartbeatV2(msg.header, msg.sender_id)
    elif isinstance(msg, Ack):
        assert back == AckV2(msg.header, msg.acked_seq, msg.status)
    else:
        assert back == msg


@envelope_settings
@given(v2_messages())
def test_v1_types_skip_v2_fields(msg: Any) -> None:
    back = decoder.decode(pool.encode(msg))
    if isinstance(msg, HeartbeatV2):
        assert back == Heartbeat(msg.header, msg.sender_id)
    else:
        assert back == Ack(msg.header, msg.acked_seq, msg.status)


# ------------------------------------------------------------ typed payloads


class Order(msgspec.Struct, frozen=True):
    id: int
    tags: list[str]
    price: float | None = None


PAYLOAD_TYPES: list[tuple[Any, st.SearchStrategy[Any]]] = [
    (int, msgpack_ints),
    (str, texts),
    (bytes, st.binary()),
    (list[int], st.lists(msgpack_ints)),
    (dict[str, Any], st.dictionaries(texts, msgpack_values(allow_nan=False), max_size=4)),
    (
        Order,
        st.builds(
            Order, msgpack_ints, st.lists(texts, max_size=3), st.none() | st.floats(allow_nan=False)
        ),
    ),
]


@envelope_settings
@given(st.data())
def test_payload_type_preserved(data: st.DataObject) -> None:
    payload_type, values = data.draw(st.sampled_from(PAYLOAD_TYPES))
    msg = DataMessage.new(data.draw(values), channel_id="c", seq=1, ts=0)
    encoded = pool.encode(msg)
    typed = pool.decode_frames(pool.encode_frames([msg]), DataMessage[payload_type])
    assert typed == [msg]
    assert type(typed[0].payload) is type(msg.payload)
    raw = pool.decode(encoded)
    assert pool.decode_payload(raw.payload, payload_type) == msg.payload


# ------------------------------------------------------------ hostile bytes


def mutated_envelopes() -> st.SearchStrategy[bytes]:
    """Valid envelopes with one byte replaced, a cut, or junk appended."""

    def mutate(data: bytes, at: int, byte: int, how: int) -> bytes:
        at %= len(data)
        if how == 0:
            return data[:at] + bytes([byte]) + data[at + 1 :]
        if how == 1:
            return data[:at]
        return data + bytes([byte])

    return st.builds(
        mutate,
        envelopes().map(pool.encode),
        st.integers(0, 10_000),
        st.integers(0, 255),
        st.integers(0, 2),
    )


def only_wire_errors(call: Any, data: bytes) -> None:
    with contextlib.suppress(KlawWireError):
        call(data)


@envelope_settings
@given(st.binary(max_size=64) | mutated_envelopes())
def test_bad_bytes_raise_only_wire_errors(data: bytes) -> None:
    """Whatever the bytes, decoding returns or raises a KlawWireError, nothing else."""
    only_wire_errors(pool.decode, data)
    only_wire_errors(registry.decode, data)
    only_wire_errors(decode_envelope_view, data)
    framed = len(data).to_bytes(4, "big") + data
    only_wire_errors(registry.decode_frames, framed + data)
    only_wire_errors(pool.decode_frames, framed + data)


@pytest.mark.slow
@settings(max_examples=3_000, deadline=None)
@given(envelopes(), st.binary(max_size=64) | mutated_envelopes())
def test_many_envelopes_and_hostile_bytes(msg: Any, data: bytes) -> None:
    test_codec_round_trip.hypothesis.inner_test(msg)  # type: ignore[attr-defined]
    test_layout_read_by_msgpack_python.hypothesis.inner_test(msg)  # type: ignore[attr-defined]
    test_bad_bytes_raise_only_wire_errors.hypothesis.inner_test(data)  # type: ignore[attr-defined]

"""CodecPool, encode/decode, encode_into, payload decoders, batches, errors, threads
(FR-1.2, FR-5.2)."""

from __future__ import annotations

import sys
import threading
from typing import Annotated, Any

import msgpack
import msgspec
import pytest

from klaw_core import _wirecore
from klaw_core.runtime.channels import codec as codec_module
from klaw_core.runtime.channels.codec import (
    BufferPool,
    CodecPool,
    decode,
    decode_with,
    encode,
    get_buffer_pool,
    get_codec_pool,
    wire_error_from,
)
from klaw_core.runtime.channels.wire import (
    Ack,
    ControlMessage,
    DataMessage,
    Heartbeat,
    WireError,
)
from klaw_core.runtime.errors import (
    FrameTooLarge,
    KlawWireError,
    MalformedHeader,
    MalformedPayload,
    NestingTooDeep,
    PayloadValidationError,
    TruncatedFrame,
)


class Order(msgspec.Struct, frozen=True):
    id: int
    item: str
    qty: Annotated[int, msgspec.Meta(ge=1)] = 1


def explicit_messages() -> list[Any]:
    return [
        DataMessage.new(
            msgspec.Raw(msgspec.msgpack.encode(Order(1, "a"))), channel_id="c", seq=1, ts=10
        ),
        ControlMessage.new("resize", metadata={"capacity": 4}, channel_id="c", seq=2, ts=11),
        Heartbeat.new("w-1", channel_id="c", seq=3, ts=12),
        Ack.new(2, "ok", channel_id="c", seq=4, ts=13),
        WireError.new("E_FULL", "full", details=[1, 2], channel_id="c", seq=5, ts=14),
    ]


def default_messages() -> list[Any]:
    return [DataMessage(), ControlMessage(), Heartbeat(), Ack(), WireError()]


ALL = explicit_messages() + default_messages()


# klaw's own words for each kind of bad bytes; msgspec's message follows them.
NOT_MESSAGEPACK = "payload is not valid MessagePack: "
WRONG_TYPE = "payload does not match the expected type: "


@pytest.mark.parametrize("msg", ALL, ids=lambda m: type(m).__name__)
def test_round_trip_every_type(msg: Any) -> None:
    pool = CodecPool()
    data = pool.encode(msg)
    for buf in (data, bytearray(data), memoryview(data)):
        back = pool.decode(buf)
        assert type(back) is type(msg)
        assert back == msg
    assert decode(encode(msg)) == msg


def test_singletons() -> None:
    assert get_codec_pool() is get_codec_pool()
    assert get_buffer_pool() is get_buffer_pool()
    assert isinstance(get_buffer_pool(), BufferPool)
    assert BufferPool is _wirecore.BufferPool


def test_singleton_created_once_under_contention(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec_module, "_codec_pool", None)
    monkeypatch.setattr(codec_module, "_buffer_pool", None)
    barrier = threading.Barrier(8)
    seen: list[object] = []

    def grab() -> None:
        barrier.wait()
        seen.append(get_codec_pool())
        seen.append(get_buffer_pool())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(x) for x in seen}) == 2


def test_encode_into_returns_bytes_written() -> None:
    pool = CodecPool()
    msg = Heartbeat.new("w", ts=0)
    expected = pool.encode(msg)
    buf = bytearray()
    assert pool.encode_into(msg, buf) == len(expected)
    assert bytes(buf) == expected
    # At an offset: the prefix is kept, the rest truncated to the message.
    buf = bytearray(b"\x00\x00\x00\x00" + b"junk" * 10)
    n = pool.encode_into(msg, buf, 4)
    assert n == len(expected)
    assert bytes(buf) == b"\x00\x00\x00\x00" + expected
    # -1 appends, like msgspec.
    assert pool.encode_into(msg, buf, -1) == len(expected)
    assert bytes(buf) == b"\x00\x00\x00\x00" + expected * 2
    # At the very end appends; past it, the gap is zero-filled (msgspec itself
    # would leave uninitialised bytes there), so a fresh pooled buffer can take
    # ``encode_into(msg, buf, 4)`` and have its prefix back-filled later.
    assert pool.encode_into(1, buf, len(buf)) == 1
    end = len(buf)
    assert pool.encode_into(1, buf, end + 3) == 1
    assert bytes(buf[end:]) == b"\x00\x00\x00\x01"
    with pytest.raises(ValueError, match="below -1"):
        pool.encode_into(1, buf, -2)


def test_encode_into_pooled_buffer() -> None:
    pool = CodecPool()
    buffers = BufferPool(buffer_size=64, max_pool=2)
    msg = Ack.new(7, ts=0)
    with buffers.lease() as buf:
        assert len(buf) == 0
        n = pool.encode_into(msg, buf)
        assert pool.decode(buf) == msg
        assert n == len(buf)


def test_decode_payload_and_decoder_cache() -> None:
    pool = CodecPool()
    data = pool.encode(DataMessage.new(Order(3, "x", 2), ts=0))
    msg = pool.decode(data)
    assert isinstance(msg, DataMessage)
    assert pool.decode_payload(msg.payload, Order) == Order(3, "x", 2)
    assert pool.decoder_for(Order) is pool.decoder_for(Order)
    assert pool.decoder_for(list[int]) is pool.decoder_for(list[int])
    assert pool.decode_payload(b"\x92\x01\x02", list[int]) == [1, 2]
    assert pool.decode_payload(msgspec.msgpack.encode({"id": 1, "item": "x", "qty": 1}), Order)
    with pytest.raises(PayloadValidationError, match=f"^{WRONG_TYPE}"):
        pool.decode_payload(msgspec.msgpack.encode({"id": 1, "item": "x", "qty": 0}), Order)
    with pytest.raises(MalformedPayload):
        pool.decode_payload(msgspec.Raw(b"\x92\x01"), list[int])
    with pytest.raises(TypeError):
        pool.decoder_for(object())
    # An unhashable type object still gets a decoder, just not a cached one.
    unhashable = Annotated[int, ["not", "hashable"]]
    assert pool.decode_payload(b"\x05", unhashable) == 5
    assert pool.decoder_for(unhashable) is not pool.decoder_for(unhashable)


def test_decoder_cache_is_bounded() -> None:
    pool = CodecPool()
    size = codec_module.PAYLOAD_DECODER_CACHE_SIZE
    first = pool.decoder_for(Annotated[int, msgspec.Meta(ge=-1)])
    for i in range(size + 10):
        pool.decoder_for(Annotated[int, msgspec.Meta(ge=i)])
    assert len(pool._payload_decoders) == size
    assert pool.decoder_for(Annotated[int, msgspec.Meta(ge=-1)]) is not first


def test_typed_envelope_pool() -> None:
    pool = CodecPool(DataMessage[Order])
    msg = DataMessage.new(Order(1, "a"), channel_id="orders", seq=1, ts=0)
    assert pool.envelope_type == DataMessage[Order]
    assert pool.decode(pool.encode(msg)) == msg
    with pytest.raises(PayloadValidationError, match=f"^{WRONG_TYPE}"):
        pool.decode(pool.encode(DataMessage.new({"id": "1", "item": "a"}, ts=0)))


#: A valid header and a bad rest: the envelope decode and a plain decode_with agree.
BAD_PAYLOADS = [
    # (bytes, error class, klaw's words that start the message)
    pytest.param(
        b"\x93\x03\x95\x01\x03\xa0\x00\x00", MalformedPayload, NOT_MESSAGEPACK, id="truncated"
    ),
    pytest.param(
        b"\x93\x03\x95\x01\x03\xa0\x00\x00\xa2w1\x00",
        MalformedPayload,
        NOT_MESSAGEPACK,
        id="trailing",
    ),
    pytest.param(
        b"\x93\x03\x95\x01\x03\xa0\x00\x00\xa2\xff\xfe",
        MalformedPayload,
        NOT_MESSAGEPACK,
        id="invalid-utf8",
    ),
    pytest.param(
        msgpack.packb([9, [1, 9, "", 0, 0]]), PayloadValidationError, WRONG_TYPE, id="unknown-tag"
    ),
]


@pytest.mark.parametrize(("data", "cls", "words"), BAD_PAYLOADS)
def test_bad_bytes_raise_wire_errors(data: bytes, cls: type[Exception], words: str) -> None:
    pool = CodecPool()
    with pytest.raises(cls) as info:
        pool.decode(data)
    assert type(info.value) is cls
    assert isinstance(info.value, KlawWireError)
    assert isinstance(info.value, ValueError)
    # msgspec's class and wording for each fault vary between its releases
    # (invalid UTF-8 raised UnicodeDecodeError up to 0.22, DecodeError from
    # 0.23); klaw's class and its own words are the promise, and msgspec's
    # message is kept after them.
    cause = info.value.__cause__
    assert cause is not None
    assert str(info.value) == f"{words}{cause}"
    with pytest.raises(cls):
        decode_with(pool.envelope_decoder, data)


#: Headers peek_header refuses: CodecPool.decode refuses them the same way
#: (msgspec alone would fill a 4-field header with defaults, ignore a sixth).
BAD_HEADERS = [
    (b"", TruncatedFrame, "input ends inside the envelope header (at byte 0)"),
    (b"\xc1", MalformedHeader, "envelope must be a MessagePack array, found type byte 0xc1"),
    (msgpack.packb({"tag": 1}), MalformedHeader, "envelope must be a MessagePack array"),
    (msgpack.packb([3, [1, 3, 1, 0, 0], "w"]), MalformedHeader, "channel_id must be a string"),
    (msgpack.packb([3, [1, 3, "", 0], "w"]), MalformedHeader, "header array has 4 elements"),
    (msgpack.packb([3, [1, 3, "", 0, 0, 0], "w"]), MalformedHeader, "has 6 elements"),
    (msgpack.packb([3, [1, 1, "", 0, 0], "w"]), MalformedHeader, "kind 1 does not match tag 3"),
]


@pytest.mark.parametrize(("data", "cls", "text"), BAD_HEADERS)
def test_bad_headers_are_refused_like_the_peek(
    data: bytes, cls: type[Exception], text: str
) -> None:
    with pytest.raises(cls) as info:
        CodecPool().decode(data)
    assert type(info.value) is cls
    assert text in str(info.value)


def test_deep_nesting_is_refused_before_msgspec() -> None:
    body = b"\x93\x01\x95\x01\x01\xa0\x00\x00" + b"\x91" * 100_000 + b"\xc0"
    pool = CodecPool()
    with pytest.raises(NestingTooDeep) as info:
        pool.decode(body)
    assert info.value.offset == 8 + 127
    with pytest.raises(NestingTooDeep):
        decode_with(pool.envelope_decoder, body)
    assert pool.max_depth == 128


@pytest.mark.parametrize("payload_type", [Any, dict[Any, Any], list[Any]])
def test_unhashable_map_key_is_a_malformed_payload(payload_type: Any) -> None:
    """A map keyed by a map is not a valid Python value: klaw's error, never a TypeError."""
    pool = CodecPool()
    body = b"\x91\x81\x80\xc0" if payload_type == list[Any] else b"\x81\x80\xc0"
    with pytest.raises(MalformedPayload) as info:
        pool.decode_payload(body, payload_type)
    assert type(info.value) is MalformedPayload
    assert str(info.value).startswith(NOT_MESSAGEPACK)
    with pytest.raises(MalformedPayload):
        pool.decode_frames(_wirecore.pack_frame(body), type=payload_type)


def test_wire_error_from() -> None:
    validation = wire_error_from(msgspec.ValidationError("x"))
    assert type(validation) is PayloadValidationError
    assert str(validation) == "payload does not match the expected type: x"
    malformed = wire_error_from(msgspec.DecodeError("x"))
    assert type(malformed) is MalformedPayload
    assert str(malformed) == "payload is not valid MessagePack: x"
    err = TruncatedFrame("y", 3)
    assert wire_error_from(err) is err
    # Whatever else a decoder raises on bad bytes (UnicodeDecodeError in older
    # msgspec releases, RecursionError) is still klaw's MalformedPayload.
    unicode = wire_error_from(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))
    assert type(unicode) is MalformedPayload
    assert str(unicode).startswith("payload is not valid MessagePack: ")
    deep = wire_error_from(RecursionError("too deep"))
    assert type(deep) is MalformedPayload
    assert str(deep) == "payload is nested too deeply to decode: too deep"


def test_batches() -> None:
    pool = CodecPool()
    messages = ALL * 3
    batch = pool.encode_frames(messages)
    assert isinstance(batch, bytearray)
    assert pool.decode_frames(batch) == messages
    assert pool.decode_frames(bytes(batch)) == messages
    assert pool.decode_frames(b"") == []
    # Appends to a caller's buffer (e.g. from the BufferPool).
    buf = bytearray(b"\x00\x00\x00\x01\xc0")
    assert pool.encode_frames([Heartbeat()], buf) is buf
    assert pool.decode_frames(buf, type=Any) == [None, msgpack.unpackb(pool.encode(Heartbeat()))]


def test_typed_batches() -> None:
    pool = CodecPool()
    orders = [DataMessage.new(Order(i, "x"), seq=i, ts=0) for i in range(5)]
    batch = pool.encode_frames(orders)
    assert pool.decode_frames(batch, DataMessage[Order]) == orders
    bad = pool.encode_frames([*orders[:2], DataMessage.new({"id": 1}, ts=0)])
    with pytest.raises(PayloadValidationError) as info:
        pool.decode_frames(bad, DataMessage[Order])
    assert info.value.offset == len(pool.encode_frames(orders[:2]))
    assert "Object missing required field `item`" in str(info.value)


def test_batch_frame_errors() -> None:
    pool = CodecPool(max_frame_size=16)
    assert pool.max_frame_size == 16
    big = get_codec_pool().encode_frames([Heartbeat.new("x" * 20, ts=0)])
    with pytest.raises(FrameTooLarge) as info:
        pool.decode_frames(big)
    assert info.value.offset == 0
    with pytest.raises(TruncatedFrame) as truncated:
        get_codec_pool().decode_frames(big[:-1])
    assert truncated.value.offset == 0
    with pytest.raises(MalformedHeader):  # an envelope batch: the header rules first
        pool.decode_frames(b"\x00\x00\x00\x01\xc1")
    with pytest.raises(MalformedPayload):
        pool.decode_frames(b"\x00\x00\x00\x01\xc1", Any)


def test_encoder_and_decoder_are_shared() -> None:
    pool = CodecPool()
    assert isinstance(pool.encoder, msgspec.msgpack.Encoder)
    assert pool.encoder is pool.encoder
    assert pool.envelope_decoder is pool.envelope_decoder


def test_threads_share_one_pool() -> None:
    """8 threads x 10,000 messages through one pool: no error, no cross-talk."""
    pool = CodecPool()
    threads_n, per_thread = 8, 10_000
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []
    counts = [0] * threads_n

    def work(t: int) -> None:
        try:
            buf = bytearray()
            barrier.wait()
            for i in range(per_thread):
                kind = i % 3
                if kind == 0:
                    msg: Any = DataMessage.new(Order(i, f"t{t}"), channel_id=f"c{t}", seq=i, ts=i)
                elif kind == 1:
                    msg = Ack.new(i, f"t{t}", channel_id=f"c{t}", seq=i, ts=i)
                else:
                    msg = ControlMessage.new(
                        "resize", metadata=[t, i], channel_id=f"c{t}", seq=i, ts=i
                    )
                pool.encode_into(msg, buf)
                data = pool.encode(msg)
                assert buf == data
                # bytes(buf): a decoded Raw would keep ``buf`` exported (unresizable).
                back = pool.decode(bytes(buf) if i % 2 else data)
                if kind == 0:
                    assert pool.decode_payload(back.payload, Order) == Order(i, f"t{t}")
                    back = DataMessage(back.header, pool.decode_payload(back.payload, Order))
                assert back == msg
                counts[t] += 1
        except BaseException as exc:
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, to interleave calls
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == []
    assert counts == [per_thread] * threads_n


def test_encode_frames_refuses_what_its_own_decode_frames_would_reject() -> None:
    pool = CodecPool(max_frame_size=16)
    buf = pool.encode_frames([b"ok"])
    kept = bytes(buf)
    with pytest.raises(FrameTooLarge):
        pool.encode_frames([b"x" * 40], buf)
    assert bytes(buf) == kept

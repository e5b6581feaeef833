"""Unit tests of the wire core, run against both twins (the ``wirecore`` fixture).

Covers framing (pack/encode/split/decode), the streaming ``FrameDecoder``,
``peek_header``/``peek_version`` with every MessagePack width, and the golden
frame vectors. Cross-twin properties live in ``test_wirecore_differential.py``,
the pool in ``test_buffer_pool.py``, the chooser in ``test_wirecore_chooser.py``.
"""

from __future__ import annotations

import array
import gc
import importlib.util
import pickle
import struct
import sys
import weakref
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest

from klaw_core._wiretypes import HeaderPeek
from klaw_core.runtime.errors import (
    FrameTooLarge,
    KlawWireError,
    MalformedHeader,
    MalformedPayload,
    NestingTooDeep,
    PayloadValidationError,
    TruncatedFrame,
)

ENC = msgspec.msgpack.Encoder()
DEC = msgspec.msgpack.Decoder()
MiB = 1024 * 1024


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def batch(*bodies: bytes) -> bytes:
    return b"".join(frame(b) for b in bodies)


# ------------------------------------------------------------------- constants


def test_constants(wirecore: ModuleType) -> None:
    assert wirecore.PREFIX_SIZE == 4
    assert 16 * MiB == wirecore.DEFAULT_MAX_FRAME_SIZE
    assert wirecore.MAX_FRAME_SIZE_LIMIT == 2**32 - 1


def test_shared_result_classes(compiled: ModuleType, pure: ModuleType) -> None:
    assert compiled.HeaderPeek is pure.HeaderPeek is HeaderPeek
    assert compiled.BufferPoolStats is pure.BufferPoolStats


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_max_frame_size_is_range_checked(wirecore: ModuleType, bad: int) -> None:
    with pytest.raises(ValueError, match="max_frame_size must be between 0 and 4294967295"):
        wirecore.split_frames(b"", bad)
    with pytest.raises(ValueError, match="max_frame_size"):
        wirecore.FrameDecoder(bad)
    with pytest.raises(ValueError, match="max_frame_size"):
        wirecore.pack_frame(b"", bad)


# ------------------------------------------------------------------ pack_frame


@pytest.mark.parametrize("body", [b"", b"x", bytes(range(256)) * 300])
def test_pack_frame(wirecore: ModuleType, body: bytes) -> None:
    assert wirecore.pack_frame(body) == frame(body)
    assert wirecore.pack_frame(bytearray(body)) == frame(body)
    assert wirecore.pack_frame(memoryview(body)) == frame(body)


def test_pack_frame_too_large(wirecore: ModuleType) -> None:
    assert wirecore.pack_frame(b"abc", max_frame_size=3) == frame(b"abc")
    with pytest.raises(FrameTooLarge) as info:
        wirecore.pack_frame(b"abcd", max_frame_size=3)
    assert info.value.offset == 0
    assert str(info.value) == "frame of 4 bytes exceeds the maximum 3 (at byte 0)"


def test_pack_frame_rejects_non_buffers(wirecore: ModuleType) -> None:
    with pytest.raises(TypeError):
        wirecore.pack_frame("text")


# --------------------------------------------------------------- encode_frames


MESSAGES: list[Any] = [0, -1, "é" * 40, b"\x00" * 1000, [1, [2, 3]], {"k": None}, 2**64 - 1]


def test_encode_frames_round_trip(wirecore: ModuleType) -> None:
    out = wirecore.encode_frames(ENC, MESSAGES)
    assert type(out) is bytearray
    assert bytes(out) == batch(*(ENC.encode(m) for m in MESSAGES))
    assert wirecore.decode_frames(out, DEC) == MESSAGES


def test_encode_frames_appends_to_given_buffer(wirecore: ModuleType) -> None:
    buf = bytearray(b"head")
    out = wirecore.encode_frames(ENC, iter([1, 2]), buf)
    assert out is buf
    assert bytes(buf) == b"head" + batch(b"\x01", b"\x02")


def test_encode_frames_empty_input(wirecore: ModuleType) -> None:
    assert wirecore.encode_frames(ENC, []) == bytearray()
    assert wirecore.encode_frames(ENC, ()) == bytearray()


def test_encode_frames_buffer_after_del_prefix(wirecore: ModuleType) -> None:
    # ``del buf[:n]`` moves CPython's start pointer instead of the bytes.
    buf = bytearray(b"0123456789")
    del buf[:6]
    wirecore.encode_frames(ENC, ["x" * 50], buf)
    assert bytes(buf) == b"6789" + frame(ENC.encode("x" * 50))


def test_encode_frames_too_large_leaves_buffer_unchanged(wirecore: ModuleType) -> None:
    buf = bytearray(b"keep")
    with pytest.raises(FrameTooLarge) as info:
        wirecore.encode_frames(ENC, [b"a", b"b" * 100, b"c"], buf, max_frame_size=50)
    first = frame(ENC.encode(b"a"))
    assert bytes(buf) == b"keep" + first  # the first frame stays, nothing of the second
    assert info.value.offset == 4 + len(first)
    assert info.value.reason == "frame of 102 bytes exceeds the maximum 50"


def test_encode_frames_encoder_error_leaves_buffer_unchanged(wirecore: ModuleType) -> None:
    buf = bytearray()
    with pytest.raises(TypeError):
        wirecore.encode_frames(ENC, [1, object()], buf)
    assert bytes(buf) == frame(b"\x01")


def test_encode_frames_rejects_non_bytearray(wirecore: ModuleType) -> None:
    with pytest.raises(TypeError, match="bytearray"):
        wirecore.encode_frames(ENC, [1], bytes(10))  # type: ignore[arg-type]


def test_encode_frames_refuses_exported_buffer(wirecore: ModuleType) -> None:
    buf = bytearray(b"ab")
    view = memoryview(buf)
    with pytest.raises(BufferError):
        wirecore.encode_frames(ENC, [1], buf)
    view.release()
    assert bytes(buf) == b"ab"


class AppendingEncoder:
    """Not msgspec: appends its bytes, relying on ``offset`` being the end."""

    def encode_into(self, obj: Any, buffer: bytearray, offset: int = 0) -> None:
        assert offset == len(buffer)
        buffer += repr(obj).encode()


def test_encode_frames_with_another_encoder(compiled: ModuleType, pure: ModuleType) -> None:
    made = [
        bytes(w.encode_frames(AppendingEncoder(), [1, "ab", None], bytearray(b"x")))
        for w in (compiled, pure)
    ]
    assert made[0] == made[1] == b"x" + batch(b"1", b"'ab'", b"None")


def test_encode_frames_json_encoder(wirecore: ModuleType) -> None:
    out = wirecore.encode_frames(msgspec.json.Encoder(), [{"a": 1}, [1, 2]])
    assert bytes(out) == batch(b'{"a":1}', b"[1,2]")
    assert wirecore.decode_frames(out, msgspec.json.Decoder()) == [{"a": 1}, [1, 2]]


def test_encode_frames_many_into_one_buffer(wirecore: ModuleType) -> None:
    messages = [{"i": i, "pad": "x" * (i % 300)} for i in range(2000)]
    out = wirecore.encode_frames(ENC, messages, bytearray(64))
    assert wirecore.decode_frames(out[64:], DEC) == messages


# ---------------------------------------------------------------- split_frames


def test_split_frames_empty(wirecore: ModuleType) -> None:
    assert wirecore.split_frames(b"") == []


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_split_frames_types(wirecore: ModuleType, kind: type) -> None:
    data = kind(batch(b"a", b"", b"xyz" * 100))
    views = wirecore.split_frames(data)
    assert [bytes(v) for v in views] == [b"a", b"", b"xyz" * 100]
    for view in views:
        assert type(view) is memoryview
        assert view.format == "B"
        assert view.ndim == 1
        assert view.itemsize == 1
        assert view.nbytes == len(view) == len(view.tobytes())


def test_split_frames_is_zero_copy(wirecore: ModuleType) -> None:
    data = bytearray(batch(b"abc", b"def"))
    views = wirecore.split_frames(data)
    assert views[0].obj is data
    data[4] = ord("X")
    data[-1] = ord("Z")
    assert bytes(views[0]) == b"Xbc"
    assert bytes(views[1]) == b"deZ"
    views[1][0] = ord("D")
    assert data[-3:] == b"DeZ"
    with pytest.raises(BufferError):
        data.append(0)  # the views pin the buffer
    for view in views:
        view.release()
    data.append(0)


def test_split_frames_views_behave_like_slices(wirecore: ModuleType) -> None:
    data = batch(b"hello", b"world!")
    first, second = wirecore.split_frames(data)
    assert first.readonly
    assert first == b"hello"
    assert second == memoryview(b"world!")
    assert hash(first) == hash(b"hello")
    assert bytes(second[1:3]) == b"or"
    assert second[-1] == ord("!")
    assert second.tolist() == list(b"world!")
    assert bytes(first.cast("c")) == b"hello"


def test_split_frames_views_keep_data_alive(wirecore: ModuleType) -> None:
    views = wirecore.split_frames(bytes(batch(b"alive" * 1000)))
    gc.collect()
    assert bytes(views[0]) == b"alive" * 1000


def test_split_frames_of_a_memoryview_slice(wirecore: ModuleType) -> None:
    data = b"junk" + batch(b"a", b"bc") + b"tail"
    views = wirecore.split_frames(memoryview(data)[4:-4])
    assert [bytes(v) for v in views] == [b"a", b"bc"]


def test_split_frames_multibyte_format(wirecore: ModuleType) -> None:
    raw = batch(b"abcd")  # 8 bytes: two 4-byte items
    arr = array.array("I")
    arr.frombytes(raw)
    assert [bytes(v) for v in wirecore.split_frames(arr)] == [b"abcd"]


def test_split_frames_rejects_non_contiguous(wirecore: ModuleType) -> None:
    with pytest.raises(BufferError):
        wirecore.split_frames(memoryview(batch(b"ab") * 2)[::2])


def test_split_frames_rejects_non_buffers(wirecore: ModuleType) -> None:
    with pytest.raises(TypeError):
        wirecore.split_frames("text")


@pytest.mark.parametrize("present", [1, 2, 3])
def test_split_frames_truncated_prefix(wirecore: ModuleType, present: int) -> None:
    data = frame(b"ok") + b"\x00" * present
    with pytest.raises(TruncatedFrame) as info:
        wirecore.split_frames(data)
    assert info.value.offset == 6
    assert info.value.reason == f"input ends inside a length prefix: {present} of 4 bytes present"


def test_split_frames_truncated_body(wirecore: ModuleType) -> None:
    data = frame(b"ok") + frame(b"abcdef")[:-2]
    with pytest.raises(TruncatedFrame) as info:
        wirecore.split_frames(data)
    assert info.value.offset == 6
    assert info.value.reason == "frame declares 6 bytes, 4 present"


def test_split_frames_too_large_is_checked_on_the_prefix_alone(wirecore: ModuleType) -> None:
    data = frame(b"ok") + struct.pack(">I", 2**32 - 1)  # no body at all
    with pytest.raises(FrameTooLarge) as info:
        wirecore.split_frames(data)
    assert info.value.offset == 6
    assert info.value.reason == "frame declares 4294967295 bytes, more than the maximum 16777216"


def test_split_frames_custom_max(wirecore: ModuleType) -> None:
    assert [bytes(v) for v in wirecore.split_frames(batch(b"", b""), 0)] == [b"", b""]
    with pytest.raises(FrameTooLarge):
        wirecore.split_frames(batch(b"x"), 0)
    assert len(wirecore.split_frames(batch(b"x" * 4096), 2**32 - 1)) == 1


# --------------------------------------------------------------- decode_frames


class Point(msgspec.Struct):
    x: int
    y: int


def test_decode_frames_typed(wirecore: ModuleType) -> None:
    points = [Point(1, 2), Point(-3, 2**40)]
    data = wirecore.encode_frames(ENC, points)
    assert wirecore.decode_frames(data, msgspec.msgpack.Decoder(Point)) == points
    assert wirecore.decode_frames(bytes(data), msgspec.msgpack.Decoder(Point)) == points


def test_decode_frames_raw_fields_survive_the_call(wirecore: ModuleType) -> None:
    data = wirecore.encode_frames(ENC, [[1, {"a": 1}], [2, "x" * 100]])
    decoded = wirecore.decode_frames(data, msgspec.msgpack.Decoder(tuple[int, msgspec.Raw]))
    del data
    gc.collect()
    assert [bytes(raw) for _, raw in decoded] == [ENC.encode({"a": 1}), ENC.encode("x" * 100)]


def test_decode_frames_memoryview_fields_survive_the_call(wirecore: ModuleType) -> None:
    payloads = [bytes([i]) * (i + 1) for i in range(20)]
    decoded = wirecore.decode_frames(
        wirecore.encode_frames(ENC, payloads), msgspec.msgpack.Decoder(memoryview)
    )
    assert [bytes(v) for v in decoded] == payloads


def test_decode_frames_ext_hook_views_survive_the_call(wirecore: ModuleType) -> None:
    kept: list[memoryview] = []

    def hook(code: int, data: memoryview) -> int:
        kept.append(data)
        return code

    exts = [msgspec.msgpack.Ext(i, bytes([i]) * 3) for i in range(1, 6)]
    out = wirecore.decode_frames(
        wirecore.encode_frames(ENC, exts), msgspec.msgpack.Decoder(ext_hook=hook)
    )
    assert out == [1, 2, 3, 4, 5]
    assert [bytes(v) for v in kept] == [e.data for e in exts]


def test_decode_frames_buffers_kept_by_a_decoder_stay_valid(wirecore: ModuleType) -> None:
    class Keeper:
        def __init__(self) -> None:
            self.seen: list[Any] = []

        def decode(self, buf: Any) -> int:
            self.seen.append(buf)
            return len(buf)

    bodies = [b"a", b"bb", b"ccc"]
    keeper = Keeper()
    assert wirecore.decode_frames(batch(*bodies), keeper) == [1, 2, 3]
    assert [bytes(b) for b in keeper.seen] == bodies
    # A msgspec decoder keeping Raw views, interleaved with plain frames.
    data = batch(ENC.encode([1, "x"]), ENC.encode([2, "y"]), ENC.encode([3, "z"]))
    raws = wirecore.decode_frames(data, msgspec.msgpack.Decoder(msgspec.Raw))
    assert [bytes(r) for r in raws] == [
        ENC.encode([1, "x"]),
        ENC.encode([2, "y"]),
        ENC.encode([3, "z"]),
    ]


def test_decode_frames_validation_error(wirecore: ModuleType) -> None:
    data = batch(ENC.encode({"x": 1, "y": 2}), ENC.encode({"x": "no", "y": 2}))
    with pytest.raises(PayloadValidationError) as info:
        wirecore.decode_frames(data, msgspec.msgpack.Decoder(Point))
    assert type(info.value) is PayloadValidationError
    assert info.value.offset == 4 + len(ENC.encode({"x": 1, "y": 2}))
    # klaw's words carry the meaning; msgspec's message (the path) follows.
    cause = info.value.__cause__
    assert cause is not None
    assert info.value.reason == f"frame payload does not match the expected type: {cause}"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xc1", id="never-used-type-byte"),
        pytest.param(b"\x92\x01", id="array-of-2-holding-1"),
        pytest.param(b"\x01\x02", id="trailing-bytes"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xa2\xff\xfe", id="invalid-utf8"),
        # A map key that is itself a map: msgspec < 0.22 raised TypeError here.
        pytest.param(b"\x81\x80\xc0", id="unhashable-map-key"),
    ],
)
def test_decode_frames_malformed_payload(wirecore: ModuleType, body: bytes) -> None:
    data = frame(b"\x07") + frame(body)
    with pytest.raises(MalformedPayload) as info:
        wirecore.decode_frames(data, DEC)
    assert type(info.value) is MalformedPayload
    assert info.value.offset == 5
    # Which exception msgspec raises, and its wording, vary between releases
    # (invalid UTF-8: UnicodeDecodeError up to 0.22, msgspec.DecodeError from
    # 0.23): klaw's promise is its own class, the offset and its own words.
    cause = info.value.__cause__
    assert cause is not None
    assert info.value.reason == f"frame payload is not valid MessagePack: {cause}"


def test_decode_frames_nested_too_deep(wirecore: ModuleType) -> None:
    data = frame(b"\x07") + frame(b"\x91" * 100_000 + b"\xc0")
    with pytest.raises(NestingTooDeep) as info:
        wirecore.decode_frames(data, DEC)
    # Refused by the depth scan where the 129th array starts, before msgspec runs.
    assert info.value.offset == 5 + 4 + 128
    assert isinstance(info.value, MalformedPayload)


def test_decode_frames_first_problem_wins(wirecore: ModuleType) -> None:
    data = frame(b"\xc1") + b"\x00\x00"  # bad payload, then a truncated prefix
    with pytest.raises(MalformedPayload):
        wirecore.decode_frames(data, DEC)
    data = frame(b"\x01") + struct.pack(">I", 99) + frame(b"\xc1")
    with pytest.raises(TruncatedFrame):
        wirecore.decode_frames(data, DEC)


def test_decode_frames_other_decoder_errors_propagate(wirecore: ModuleType) -> None:
    class Boom:
        def decode(self, buf: Any) -> Any:
            raise KeyError("not a wire problem")

    with pytest.raises(KeyError):
        wirecore.decode_frames(frame(b"\x01"), Boom())


def test_decode_frames_split_errors(wirecore: ModuleType) -> None:
    with pytest.raises(TruncatedFrame):
        wirecore.decode_frames(b"\x00\x00\x00\x05abc", DEC)
    with pytest.raises(FrameTooLarge):
        wirecore.decode_frames(b"\x00\x00\x00\x05abcde", DEC, 4)


# ---------------------------------------------------------------- FrameDecoder


STREAM_BODIES = [b"", b"a", b"xyz" * 50, bytes(range(256)) * 40, b"tail"]
STREAM = batch(*STREAM_BODIES)


def test_frame_decoder_whole_and_byte_by_byte(wirecore: ModuleType) -> None:
    dec = wirecore.FrameDecoder()
    assert dec.feed(STREAM) == STREAM_BODIES
    assert dec.pending == 0
    dec.close()
    dec = wirecore.FrameDecoder()
    out: list[bytes] = []
    for i in range(len(STREAM)):
        out += dec.feed(STREAM[i : i + 1])
    assert out == STREAM_BODIES
    assert all(type(f) is bytes for f in out)
    dec.close()


@pytest.mark.parametrize("size", [2, 3, 5, 7, 100, 1000])
def test_frame_decoder_fixed_chunks(wirecore: ModuleType, size: int) -> None:
    dec = wirecore.FrameDecoder()
    out: list[bytes] = []
    for i in range(0, len(STREAM), size):
        out += dec.feed(memoryview(STREAM)[i : i + size])
    assert out == STREAM_BODIES


def test_frame_decoder_accepts_buffers(wirecore: ModuleType) -> None:
    dec = wirecore.FrameDecoder()
    assert dec.feed(bytearray(frame(b"ab"))) == [b"ab"]
    assert dec.feed(memoryview(frame(b"cd"))) == [b"cd"]
    assert dec.feed(b"") == []
    with pytest.raises(TypeError):
        dec.feed("text")


def test_frame_decoder_pending(wirecore: ModuleType) -> None:
    dec = wirecore.FrameDecoder()
    assert dec.feed(b"\x00\x00") == []
    assert dec.pending == 2
    assert dec.feed(b"\x00\x03ab") == []
    assert dec.pending == 6
    assert dec.feed(b"c\x00") == [b"abc"]
    assert dec.pending == 1
    assert dec.max_frame_size == wirecore.DEFAULT_MAX_FRAME_SIZE


def test_frame_decoder_large_frame_in_small_chunks(wirecore: ModuleType) -> None:
    body = bytes(range(256)) * 2000
    data = frame(body) + frame(b"next")
    dec = wirecore.FrameDecoder()
    out: list[bytes] = []
    for i in range(0, len(data), 4093):
        out += dec.feed(data[i : i + 4093])
    assert out == [body, b"next"]
    assert dec.pending == 0


def test_frame_decoder_too_large_after_prefix_only(wirecore: ModuleType) -> None:
    dec = wirecore.FrameDecoder(max_frame_size=1024)
    assert dec.feed(frame(b"ok")) == [b"ok"]
    with pytest.raises(FrameTooLarge) as info:
        dec.feed(struct.pack(">I", 1025))  # the 4 prefix bytes, nothing more
    assert info.value.offset == 6
    assert dec.pending == 0


def test_frame_decoder_too_large_prefix_split_across_chunks(wirecore: ModuleType) -> None:
    dec = wirecore.FrameDecoder(max_frame_size=1024)
    assert dec.feed(b"\x00\x00\x04") == []
    with pytest.raises(FrameTooLarge) as info:
        dec.feed(b"\x01" + b"\x00" * 10_000)
    assert info.value.offset == 0
    assert dec.pending <= 4


def test_frame_decoder_huge_declared_length(wirecore: ModuleType) -> None:
    dec = wirecore.FrameDecoder()
    with pytest.raises(FrameTooLarge) as info:
        dec.feed(b"\xff\xff\xff\xff")
    assert info.value.reason == "frame declares 4294967295 bytes, more than the maximum 16777216"
    assert dec.pending == 0


@pytest.mark.parametrize(
    ("stream", "error", "offset", "reason"),
    [
        (
            frame(b"ab") + b"\x00",
            TruncatedFrame,
            6,
            "input ends inside a length prefix: 1 of 4 bytes present",
        ),
        (frame(b"ab") + frame(b"xyz")[:-1], TruncatedFrame, 6, "frame declares 3 bytes, 2 present"),
        (frame(b"ab") + frame(b"xyz")[:4], TruncatedFrame, 6, "frame declares 3 bytes, 0 present"),
    ],
)
def test_frame_decoder_close_on_cut_stream(
    wirecore: ModuleType, stream: bytes, error: type[KlawWireError], offset: int, reason: str
) -> None:
    for step in (1, len(stream)):
        dec = wirecore.FrameDecoder()
        for i in range(0, len(stream), step):
            dec.feed(stream[i : i + step])
        with pytest.raises(error) as info:
            dec.close()
        assert info.value.offset == offset
        assert info.value.reason == reason


def test_frame_decoder_stays_failed_until_reset(wirecore: ModuleType) -> None:
    dec = wirecore.FrameDecoder(max_frame_size=8)
    with pytest.raises(FrameTooLarge) as first:
        dec.feed(frame(b"x" * 9))
    for call in (lambda: dec.feed(frame(b"ok")), dec.close, lambda: dec.feed(b"")):
        with pytest.raises(FrameTooLarge) as again:
            call()
        assert again.value is not first.value
        assert str(again.value) == str(first.value)
    dec.reset()
    assert dec.pending == 0
    assert dec.feed(frame(b"ok")) == [b"ok"]
    dec.close()


def test_frame_decoder_close_failure_is_sticky(wirecore: ModuleType) -> None:
    dec = wirecore.FrameDecoder()
    dec.feed(b"\x00")
    with pytest.raises(TruncatedFrame):
        dec.close()
    with pytest.raises(TruncatedFrame, match="at byte 0"):
        dec.feed(frame(b"more"))
    dec.reset()
    assert dec.feed(frame(b"more")) == [b"more"]


def test_frame_decoder_offsets_are_stream_offsets(wirecore: ModuleType) -> None:
    dec = wirecore.FrameDecoder(max_frame_size=100)
    dec.feed(frame(b"a" * 10))  # 14 bytes
    dec.feed(frame(b"b" * 20)[:7])  # 7 of 24
    dec.feed(frame(b"b" * 20)[7:])  # done: stream at 38
    with pytest.raises(FrameTooLarge) as info:
        dec.feed(frame(b"c") + struct.pack(">I", 101))
    assert info.value.offset == 38 + 5
    dec.reset()
    with pytest.raises(FrameTooLarge) as info:
        dec.feed(struct.pack(">I", 101))
    assert info.value.offset == 0


def test_frame_decoder_close_is_repeatable(wirecore: ModuleType) -> None:
    dec = wirecore.FrameDecoder()
    dec.close()
    assert dec.feed(frame(b"x")) == [b"x"]
    dec.close()
    assert "pending=0" in repr(dec)


# ------------------------------------------------------------------------ peek


def mp_int(value: int, width: str) -> bytes:
    """Encode ``value`` with the MessagePack integer encoding named ``width``."""
    codes = {
        "u8": (b"\xcc", ">B"),
        "u16": (b"\xcd", ">H"),
        "u32": (b"\xce", ">I"),
        "u64": (b"\xcf", ">Q"),
        "i8": (b"\xd0", ">b"),
        "i16": (b"\xd1", ">h"),
        "i32": (b"\xd2", ">i"),
        "i64": (b"\xd3", ">q"),
    }
    if width == "fix":
        return struct.pack(">b", value) if value < 0 else struct.pack(">B", value)
    code, fmt = codes[width]
    return code + struct.pack(fmt, value)


def mp_str(text: str, width: str = "fix") -> bytes:
    raw = text.encode()
    if width == "fix":
        return bytes([0xA0 | len(raw)]) + raw
    code, fmt = {"s8": (b"\xd9", ">B"), "s16": (b"\xda", ">H"), "s32": (b"\xdb", ">I")}[width]
    return code + struct.pack(fmt, len(raw)) + raw


def mp_array(count: int, width: str = "fix") -> bytes:
    if width == "fix":
        return bytes([0x90 | count])
    code, fmt = {"a16": (b"\xdc", ">H"), "a32": (b"\xdd", ">I")}[width]
    return code + struct.pack(fmt, count)


def envelope(
    tag: bytes = b"\x01",
    version: bytes = b"\x01",
    kind: bytes = b"\x01",
    channel: bytes = b"\xa4chan",
    seq: bytes = b"\x07",
    ts: bytes = b"\x2a",
    rest: bytes = b"\xc0",
    outer: bytes = b"\x93",
    header: bytes = b"\x95",
) -> bytes:
    return outer + tag + header + version + kind + channel + seq + ts + rest


WIDTH_SAMPLES = [
    ("fix", 0), ("fix", 127), ("fix", -1), ("fix", -32),
    ("u8", 0), ("u8", 255), ("u16", 0), ("u16", 65535), ("u32", 2**32 - 1), ("u64", 0), ("u64", 2**64 - 1),
    ("i8", -128), ("i8", 127), ("i16", -32768), ("i16", 5), ("i32", -(2**31)), ("i64", -(2**63)), ("i64", 2**63 - 1),
]  # fmt: skip


@pytest.mark.parametrize("field", ["version", "seq", "ts"])
@pytest.mark.parametrize(("width", "value"), WIDTH_SAMPLES)
def test_peek_every_int_width(wirecore: ModuleType, field: str, width: str, value: int) -> None:
    data = envelope(**{field: mp_int(value, width)})
    peek = wirecore.peek_header(data)
    assert getattr(peek, field) == value
    assert (
        msgspec.msgpack.decode(data)[1][["version", "kind", "channel", "seq", "ts"].index(field)]
        == value
    )


@pytest.mark.parametrize(("width", "value"), WIDTH_SAMPLES)
def test_peek_tag_and_kind_every_width(wirecore: ModuleType, width: str, value: int) -> None:
    # tag and kind may use different widths for the same value.
    data = envelope(tag=mp_int(value, width), kind=mp_int(value, "i64" if value < 2**63 else "u64"))
    peek = wirecore.peek_header(data)
    assert peek.tag == peek.kind == value


def test_peek_header_result(wirecore: ModuleType) -> None:
    data = ENC.encode([5, [2, 5, "jobs", 2**64 - 1, -(2**63)], "E", "msg", None])
    peek = wirecore.peek_header(data)
    assert peek == HeaderPeek(5, 2, 5, "jobs", 2**64 - 1, -(2**63))
    assert wirecore.peek_version(data) == 2
    assert pickle.loads(pickle.dumps(peek)) == peek
    assert b"_wirecore" not in pickle.dumps(peek)


@pytest.mark.parametrize("width", ["fix", "s8", "s16", "s32"])
@pytest.mark.parametrize("text", ["", "c", "é" * 10, "日本"])
def test_peek_every_str_width(wirecore: ModuleType, width: str, text: str) -> None:
    if width == "fix" and len(text.encode()) > 31:
        pytest.skip("fixstr holds at most 31 bytes")
    assert wirecore.peek_header(envelope(channel=mp_str(text, width))).channel_id == text


@pytest.mark.parametrize(
    "outer", [mp_array(2), mp_array(15), mp_array(3, "a16"), mp_array(70000, "a32")]
)
@pytest.mark.parametrize("header", [mp_array(5), mp_array(5, "a16"), mp_array(5, "a32")])
def test_peek_every_array_width(wirecore: ModuleType, outer: bytes, header: bytes) -> None:
    peek = wirecore.peek_header(envelope(outer=outer, header=header, rest=b""))
    assert peek == HeaderPeek(1, 1, 1, "chan", 7, 42)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_peek_accepts_buffers(wirecore: ModuleType, kind: type) -> None:
    assert wirecore.peek_header(kind(envelope())).channel_id == "chan"


def test_peek_is_o1_in_payload_size(wirecore: ModuleType) -> None:
    huge = ENC.encode([1, [1, 1, "big", 3, 4], b"\x00" * (8 * MiB)])
    head = huge[:32]  # the header and the start of the payload only
    assert (
        wirecore.peek_header(head) == wirecore.peek_header(huge) == HeaderPeek(1, 1, 1, "big", 3, 4)
    )
    # The exact number of bytes needed is the header's length, whatever the payload.
    small = ENC.encode([1, [1, 1, "big", 3, 4], b""])
    needed = len(small) - 2  # minus the empty bin payload (c4 00)
    assert wirecore.peek_header(huge[:needed]).seq == 3
    with pytest.raises(TruncatedFrame):
        wirecore.peek_header(huge[: needed - 1])


def test_peek_truncated_everywhere(wirecore: ModuleType) -> None:
    data = envelope(
        tag=mp_int(1, "u64"), version=mp_int(7, "i32"), kind=mp_int(1, "u8"),
        channel=mp_str("channel", "s16"), seq=mp_int(9, "u16"), ts=mp_int(-5, "i64"),
        outer=mp_array(3, "a32"), header=mp_array(5, "a16"), rest=b"",
    )  # fmt: skip
    for cut in range(len(data)):
        with pytest.raises(TruncatedFrame) as info:
            wirecore.peek_header(data[:cut])
        assert info.value.reason == "input ends inside the envelope header"
        assert 0 <= info.value.offset <= cut  # type: ignore[operator]
    assert wirecore.peek_header(data).ts == -5


@pytest.mark.parametrize(
    ("data", "offset", "reason"),
    [
        (b"\x80", 0, "envelope must be a MessagePack array, found type byte 0x80"),
        (b"\x91\x01", 0, "envelope array has 1 elements, need at least 2"),
        (b"\x90", 0, "envelope array has 0 elements, need at least 2"),
        (envelope(tag=b"\xc0"), 1, "tag must be an integer, found type byte 0xc0"),
        (envelope(tag=b"\xcb" + bytes(8)), 1, "tag must be an integer, found type byte 0xcb"),
        (envelope(header=b"\x94"), 2, "header array has 4 elements, expected 5"),
        (envelope(header=b"\x96"), 2, "header array has 6 elements, expected 5"),
        (envelope(header=b"\x85"), 2, "header must be a MessagePack array, found type byte 0x85"),
        (envelope(version=b"\xa1v"), 3, "version must be an integer, found type byte 0xa1"),
        (envelope(kind=b"\x02"), 4, "header kind 2 does not match tag 1"),
        (envelope(kind=b"\xc3"), 4, "kind must be an integer, found type byte 0xc3"),
        (envelope(channel=b"\xc4\x01c"), 5, "channel_id must be a string, found type byte 0xc4"),
        (envelope(channel=b"\xc0"), 5, "channel_id must be a string, found type byte 0xc0"),
        (envelope(channel=b"\xa2\xff\xfe"), 5, "channel_id is not valid UTF-8"),
        (envelope(channel=b"\xa3\xed\xa0\x80"), 5, "channel_id is not valid UTF-8"),  # a surrogate
        (envelope(seq=b"\xc2"), 10, "seq must be an integer, found type byte 0xc2"),
        (envelope(ts=b"\xca\x00\x00\x00\x00"), 11, "ts must be an integer, found type byte 0xca"),
    ],
)
def test_peek_malformed(wirecore: ModuleType, data: bytes, offset: int, reason: str) -> None:
    with pytest.raises(MalformedHeader) as info:
        wirecore.peek_header(data)
    assert info.value.offset == offset
    assert info.value.reason == reason
    with pytest.raises(MalformedHeader):
        wirecore.peek_version(data)


def test_peek_malformed_before_truncated(wirecore: ModuleType) -> None:
    # kind != tag is reported even though the input ends right after kind.
    with pytest.raises(MalformedHeader):
        wirecore.peek_header(envelope(kind=b"\x02")[:5])


def test_peek_alternating_channels_of_equal_length(wirecore: ModuleType) -> None:
    # The compiled twin remembers the last channel id; equal lengths must not confuse it.
    a = envelope(channel=mp_str("chan-a"))
    b = envelope(channel=mp_str("chan-b"))
    for _ in range(3):
        assert wirecore.peek_header(a).channel_id == "chan-a"
        assert wirecore.peek_header(b).channel_id == "chan-b"
    assert wirecore.peek_header(envelope(channel=mp_str("chan-\u00e9"))).channel_id == "chan-\u00e9"
    with pytest.raises(MalformedHeader):
        wirecore.peek_header(envelope(channel=b"\xa6chan-\xff"))
    assert wirecore.peek_header(b).channel_id == "chan-b"


def test_peek_rejects_non_buffers(wirecore: ModuleType) -> None:
    with pytest.raises(TypeError):
        wirecore.peek_header("text")


def test_peek_invalid_utf8_chains_the_cause(wirecore: ModuleType) -> None:
    with pytest.raises(MalformedHeader) as info:
        wirecore.peek_header(envelope(channel=b"\xa1\x80"))
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


# --------------------------------------------------------------- golden vectors


def _load_generate() -> ModuleType:
    path = Path(__file__).parent / "vectors" / "generate.py"
    spec = importlib.util.spec_from_file_location("klaw_vectors_generate", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATE = _load_generate()


@pytest.mark.parametrize("name", sorted(GENERATE.FRAME_VECTORS))
def test_golden_frame_vectors(compiled: ModuleType, pure: ModuleType, name: str) -> None:
    expected = (GENERATE.VECTORS_DIR / f"{name}.bin").read_bytes()
    build = GENERATE.FRAME_VECTORS[name]
    assert build(compiled) == build(pure) == expected
    assert [bytes(v) for v in compiled.split_frames(expected)] == [
        bytes(v) for v in pure.split_frames(expected)
    ]


def test_golden_vectors_are_current() -> None:
    assert GENERATE.main(["--check"]) == 0


def _view_facts(view: memoryview) -> tuple[object, ...]:
    return (
        type(view),
        view.tobytes(),
        view.readonly,
        view.format,
        view.itemsize,
        view.ndim,
        view.shape,
        view.strides,
        view.suboffsets,
        view.c_contiguous,
        view.f_contiguous,
        view.contiguous,
        view.nbytes,
    )


@pytest.mark.parametrize(
    "make",
    [bytes, bytearray, memoryview, lambda raw: array.array("B", raw)],
    ids=["bytes", "bytearray", "memoryview", "array"],
)
def test_split_frames_views_match_between_twins(
    compiled: ModuleType, pure: ModuleType, make: Any
) -> None:
    """The compiled core builds its views field by field: every observable fact matches the twin."""
    data = make(batch(b"", b"one", b"two" * 50))
    refs = sys.getrefcount(data)
    fast, slow = compiled.split_frames(data), pure.split_frames(data)
    assert [_view_facts(v) for v in fast] == [_view_facts(v) for v in slow]
    assert all(v.obj is s.obj for v, s in zip(fast, slow, strict=True))
    probe = weakref.ref(fast[1])
    assert probe() is fast[1]
    del fast, slow
    assert probe() is None
    assert sys.getrefcount(data) == refs  # every view gave back its reference
    if isinstance(data, bytearray):
        data.append(0)  # and released its export


# ------------------------------------------------------------------ nesting scan


def nest(levels: int, inner: bytes = b"\xc0") -> bytes:
    return b"\x91" * levels + inner


def nested_list(levels: int) -> Any:
    value: Any = None
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("data", "max_depth", "offset"),
    [
        (b"\xc0", 1, None),  # a scalar nests nothing
        (nest(1), 1, None),
        (nest(2), 1, 1),  # the second array starts at byte 1
        (nest(128), 128, None),  # exactly the default bound
        (nest(129), 128, 128),
        (nest(128, b"\x90"), 128, 128),  # an empty container counts too
        (nest(128, b"\x80"), 128, 128),
        (b"\x81\xa1a" * 3 + b"\xc0", 2, 6),  # maps: the value of each pair nests
        (b"\x82\x01\x02\x91\x91\xc0", 2, 4),  # a map's items are counted as pairs
        (b"\xdc\x00\x01" * 3 + b"\xc0", 2, 6),  # array16
        (b"\xdd\x00\x00\x00\x01" * 3 + b"\xc0", 2, 10),  # array32
        (b"\xde\x00\x01\x00" * 3 + b"\xc0", 2, 8),  # map16
        # bin, str and ext bodies are skipped, never read as structure
        (b"\x93\xc4\x03\x91\x91\x91\xa3\x91\x91\x91\xc7\x03\x01\x91\x91\x91", 1, None),
        (b"\x92\xd9\x02\x91\x91\x91\x91\xc0", 2, 6),
        (b"\x91\x91\x91", 1, 1),  # truncated after the bound: still refused
        (b"\x91\xdd\xff\xff\xff\xff\x91", 1, None),  # more items than bytes: the decoder's
        (b"\x91\xc1\x91\x91", 1, None),  # 0xc1 ends the walk: the decoder reports it
        (b"", 1, None),
        (nest(1000), 500, 500),  # a bound beyond the compiled core's on-stack array
    ],
)
def test_check_depth(wirecore: ModuleType, data: bytes, max_depth: int, offset: int | None) -> None:
    if offset is None:
        assert wirecore.check_depth(data, max_depth) is None
        return
    with pytest.raises(NestingTooDeep) as info:
        wirecore.check_depth(memoryview(bytearray(data)), max_depth)
    expected = (offset, f"arrays and maps nest more than {max_depth} deep")
    assert (info.value.offset, info.value.reason) == expected
    assert isinstance(info.value, MalformedPayload)


def test_check_depth_bounds(wirecore: ModuleType) -> None:
    assert wirecore.DEFAULT_MAX_DEPTH == 128
    assert wirecore.check_depth(nest(100_000), None) is None  # off
    for bad in (0, -1):
        with pytest.raises(ValueError, match=f"max_depth must be an integer >= 1, got {bad}"):
            wirecore.check_depth(b"\xc0", bad)
    with pytest.raises(TypeError):
        wirecore.check_depth(b"\xc0", 1.5)


def test_decode_frames_refuses_deep_bodies_before_decoding(wirecore: ModuleType) -> None:
    data = frame(b"\x07") + frame(nest(100_000))
    with pytest.raises(NestingTooDeep) as info:
        wirecore.decode_frames(data, DEC)
    assert info.value.offset == 5 + 4 + 128  # the byte in the batch
    assert wirecore.decode_frames(frame(nest(100)), DEC) == [nested_list(100)]
    assert wirecore.decode_frames(frame(nest(300)), DEC, max_depth=400) == [nested_list(300)]
    assert len(wirecore.decode_frames(frame(nest(200)), DEC, max_depth=None)) == 1


def test_decode_frames_envelopes_applies_the_header_rules(wirecore: ModuleType) -> None:
    good = msgspec.msgpack.encode([4, [1, 4, "c", 0, 0], 7, "ok"])
    four = msgspec.msgpack.encode([4, [1, 4, "c", 0], 7, "ok"])
    data = frame(good) + frame(four)
    assert len(wirecore.decode_frames(data, DEC)) == 2  # a plain batch: any value
    with pytest.raises(MalformedHeader) as info:
        wirecore.decode_frames(data, DEC, envelopes=True)
    assert info.value.offset == 4 + len(good) + 4 + 2  # the header array's byte in the batch
    assert info.value.reason == "header array has 4 elements, expected 5"
    assert wirecore.check_envelope(good) == 1
    with pytest.raises(MalformedHeader):
        wirecore.check_envelope(four)

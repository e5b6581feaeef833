"""Hostile length prefixes and wrong-protocol openers: refused after 4 bytes, nothing allocated.

A peer (or a port scanner, or a misconfigured client speaking TLS or HTTP) can
declare any length in the first 4 bytes. A declared length above the maximum
must raise ``FrameTooLarge`` as soon as those 4 bytes are seen, whatever
follows, without buffering or allocating in proportion to the declared (or the
received) size. A declared length within the maximum but larger than what
arrived is buffered only as far as bytes actually arrive. On the send side, a
frame too large for the limit writes nothing.
"""

from __future__ import annotations

import struct
import tracemalloc
from collections.abc import Callable
from types import ModuleType
from typing import Any

import msgspec
import pytest

from klaw_core.runtime.errors import (
    FrameTooLarge,
    MalformedHeader,
    MalformedPayload,
    TruncatedFrame,
)

DEFAULT_MAX = 16 * 1024 * 1024
PEAK_LIMIT = 64 * 1024

#: Declared lengths at every edge: empty, one byte, the default maximum and one
#: past it, and the signed/unsigned 32-bit edges.
PREFIXES = [0, 1, DEFAULT_MAX, DEFAULT_MAX + 1, 2**31 - 1, 2**31, 2**32 - 1]

#: The first bytes of other protocols, as they would hit a klaw port by mistake.
OPENERS = {
    "tls-client-hello": bytes.fromhex("16030102000100 01fc0303") + bytes(32),
    "http-get": b"GET / HTTP/1.1\r\nHost: klaw\r\n\r\n",
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "ssh": b"SSH-2.0-OpenSSH_9.6\r\n",
    "redis": b"*1\r\n$4\r\nPING\r\n",
    "json": b'{"jsonrpc": "2.0", "method": "ping"}',
}


def peak_of(fn: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``fn``; return (its result or the exception it raised, peak traced bytes)."""
    tracemalloc.start()
    try:
        try:
            result: Any = fn()
        except Exception as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def prefix(size: int) -> bytes:
    return struct.pack(">I", size)


# ------------------------------------------------------------- length prefixes


@pytest.mark.parametrize("declared", PREFIXES)
def test_prefix_alone_split_and_decode(wirecore: ModuleType, declared: int) -> None:
    data = prefix(declared)
    decoder = msgspec.msgpack.Decoder()
    for fn in (
        lambda: wirecore.split_frames(data),
        lambda: wirecore.decode_frames(data, decoder),
    ):
        result, peak = peak_of(fn)
        assert peak < PEAK_LIMIT
        if declared == 0:  # one empty frame; as a payload it holds no MessagePack value
            assert result == [b""] or (isinstance(result, MalformedPayload) and result.offset == 0)
        elif declared <= DEFAULT_MAX:
            assert isinstance(result, TruncatedFrame)
            assert (result.offset, result.reason) == (
                0,
                f"frame declares {declared} bytes, 0 present",
            )
        else:
            assert isinstance(result, FrameTooLarge)
            assert result.offset == 0
            assert str(declared) in result.reason


@pytest.mark.parametrize("declared", PREFIXES)
def test_prefix_fed_byte_by_byte(wirecore: ModuleType, declared: int) -> None:
    """The stream decoder decides on the 4th byte: not before, not after."""
    decoder = wirecore.FrameDecoder()
    data = prefix(declared)
    for count, byte in enumerate(data[:3], start=1):
        assert decoder.feed(bytes([byte])) == []
        assert decoder.pending == count
    if declared > DEFAULT_MAX:
        with pytest.raises(FrameTooLarge) as info:
            decoder.feed(data[3:])
        assert info.value.offset == 0
        with pytest.raises(FrameTooLarge):  # and it stays failed
            decoder.feed(b"")
    elif declared == 0:
        assert decoder.feed(data[3:]) == [b""]
        assert decoder.pending == 0
    else:
        assert decoder.feed(data[3:]) == []
        assert decoder.pending == 4
        with pytest.raises(TruncatedFrame):
            decoder.close()


@pytest.mark.parametrize("declared", [DEFAULT_MAX + 1, 2**31 - 1, 2**31, 2**32 - 1])
def test_too_large_prefix_before_a_big_body_allocates_nothing(
    wirecore: ModuleType, declared: int
) -> None:
    """1 MiB follows the prefix in the same chunk: still refused after 4 bytes, nothing copied."""
    data = prefix(declared) + bytes(1 << 20)
    for fn in (
        lambda: wirecore.split_frames(data),
        lambda: wirecore.decode_frames(data, msgspec.msgpack.Decoder()),
        lambda: wirecore.FrameDecoder().feed(data),
        lambda: wirecore.FrameDecoder().feed(memoryview(data)),
        lambda: wirecore.FrameDecoder().feed(bytearray(data[:8])),
    ):
        error, peak = peak_of(fn)
        assert isinstance(error, FrameTooLarge)
        assert error.offset == 0
        assert peak < PEAK_LIMIT


@pytest.mark.parametrize("declared", [2**31, 2**32 - 1])
def test_huge_allowed_frame_buffers_only_what_arrived(wirecore: ModuleType, declared: int) -> None:
    """With the limit at its maximum a 4 GiB declaration is legal: memory follows the bytes that came."""
    decoder = wirecore.FrameDecoder(max_frame_size=wirecore.MAX_FRAME_SIZE_LIMIT)
    _, peak = peak_of(lambda: decoder.feed(prefix(declared) + b"abc"))
    assert decoder.pending == 7
    assert peak < PEAK_LIMIT
    chunk = bytes(4096)

    def drip() -> None:
        for _ in range(64):  # 256 KiB in 4 KiB chunks
            assert decoder.feed(chunk) == []

    _, peak = peak_of(drip)
    assert decoder.pending == 7 + 64 * 4096
    # Amortised growth: at most about twice what is held, never the declared size.
    assert peak < 3 * decoder.pending
    with pytest.raises(TruncatedFrame) as info:
        decoder.close()
    assert info.value.reason == f"frame declares {declared} bytes, {decoder.pending - 4} present"


def test_frame_at_exactly_the_limit_is_accepted(wirecore: ModuleType) -> None:
    for limit in (0, 1, 255):
        data = wirecore.pack_frame(b"x" * limit, max_frame_size=limit)
        assert [bytes(v) for v in wirecore.split_frames(data, max_frame_size=limit)] == [
            b"x" * limit
        ]
        assert wirecore.FrameDecoder(limit).feed(data) == [b"x" * limit]
        with pytest.raises(FrameTooLarge):
            wirecore.split_frames(wirecore.pack_frame(b"x" * (limit + 1)), max_frame_size=limit)


# -------------------------------------------------------- wrong-protocol openers


@pytest.mark.parametrize("name", sorted(OPENERS))
def test_wrong_protocol_is_refused_after_four_bytes(wirecore: ModuleType, name: str) -> None:
    opener = OPENERS[name] + bytes(64 * 1024)  # and whatever the peer sends next
    declared = struct.unpack(">I", opener[:4])[0]
    assert declared > DEFAULT_MAX  # every one of these openers is a huge "length"
    reason = f"frame declares {declared} bytes, more than the maximum {DEFAULT_MAX}"

    decoder = wirecore.FrameDecoder()
    assert decoder.feed(opener[:3]) == []
    rest = opener[3:]
    error, peak = peak_of(lambda: decoder.feed(rest))
    assert isinstance(error, FrameTooLarge)
    assert (error.offset, error.reason) == (0, reason)
    assert peak < PEAK_LIMIT

    for fn in (
        lambda: wirecore.split_frames(opener),
        lambda: wirecore.decode_frames(opener, msgspec.msgpack.Decoder()),
        lambda: wirecore.FrameDecoder().feed(opener),
    ):
        error, peak = peak_of(fn)
        assert isinstance(error, FrameTooLarge)
        assert (error.offset, error.reason) == (0, reason)
        assert peak < PEAK_LIMIT


@pytest.mark.parametrize("name", sorted(OPENERS))
def test_wrong_protocol_is_not_a_header(wirecore: ModuleType, name: str) -> None:
    with pytest.raises(MalformedHeader) as info:
        wirecore.peek_header(OPENERS[name])
    assert info.value.offset == 0


def test_wrong_protocol_after_good_frames_names_its_offset(wirecore: ModuleType) -> None:
    good = wirecore.pack_frame(msgspec.msgpack.encode([1, [1, 1, "c", 0, 0], None]))
    stream = good * 3 + OPENERS["http-get"]
    decoder = wirecore.FrameDecoder()
    assert len(decoder.feed(stream[: len(good) * 3 + 2])) == 3
    with pytest.raises(FrameTooLarge) as info:
        decoder.feed(stream[len(good) * 3 + 2 :])
    assert info.value.offset == 3 * len(good)
    with pytest.raises(FrameTooLarge) as info:
        wirecore.split_frames(stream)
    assert info.value.offset == 3 * len(good)


# ------------------------------------------------------------------- send side


def test_pack_frame_too_large_writes_nothing(wirecore: ModuleType) -> None:
    with pytest.raises(FrameTooLarge) as info:
        wirecore.pack_frame(b"x" * 100, max_frame_size=99)
    assert info.value.offset == 0
    assert wirecore.pack_frame(b"x" * 99, max_frame_size=99)[:4] == prefix(99)


@pytest.mark.parametrize("pooled", [False, True])
def test_encode_frames_too_large_writes_nothing(wirecore: ModuleType, pooled: bool) -> None:
    """Earlier frames stay, the oversized one leaves no byte behind, the buffer stays usable."""
    encoder = msgspec.msgpack.Encoder()
    pool = wirecore.BufferPool(buffer_size=256)
    buf = pool.acquire() if pooled else bytearray()
    buf += b"previous-content"
    before = bytes(buf)
    small, big = "s" * 10, "b" * 1000
    with pytest.raises(FrameTooLarge) as info:
        wirecore.encode_frames(encoder, [small, big, small], buf, max_frame_size=64)
    first = wirecore.pack_frame(encoder.encode(small))
    assert bytes(buf) == before + first
    assert info.value.offset == len(before) + len(first)
    # Nothing half-written is visible later either: the next frame lands right after.
    wirecore.encode_frames(encoder, [small], buf, max_frame_size=64)
    assert bytes(buf) == before + first + first
    assert [bytes(v) for v in wirecore.split_frames(bytes(buf)[len(before) :])] == [
        encoder.encode(small)
    ] * 2
    if pooled:
        pool.release(buf)
        assert pool.stats().outstanding == 0


def test_encode_frames_unencodable_value_writes_nothing(wirecore: ModuleType) -> None:
    encoder = msgspec.msgpack.Encoder()
    buf = bytearray(b"head")
    with pytest.raises(TypeError):
        wirecore.encode_frames(encoder, [1, object(), 2], buf)
    assert bytes(buf) == b"head" + wirecore.pack_frame(b"\x01")


def test_encode_frames_limit_zero(wirecore: ModuleType) -> None:
    buf = bytearray()
    with pytest.raises(FrameTooLarge):
        wirecore.encode_frames(msgspec.msgpack.Encoder(), [None], buf, max_frame_size=0)
    assert buf == b""

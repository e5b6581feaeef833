"""No leaks on any path: valid input and every class of invalid input, both twins.

A peer that sends garbage forever must not grow our memory. For each input
class (a valid batch, and one input per wire error) every entry point runs
many times; afterwards the process holds no more objects than before (GC-tracked
objects, and ``sys.getallocatedblocks()``, which also counts bytes, str, int and
memoryview objects): less than one per hundred calls, so a leak of even one
small object per call fails. The reference counts of the shared objects (the
decoders, the exception and result classes, the input itself, ``b""``) come
back exactly, and a ``bytearray`` input is left resizable (no export leaked,
in particular not through an exception's traceback).

Default: 1,000 rounds per (input class, twin) and input type (bytes, bytearray),
each round calling all 13 entry points: 26,000 calls per class and twin, 470,000
in all; ``-m slow``: 10,000 rounds (260,000 calls per class and twin).
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import msgspec
import pytest

from klaw_core._wiretypes import HeaderPeek
from klaw_core.runtime.channels.codec import CodecPool
from klaw_core.runtime.channels.schema import SchemaRegistry
from klaw_core.runtime.channels.wire import DataMessage, WireEnvelope, WireHeader
from klaw_core.runtime.errors import (
    FrameTooLarge,
    KlawWireError,
    MalformedHeader,
    MalformedPayload,
    PayloadValidationError,
    TruncatedFrame,
    UnknownSchemaVersion,
)

POOL = CodecPool()
REGISTRY = SchemaRegistry()
REGISTRY.register(1, WireEnvelope)
TYPED = POOL.decoder_for(DataMessage[list[int]])


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def envelope(value: Any) -> bytes:
    return msgspec.msgpack.encode(value)


VALID = b"".join(
    frame(envelope(m))
    for m in (
        DataMessage.new([1, 2, 3], channel_id="jobs", seq=1, ts=0),
        DataMessage.new([], channel_id="jobs", seq=4),
        DataMessage.new([2**63], channel_id="a-channel-name-too-long-to-be-cached-" * 3, ts=0),
    )
)

#: One input per ending; the name says which error the frame paths must raise.
INPUTS: dict[str, tuple[bytes, type[KlawWireError] | None]] = {
    "valid": (VALID, None),
    "too-large": (VALID + b"GET / HTTP/1.1\r\n", FrameTooLarge),
    "truncated": (VALID + frame(envelope([1, [1, 1, "c", 0, 0], None]))[:-3], TruncatedFrame),
    "bad-header": (frame(envelope([1, {"version": 1}, None])), MalformedHeader),
    "bad-msgpack": (frame(b"\x93\x01\x95\x01\x01\xa1c\x00\x00\xc1"), MalformedPayload),
    "bad-utf8": (frame(b"\x93\x03\x95\x01\x03\xa1c\x00\x00\xa2\xff\xfe"), MalformedPayload),
    "wrong-type": (frame(envelope([9, [1, 9, "c", 0, 0], None])), PayloadValidationError),
    "unknown-version": (frame(envelope([1, [7, 1, "c", 0, 0], None])), UnknownSchemaVersion),
    "nesting-bomb": (
        frame(b"\x93\x01\x95\x01\x01\xa1c\x00\x00" + b"\x91" * 3000 + b"\xc0"),
        MalformedPayload,
    ),
}


def entry_points(twin: ModuleType, data: Any) -> list[Callable[[], Any]]:
    """Every wire entry point, on ``data`` (a batch) and on its first frame's body."""
    body = bytes(data[4 : 4 + int.from_bytes(data[:4], "big")])

    def stream() -> list[bytes]:
        decoder = twin.FrameDecoder()
        cut = len(data) // 2
        frames = decoder.feed(data[:cut]) + decoder.feed(data[cut:])
        decoder.close()
        return frames

    reused = twin.FrameDecoder()

    def stream_reused() -> list[bytes]:
        decoder = reused
        decoder.reset()
        frames = decoder.feed(data)
        decoder.close()
        return frames

    return [
        lambda: twin.split_frames(data),
        lambda: twin.decode_frames(data, POOL.envelope_decoder),
        lambda: twin.decode_frames(data, TYPED),
        stream,
        stream_reused,
        lambda: twin.peek_header(body),
        lambda: twin.peek_version(memoryview(data)[4:]),
        lambda: POOL.decode(body),
        lambda: POOL.decode_frames(data),
        lambda: REGISTRY.decode(body),
        lambda: REGISTRY.decode_frames(data),
        lambda: twin.pack_frame(body),
        lambda: twin.encode_frames(POOL.encoder, [body, 1, "x"]),
    ]


def one_round(calls: list[Callable[[], Any]]) -> int:
    errors = 0
    for call in calls:
        try:
            call()
        except KlawWireError:
            errors += 1
    return errors


SHARED = [
    POOL.envelope_decoder,
    TYPED,
    POOL.encoder,
    HeaderPeek,
    DataMessage,
    WireHeader,
    FrameTooLarge,
    TruncatedFrame,
    MalformedHeader,
    MalformedPayload,
    PayloadValidationError,
    UnknownSchemaVersion,
    RecursionError,
    msgspec.ValidationError,
    msgspec.DecodeError,
    memoryview,
    b"",
]
# b"" is one object for the whole process: any other thread (Ray's heartbeat
# and gRPC threads, alive after an earlier Ray test) moves its count too.
PROCESS_WIDE = (b"",)


def census() -> tuple[int, int]:
    gc.collect()
    return len(gc.get_objects()), sys.getallocatedblocks()


def check_no_leak(twin: ModuleType, name: str, rounds: int) -> None:
    raw, expected = INPUTS[name]
    for data in (raw, bytearray(raw)):
        calls = entry_points(twin, data)
        errors = one_round(calls)
        assert (errors > 0) == (expected is not None)
        for _ in range(200):  # warm caches (decoder cache, channel-id cache, free lists)
            one_round(calls)
        watched = [*SHARED, data]
        objects, blocks = census()  # collect first: cyclic garbage may hold references
        refs = [sys.getrefcount(obj) for obj in watched]
        for _ in range(rounds):
            one_round(calls)
        objects_after, blocks_after = census()
        calls_made = rounds * len(calls)
        assert objects_after - objects < calls_made / 100, (
            f"{objects_after - objects} GC objects leaked"
        )
        assert blocks_after - blocks < calls_made / 100, (
            f"{blocks_after - blocks} memory blocks leaked"
        )
        after = [sys.getrefcount(obj) for obj in watched]
        moved = [i for i, (a, b) in enumerate(zip(refs, after, strict=True)) if a != b]
        if threading.active_count() > 1:  # other threads touch the process-wide objects
            moved = [i for i in moved if not any(watched[i] is o for o in PROCESS_WIDE)]
        assert not moved, f"a shared object's refcount moved: {[watched[i] for i in moved]}"
        if isinstance(data, bytearray):
            data += b"\x00"  # BufferError if any view of it is still alive
            del data[-1]


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_no_leak(wirecore: ModuleType, name: str) -> None:
    check_no_leak(wirecore, name, 1_000)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_no_leak_100k(wirecore: ModuleType, name: str) -> None:
    check_no_leak(wirecore, name, 10_000)  # x2 inputs x 13 entry points: 260,000 calls


def test_error_path_releases_a_bytearray_immediately(wirecore: ModuleType) -> None:
    """A handled wire error leaves no live view of a bytearray input (no GC needed)."""
    gc.disable()
    try:
        for raw, _ in INPUTS.values():
            data = bytearray(raw)
            for call in entry_points(wirecore, data):
                with contextlib.suppress(KlawWireError):
                    call()
                data += b"\x00"  # would raise BufferError while an exception holds a view
                del data[-1]
    finally:
        gc.enable()

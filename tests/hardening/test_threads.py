"""Eight threads share one CodecPool, one SchemaRegistry and one BufferPool.

Each thread does round trips: lease a buffer from the shared pool, encode a
batch of envelopes of its own (its channel id, its sequence numbers) into it,
then decode the bytes through every shared path (the codec, the registry, the
wire core's ``decode_frames``, ``split_frames`` + ``peek_header``, a
``FrameDecoder``) and check that it got back exactly its own messages, and
release the buffer. The switch interval is cut to 10 µs so that threads
interleave inside these calls. Required: no error in any thread, every message
back intact (the compiled peek's channel-id cache is shared by all threads),
and exact pool accounting: every acquire released, and never more buffers
created than threads.

Default: 8 threads x 2,000 round trips per twin; ``-m slow``: 8 x 10,000.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from klaw_core.runtime.channels.codec import CodecPool
from klaw_core.runtime.channels.schema import SchemaRegistry
from klaw_core.runtime.channels.wire import Ack, DataMessage, Heartbeat, WireEnvelope

THREADS = 8


@pytest.fixture
def fast_switching() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(previous)


def round_trips(
    twin: ModuleType,
    codec: CodecPool[Any],
    registry: SchemaRegistry,
    buffers: Any,
    index: int,
    count: int,
    errors: list[BaseException],
) -> None:
    channel = f"thread-{index}" + "-x" * index  # differing lengths and contents
    try:
        for k in range(count):
            messages = [
                DataMessage.new([index, k, *range(k % 7)], channel_id=channel, seq=k, ts=k),
                Heartbeat.new(channel, channel_id=channel, seq=k, ts=k),
                Ack.new(k, "ok", channel_id=channel, seq=k, ts=k),
            ]
            with buffers.lease() as buf:
                codec.encode_frames(messages, buf)
                data = bytes(buf)
            decoded = codec.decode_frames(data)
            assert [m.header for m in decoded] == [m.header for m in messages]
            assert codec.decode_payload(decoded[0].payload, list[int]) == messages[0].payload
            assert decoded[1:] == messages[1:]
            assert registry.decode_frames(data) == decoded
            assert twin.decode_frames(data, codec.envelope_decoder) == decoded
            frames = twin.split_frames(data)
            assert [twin.peek_header(f).channel_id for f in frames] == [channel] * 3
            assert [twin.peek_header(f).seq for f in frames] == [k] * 3
            stream = twin.FrameDecoder()
            assert stream.feed(data[: k % len(data)]) + stream.feed(data[k % len(data) :]) == [
                bytes(f) for f in frames
            ]
    except BaseException as exc:
        errors.append(exc)


def run_threads(twin: ModuleType, count: int) -> None:
    codec: CodecPool[Any] = CodecPool()
    registry = SchemaRegistry()
    registry.register(1, WireEnvelope)
    buffers = twin.BufferPool(buffer_size=256, max_pool=THREADS)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(
            target=round_trips, args=(twin, codec, registry, buffers, i, count, errors)
        )
        for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    stats = buffers.stats()
    total = THREADS * count
    assert stats.outstanding == 0
    assert stats.created + stats.reused == total
    assert stats.released == total
    assert stats.created <= THREADS  # never more buffers than could be out at once
    assert stats.dropped == 0
    assert stats.in_pool == stats.created


@pytest.mark.usefixtures("fast_switching")
def test_threads_share_codec_registry_and_pool(wirecore: ModuleType) -> None:
    run_threads(wirecore, 2_000)


@pytest.mark.slow
@pytest.mark.usefixtures("fast_switching")
def test_threads_share_codec_registry_and_pool_10k(wirecore: ModuleType) -> None:
    run_threads(wirecore, 10_000)

"""Wire core hot paths, compiled vs pure (same group, ``twin`` parameter)."""

from __future__ import annotations

from types import ModuleType

import msgspec
import pytest

from _workloads import BATCH, Order
from klaw_core.runtime.channels.wire import DataMessage

DECODER = msgspec.msgpack.Decoder(DataMessage[Order])


@pytest.mark.benchmark(group="split_frames (1,000 frames)")
def test_split_frames(benchmark, twin: ModuleType, batch: bytes) -> None:
    frames = benchmark(twin.split_frames, batch)
    assert len(frames) == BATCH


@pytest.mark.benchmark(group="FrameDecoder.feed (1,000 frames in 4 KiB chunks)")
def test_feed(benchmark, twin: ModuleType, batch: bytes) -> None:
    chunks = [batch[i : i + 4096] for i in range(0, len(batch), 4096)]

    def feed() -> int:
        decoder = twin.FrameDecoder()
        return sum(len(decoder.feed(chunk)) for chunk in chunks)

    assert benchmark(feed) == BATCH


@pytest.mark.benchmark(group="peek_header (small envelope)")
def test_peek_header(benchmark, twin: ModuleType, encoder, envelopes) -> None:
    data = encoder.encode(envelopes[0])
    peek = benchmark(twin.peek_header, data)
    assert (peek.tag, peek.seq) == (1, 0)


@pytest.mark.benchmark(group="decode_frames (1,000 frames)")
def test_decode_frames(benchmark, twin: ModuleType, batch: bytes) -> None:
    out = benchmark(twin.decode_frames, batch, DECODER)
    assert len(out) == BATCH


@pytest.mark.benchmark(group="encode_frames (1,000 envelopes, pooled buffer)")
def test_encode_frames(benchmark, twin: ModuleType, encoder, envelopes, batch: bytes) -> None:
    pool = twin.BufferPool(buffer_size=256 * 1024, max_pool=2)

    def encode() -> int:
        buf = pool.acquire()
        twin.encode_frames(encoder, envelopes, buf)
        size = len(buf)
        pool.release(buf)
        return size

    assert benchmark(encode) == len(batch)


@pytest.mark.benchmark(group="BufferPool acquire + release")
def test_pool_cycle(benchmark, twin: ModuleType) -> None:
    pool = twin.BufferPool()

    def cycle() -> None:
        pool.release(pool.acquire())

    benchmark(cycle)
    assert pool.stats().outstanding == 0

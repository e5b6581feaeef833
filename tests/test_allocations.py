"""Allocation counts of the codec-level encode path (tracemalloc: counts, never times).

``tests/test_buffer_pool.py`` already shows that the raw wire-core cycle
(``BufferPool`` + ``encode_frames`` with a bare msgspec encoder) allocates
nothing. These tests cover what channels actually run: the process-wide
``get_codec_pool()`` / ``get_buffer_pool()`` pair encoding real wire envelopes,
and they count, per steady-state cycle, whether anything was allocated:

- ``acquire -> CodecPool.encode_frames -> release`` allocates nothing (compiled);
- ``acquire -> CodecPool.encode_into -> release`` allocates nothing (compiled);
- the pool makes the difference: the same cycles without it (a fresh buffer,
  or ``CodecPool.encode`` returning ``bytes``) allocate on every cycle.

How a cycle is counted: after a warm-up, tracemalloc is started (so anything
allocated *or reallocated* from then on is traced), the traced peak is reset
before each cycle, and the cycle counts as allocating when the peak rises above
the level an empty cycle reaches. Blocks (re)allocated by the cycles and still
alive at the end are counted as well: a buffer that msgspec shrinks and grows
back in place may leave the peak unchanged, but it is re-traced by the realloc.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

import msgspec
import pytest

import klaw_core
from klaw_core.runtime.channels.codec import get_buffer_pool, get_codec_pool
from klaw_core.runtime.channels.wire import Ack, ControlMessage, DataMessage, Heartbeat

# tracemalloc counts: a coverage tracer would add allocations of its own.
pytestmark = pytest.mark.untraced

compiled_only = pytest.mark.skipif(
    klaw_core.IMPLEMENTATION != "cython",
    reason="only the compiled BufferPool keeps a buffer's memory (the pure twin documents that)",
)

ROUNDS = 300


class Order(msgspec.Struct, frozen=True, gc=False):
    order_id: int
    symbol: str
    quantity: int
    price: float


def _envelopes() -> list[object]:
    """One of each common envelope, with headers and payloads of realistic size."""
    return [
        DataMessage.new(
            Order(7, "KLAW", 100, 101.25), channel_id="orders", seq=7, ts=1_700_000_000_000
        ),
        DataMessage.new(
            {"note": "x" * 300, "n": 1}, channel_id="orders", seq=8, ts=1_700_000_000_001
        ),
        ControlMessage.new(
            "resize", metadata={"capacity": 64}, channel_id="orders", ts=1_700_000_000_002
        ),
        Heartbeat.new("worker-1", ts=1_700_000_000_003),
        Ack.new(41, channel_id="orders", ts=1_700_000_000_004),
    ]


def count_allocations(cycle: Callable[[], object], rounds: int = ROUNDS) -> tuple[int, int]:
    """Run ``cycle`` ``rounds`` times after a warm-up.

    Returns:
        (cycles during which something was allocated, blocks allocated or
        reallocated by the cycles and still alive at the end).
    """
    for _ in range(20):
        cycle()
    gc.collect()
    gc.disable()
    tracemalloc.start(1)
    try:
        # The level an empty cycle reaches: the harness's own small objects.
        floor = 0
        for _ in range(rounds):
            start = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            floor = max(floor, tracemalloc.get_traced_memory()[1] - start)
        allocating = 0
        for _ in range(rounds):
            start = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            cycle()
            if tracemalloc.get_traced_memory()[1] - start > floor:
                allocating += 1
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
        gc.enable()
    lines = {line for _, _, line in cycle.__code__.co_lines() if line is not None}
    here = cycle.__code__.co_filename
    alive = sum(
        1
        for trace in snapshot.traces
        if any(
            (f.filename == here and f.lineno in lines) or f.filename != __file__
            for f in trace.traceback
        )
        and not any(f.filename == tracemalloc.__file__ for f in trace.traceback)
    )
    return allocating, alive


def test_counter_sees_an_allocation() -> None:
    """The harness itself: a cycle that allocates is counted on every round."""
    sink: list[bytearray] = []

    def cycle() -> None:
        sink.append(bytearray(64))
        sink.pop()

    allocating, _ = count_allocations(cycle, rounds=50)
    assert allocating == 50


def test_counter_sees_a_kept_allocation() -> None:
    kept: list[bytes] = []

    def cycle() -> None:
        kept.append(bytes(range(200)))

    _, alive = count_allocations(cycle, rounds=50)
    assert alive >= 50


@compiled_only
def test_pooled_encode_frames_allocates_nothing() -> None:
    codec, pool = get_codec_pool(), get_buffer_pool()
    messages = _envelopes()
    expected = bytes(codec.encode_frames(messages))

    def cycle() -> None:
        buf = pool.acquire()
        codec.encode_frames(messages, buf)
        if len(buf) != len(expected):
            raise AssertionError("wrong batch")
        pool.release(buf)

    assert count_allocations(cycle) == (0, 0)
    with pool.lease() as buf:  # and the bytes are right
        assert bytes(codec.encode_frames(messages, buf)) == expected


@compiled_only
def test_pooled_encode_frames_of_a_large_batch_allocates_nothing() -> None:
    codec, pool = get_codec_pool(), get_buffer_pool()
    messages = [
        DataMessage.new(Order(i, "KLAW", i % 7, 100.0 + i), channel_id="orders", seq=i, ts=i)
        for i in range(1000)
    ]

    def cycle() -> None:
        buf = pool.acquire()
        codec.encode_frames(messages, buf)
        pool.release(buf)

    assert count_allocations(cycle, rounds=50) == (0, 0)


@compiled_only
def test_pooled_codec_encode_into_allocates_nothing() -> None:
    """msgspec's own ``encode_into`` would shrink the pooled buffer and grow it back
    (two reallocs per call); ``CodecPool.encode_into`` must not."""
    codec, pool = get_codec_pool(), get_buffer_pool()
    message = _envelopes()[0]
    expected = codec.encode(message)

    def cycle() -> None:
        buf = pool.acquire()
        written = codec.encode_into(message, buf)
        if written != len(expected):
            raise AssertionError("wrong size")
        pool.release(buf)

    assert count_allocations(cycle) == (0, 0)


@compiled_only
def test_pool_removes_the_allocation_of_every_cycle() -> None:
    """The same encode with and without the pool: every cycle allocates without it."""
    codec, pool = get_codec_pool(), get_buffer_pool()
    messages = _envelopes()

    def pooled() -> None:
        buf = pool.acquire()
        codec.encode_frames(messages, buf)
        pool.release(buf)

    def fresh_buffer() -> None:
        codec.encode_frames(messages, bytearray())

    def fresh_bytes() -> None:
        for message in messages:
            codec.encode(message)

    with_pool = count_allocations(pooled)
    without = count_allocations(fresh_buffer)
    as_bytes = count_allocations(fresh_bytes)
    assert with_pool == (0, 0)
    assert without[0] == ROUNDS
    assert as_bytes[0] == ROUNDS

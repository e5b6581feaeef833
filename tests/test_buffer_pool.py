"""BufferPool, both twins: reuse, exact stats, ownership rules, exported views,
threads; and, for the compiled twin, kept capacity and a zero-allocation steady
state measured with tracemalloc (counting allocations, not time)."""

from __future__ import annotations

import itertools
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from types import ModuleType

import msgspec
import pytest

pytestmark = pytest.mark.untraced  # tracemalloc counts; a coverage tracer would add its own

ENC = msgspec.msgpack.Encoder()


def test_acquire_returns_an_empty_bytearray(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool()
    buf = pool.acquire()
    assert type(buf) is bytearray
    assert len(buf) == 0
    assert pool.buffer_size == 4096
    assert pool.max_pool == 64


def test_release_then_acquire_reuses_the_same_buffer_emptied(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool(buffer_size=128)
    buf = pool.acquire()
    buf += b"stale data"
    pool.release(buf)
    again = pool.acquire()
    assert again is buf
    assert len(again) == 0


def test_stats_are_exact(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool(buffer_size=16, max_pool=2)
    a, b, c = pool.acquire(), pool.acquire(), pool.acquire()
    s = pool.stats()
    assert (s.created, s.reused, s.released, s.dropped, s.in_pool, s.outstanding) == (
        3,
        0,
        0,
        0,
        0,
        3,
    )
    pool.release(a)
    pool.release(b)
    pool.release(c)  # pool full: dropped
    s = pool.stats()
    assert (s.created, s.reused, s.released, s.dropped, s.in_pool, s.outstanding) == (
        3,
        0,
        3,
        1,
        2,
        0,
    )
    d = pool.acquire()
    assert d is b  # last in, first out
    s = pool.stats()
    assert (s.created, s.reused, s.released, s.dropped, s.in_pool, s.outstanding) == (
        3,
        1,
        3,
        1,
        1,
        1,
    )
    assert (s.buffer_size, s.max_pool) == (16, 2)
    assert "in_pool=1" in repr(pool)
    assert "outstanding=1" in repr(pool)


def test_stats_identical_in_both_twins(compiled: ModuleType, pure: ModuleType) -> None:
    def script(w: ModuleType) -> list[object]:
        pool = w.BufferPool(buffer_size=8, max_pool=1)
        seen = []
        bufs = [pool.acquire() for _ in range(3)]
        view = memoryview(bufs[0])
        for buf in bufs:
            pool.release(buf)
            seen.append(pool.stats())
        view.release()
        with pool.lease():
            seen.append(pool.stats())
        seen.append(pool.stats())
        return seen

    assert script(compiled) == script(pure)


def test_max_pool_zero_keeps_nothing(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool(max_pool=0)
    buf = pool.acquire()
    pool.release(buf)
    assert pool.acquire() is not buf
    assert pool.stats().dropped == 1


def test_foreign_buffer_is_rejected(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool()
    with pytest.raises(ValueError, match="not acquired from this pool"):
        pool.release(bytearray(10))
    other = wirecore.BufferPool()
    with pytest.raises(ValueError, match="not acquired from this pool"):
        pool.release(other.acquire())
    assert pool.stats().released == 0


def test_double_release_is_rejected(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool()
    buf = pool.acquire()
    pool.release(buf)
    with pytest.raises(ValueError, match="already released"):
        pool.release(buf)
    s = pool.stats()
    assert (s.released, s.in_pool, s.outstanding) == (1, 1, 0)


@pytest.mark.parametrize("bad", [b"bytes", memoryview(bytearray(4)), None, "str"])
def test_non_bytearray_is_a_type_error(wirecore: ModuleType, bad: object) -> None:
    with pytest.raises(TypeError, match="bytearray"):
        wirecore.BufferPool().release(bad)


def test_bytearray_subclass_is_a_type_error(wirecore: ModuleType) -> None:
    class Sub(bytearray):
        pass

    with pytest.raises(TypeError):
        wirecore.BufferPool().release(Sub())


def test_buffer_with_live_view_is_never_reissued(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool()
    buf = pool.acquire()
    buf += b"secret"
    view = memoryview(buf)
    pool.release(buf)  # accepted, but dropped: the view must not see new data
    s = pool.stats()
    assert (s.released, s.dropped, s.in_pool, s.outstanding) == (1, 1, 0, 0)
    again = pool.acquire()
    assert again is not buf
    again += b"other"
    assert bytes(view) == b"secret"
    view.release()
    with pytest.raises(ValueError):
        pool.release(buf)  # released once already


def test_lease_releases_on_exit_and_on_error(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool()
    with pool.lease() as buf:
        buf += b"x"
        assert pool.stats().outstanding == 1
    assert pool.stats().in_pool == 1
    with pytest.raises(RuntimeError), pool.lease() as buf2:
        assert buf2 is buf
        raise RuntimeError("boom")
    assert pool.stats().outstanding == 0
    assert pool.stats().in_pool == 1


def test_lease_is_single_use_at_a_time(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool()
    lease = pool.lease()
    with lease, pytest.raises(RuntimeError, match="already in use"), lease:
        pass
    with lease:  # reusable once exited
        pass
    assert pool.stats().outstanding == 0


@pytest.mark.parametrize(("size", "count"), [(-1, 1), (1, -1)])
def test_negative_arguments(wirecore: ModuleType, size: int, count: int) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        wirecore.BufferPool(size, count)


def test_buffer_size_zero(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool(buffer_size=0)
    buf = pool.acquire()
    buf += b"grows"
    pool.release(buf)
    assert len(pool.acquire()) == 0


def test_buffer_with_shifted_start_is_reusable(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool(buffer_size=64)
    buf = pool.acquire()
    buf += b"0123456789"
    del buf[:5]  # CPython moves the start pointer
    pool.release(buf)
    again = pool.acquire()
    assert again is buf
    assert len(again) == 0
    again += b"abc"
    assert bytes(wirecore.encode_frames(ENC, [1], again)) == b"abc\x00\x00\x00\x01\x01"


def test_threads_never_share_a_buffer(wirecore: ModuleType) -> None:
    pool = wirecore.BufferPool(buffer_size=32, max_pool=4)
    errors: list[str] = []
    rounds = 2000

    def worker(tag: bytes) -> None:
        for _ in range(rounds):
            buf = pool.acquire()
            if len(buf) != 0:
                errors.append("non-empty buffer handed out")
            buf += tag * 8
            if bytes(buf) != tag * 8:
                errors.append("buffer shared between threads")
            pool.release(buf)

    threads = [threading.Thread(target=worker, args=(bytes([65 + i]),)) for i in range(6)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert errors == []
    s = pool.stats()
    assert s.created + s.reused == 6 * rounds == s.released
    assert s.outstanding == 0
    assert s.in_pool + s.dropped == s.created


# ------------------------------------------------- compiled twin: memory behaviour


def test_compiled_pool_keeps_capacity(compiled: ModuleType) -> None:
    pool = compiled.BufferPool(buffer_size=4096)
    buf = pool.acquire()
    assert sys.getsizeof(buf) >= 4096  # bytearray.__sizeof__ counts its allocation
    # (Growing an empty 4 KiB buffer by less than half its allocation would let
    # CPython's bytearray itself shrink it: its "major downsize" rule.)
    buf += b"x" * 3000
    pool.release(buf)
    again = pool.acquire()
    assert again is buf
    assert len(again) == 0
    assert sys.getsizeof(again) >= 4096  # emptied without freeing


def test_pure_pool_reuses_objects_not_memory(pure: ModuleType) -> None:
    # Python can only empty a bytearray by freeing it: documented difference.
    pool = pure.BufferPool(buffer_size=4096)
    buf = pool.acquire()
    pool.release(buf)
    assert pool.acquire() is buf


def _allocations_during(cycle: Callable[[], None], rounds: int = 500) -> tuple[int, int]:
    """Run ``cycle`` ``rounds`` times after a warm-up, under tracemalloc.

    Returns (bytes by which the traced peak rose, blocks allocated or
    reallocated during the loop and still alive). The peak catches anything
    allocated and freed again; a realloc re-attributes its block to the line
    that caused it, so a resized buffer is caught by the traceback filter.
    """
    for _ in range(20):
        cycle()

    def steady(it: Iterator[None]) -> None:
        for _ in it:  # iterating an existing iterator allocates nothing
            cycle()

    lines = {line for _, _, line in steady.__code__.co_lines() if line is not None}
    it = itertools.repeat(None, rounds)
    tracemalloc.start(25)
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        steady(it)
        _, peak = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    during = [
        trace
        for trace in snapshot.traces
        if any(frame.filename == __file__ and frame.lineno in lines for frame in trace.traceback)
    ]
    return peak - base, len(during)


def test_compiled_acquire_release_allocates_nothing(compiled: ModuleType) -> None:
    pool = compiled.BufferPool()

    def cycle() -> None:
        buf = pool.acquire()
        pool.release(buf)

    assert _allocations_during(cycle) == (0, 0)


class Envelope(msgspec.Struct, array_like=True):
    tag: int
    header: tuple[int, int, str, int, int]
    payload: dict[str, object]


def test_compiled_encode_into_pooled_buffer_allocates_nothing(compiled: ModuleType) -> None:
    """acquire -> encode (msgspec ``encode_into`` via ``encode_frames``) -> release."""
    pool = compiled.BufferPool()
    msg = Envelope(1, (1, 1, "orders", 7, 1_700_000_000_000), {"order_id": 7, "note": "x" * 300})
    messages = [msg]
    expected = compiled.pack_frame(ENC.encode(msg))

    def cycle() -> None:
        buf = pool.acquire()
        compiled.encode_frames(ENC, messages, buf)
        pool.release(buf)

    assert _allocations_during(cycle) == (0, 0)
    buf = pool.acquire()
    assert sys.getsizeof(buf) >= 4096  # msgspec did not shrink the pooled buffer
    compiled.encode_frames(ENC, messages, buf)
    assert bytes(buf) == expected


def test_compiled_batch_into_pooled_buffer_allocates_nothing(compiled: ModuleType) -> None:
    pool = compiled.BufferPool(buffer_size=64 * 1024)
    messages = [[i, "x" * (i % 50)] for i in range(200)]

    def cycle() -> None:
        buf = pool.acquire()
        compiled.encode_frames(ENC, messages, buf)
        pool.release(buf)

    assert _allocations_during(cycle, rounds=50) == (0, 0)


def test_allocation_probe_sees_allocations(compiled: ModuleType) -> None:
    """The probe itself can fail: a cycle that allocates is reported."""
    pool = compiled.BufferPool()
    keep: list[bytes] = []

    def cycle() -> None:
        buf = pool.acquire()
        ENC.encode_into("y" * 500, buf, 4)  # msgspec shrinks, then regrows the buffer
        keep.append(bytes(4))
        pool.release(buf)

    peak, blocks = _allocations_during(cycle, rounds=20)
    assert peak > 0
    assert blocks > 0

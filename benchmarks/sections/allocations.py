"""Steady-state allocations of the pooled encode paths, counted with tracemalloc (``alloc.*``).

Reported with the ``codec`` section; the counter is the one of
``tests/test_allocations.py``, so the figure and the unit test agree.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import klaw_core
from _report import Figure
from _workloads import make_envelopes
from klaw_core.runtime.channels.codec import CodecPool


def _allocation_counter() -> Callable[[Callable[[], object]], tuple[int, int]]:
    """The counter of ``tests/test_allocations.py``: the figure and the unit test agree."""
    tests = Path(__file__).resolve().parents[2] / "tests"
    sys.path.insert(0, str(tests))
    try:
        from test_allocations import count_allocations
    finally:
        sys.path.remove(str(tests))
    return count_allocations


def figures(core: ModuleType) -> list[Figure]:
    """Steady-state acquire -> encode -> release, counted with tracemalloc.

    Each path runs 300 cycles after a warm-up; a cycle counts as allocating when
    tracemalloc's peak rises during it, and blocks (re)allocated by the cycles
    and still alive are counted too (a pooled buffer shrunk and grown back in
    place leaves the peak alone but is re-traced by the realloc).
    """
    count = _allocation_counter()
    message = make_envelopes(1)[0]
    codec: CodecPool[Any] = CodecPool()
    pool = core.BufferPool(buffer_size=4096, max_pool=4)
    one = [message]
    encoder = codec.encoder

    def frames() -> None:
        b = pool.acquire()
        codec.encode_frames(one, b)
        pool.release(b)

    def encode_into() -> None:
        b = pool.acquire()
        codec.encode_into(message, b)
        pool.release(b)

    def msgspec_encode_into() -> None:
        b = pool.acquire()
        encoder.encode_into(message, b)
        pool.release(b)

    def fresh() -> None:
        codec.encode_frames(one, bytearray())

    def as_bytes() -> None:
        codec.encode(message)

    paths = {
        "pooled CodecPool.encode_frames": frames,
        "pooled CodecPool.encode_into": encode_into,
        "pooled msgspec Encoder.encode_into": msgspec_encode_into,
        "fresh bytearray + encode_frames": fresh,
        "CodecPool.encode (bytes)": as_bytes,
    }
    measured = {name: count(fn) for name, fn in paths.items()}
    compiled = klaw_core.IMPLEMENTATION == "cython"
    values = {
        k: {"allocating_cycles": v[0], "blocks_alive": v[1], "cycles": 300}
        for k, v in measured.items()
    }

    def text(name: str) -> str:
        cycles, alive = measured[name]
        return f"{cycles}/300 cycles allocate, {alive} block(s) re-traced"

    out: list[Figure] = []
    for key, name in (
        ("encode_frames", "pooled CodecPool.encode_frames"),
        ("encode_into", "pooled CodecPool.encode_into"),
    ):
        out.append(
            Figure(
                f"alloc.{key}",
                f"steady state acquire -> {name.split()[-1]} -> release ({klaw_core.IMPLEMENTATION}), tracemalloc",
                text(name),
                "0 allocations (compiled)",
                measured[name] == (0, 0) if compiled else None,
                values,
            )
        )
    for key, name in (
        ("msgspec_encode_into", "pooled msgspec Encoder.encode_into"),
        ("fresh_bytearray", "fresh bytearray + encode_frames"),
        ("encode_bytes", "CodecPool.encode (bytes)"),
    ):
        out.append(
            Figure(
                f"alloc.compare.{key}",
                f"for comparison: {name}",
                text(name),
                "",
                None,
                values,
            )
        )
    return out

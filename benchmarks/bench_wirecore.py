"""Compiled vs pure wire core, side by side.

Run: ``python benchmarks/bench_wirecore.py`` (``--quick`` for a short run).

Method: every figure is the best of several ``timeit`` repeats, compiled and
pure (or compiled and bare loop) timed alternately, in one
process, on the same inputs, with the garbage collector left on (the list of
results is freed inside each timed call, as in real use). The workload is a
batch of 1,000 envelope-shaped messages of ~60 bytes each. Ratios are pure
time / compiled time, except for ``decode_frames`` vs bare loop, which is
compiled ``decode_frames`` time / a bare ``[decoder.decode(b) for b in bodies]``
over the same, already split, bytes (target <= 1.05).

Targets (DEVELOPERS.md): compiled >= 10x pure for split_frames,
FrameDecoder.feed and peek_header; decode_frames <= 1.05x the bare loop; peek
cost independent of payload size. Nothing here asserts a number: it prints.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import sys
import timeit
import tracemalloc
from collections.abc import Callable
from types import ModuleType
from typing import Any

import Cython
import msgspec

from klaw_core import _wirecore_c as compiled
from klaw_core import _wirecore_py as pure

ENC = msgspec.msgpack.Encoder()
DEC = msgspec.msgpack.Decoder()
N = 1000


def messages(n: int = N) -> list[Any]:
    return [
        [1, [1, 1, f"orders-{i % 4}", i, 1_700_000_000_000 + i], {"order_id": i, "qty": i % 7}]
        for i in range(n)
    ]


def interleaved(
    a: Callable[[], object], b: Callable[[], object], number: int, repeat: int
) -> tuple[float, float]:
    """Best seconds per call of ``a`` and of ``b``, timed alternately so that a
    burst of load on a shared machine hits both sides alike."""
    ta = tb = float("inf")
    for _ in range(repeat):
        ta = min(ta, timeit.timeit(a, number=number) / number)
        tb = min(tb, timeit.timeit(b, number=number) / number)
    return ta, tb


def row(name: str, unit: str, c: float, p: float, per: int, note: str = "") -> None:
    c_ns, p_ns = c / per * 1e9, p / per * 1e9
    print(f"{name:<34} {c_ns:>10.1f} {p_ns:>10.1f} {p / c:>7.1f}x  {unit:<10} {note}")


def msgpack_header(envelope: bytes) -> list[Any]:
    """The tag and header of an encoded envelope, as values."""
    decoded = msgspec.msgpack.decode(envelope)
    return [decoded[0], decoded[1]]


def bench(repeat: int, scale: float) -> None:
    msgs = messages()
    batch = bytes(pure.encode_frames(ENC, msgs))
    bodies = [bytes(v) for v in pure.split_frames(batch)]
    env = bodies[0]
    big_env = ENC.encode([*msgpack_header(env), b"\x00" * (1 << 20)])
    chunks = [batch[i : i + 4096] for i in range(0, len(batch), 4096)]

    def number(base: int) -> int:
        return max(1, int(base * scale))

    print(f"{'operation':<34} {'compiled':>10} {'pure':>10} {'ratio':>8}  unit")
    print("-" * 90)

    def pair(fn: Callable[[ModuleType], Callable[[], object]], n: int) -> tuple[float, float]:
        return interleaved(fn(compiled), fn(pure), n, repeat)

    c, p = pair(lambda w: lambda: w.split_frames(batch), number(200))
    row("split_frames (1000 frames)", "ns/frame", c, p, N, "target >= 10x")
    c, p = pair(lambda w: lambda: w.FrameDecoder().feed(batch), number(200))
    row("FrameDecoder.feed (whole batch)", "ns/frame", c, p, N, "target >= 10x")

    def fed_in_chunks(w: ModuleType) -> Callable[[], object]:
        def run() -> None:
            dec = w.FrameDecoder()
            for chunk in chunks:
                dec.feed(chunk)

        return run

    c, p = pair(fed_in_chunks, number(200))
    row("FrameDecoder.feed (4 KiB chunks)", "ns/frame", c, p, N, "target >= 10x")
    c, p = pair(lambda w: lambda: w.peek_header(env), number(100_000))
    row(f"peek_header ({len(env)} B envelope)", "ns/call", c, p, 1, "target >= 10x")
    c2, p2 = pair(lambda w: lambda: w.peek_header(big_env), number(100_000))
    row(
        "peek_header (same, 1 MiB payload)",
        "ns/call",
        c2,
        p2,
        1,
        f"vs small: {c2 / c:.2f}x compiled",
    )
    c, p = pair(lambda w: lambda: w.decode_frames(batch, DEC), number(100))
    row("decode_frames (1000 frames)", "ns/frame", c, p, N)
    c, bare = interleaved(
        lambda: compiled.decode_frames(batch, DEC),
        lambda: [DEC.decode(b) for b in bodies],
        number(100),
        repeat,
    )
    print(
        f"{'  vs bare [decode(b) for b in ...]':<34} {c / N * 1e9:>10.1f} {bare / N * 1e9:>10.1f} "
        f"{c / bare:>7.2f}x  ns/frame   decode_frames / bare loop (timed together), target <= 1.05"
    )
    c, p = pair(lambda w: lambda: w.encode_frames(ENC, msgs), number(100))
    row("encode_frames (1000 msgs, new buf)", "ns/frame", c, p, N)
    c, bare = interleaved(
        lambda: compiled.encode_frames(ENC, msgs),
        lambda: [ENC.encode(m) for m in msgs],
        number(100),
        repeat,
    )
    print(
        f"{'  vs bare [encode(m) for m in ...]':<34} {c / N * 1e9:>10.1f} {bare / N * 1e9:>10.1f} "
        f"{c / bare:>7.2f}x  ns/frame   encode_frames / bare loop without framing (timed together)"
    )

    def pooled_encode(w: ModuleType) -> Callable[[], object]:
        pool = w.BufferPool(buffer_size=128 * 1024)

        def run() -> None:
            buf = pool.acquire()
            w.encode_frames(ENC, msgs, buf)
            pool.release(buf)

        return run

    c, p = pair(pooled_encode, number(100))
    row("encode_frames (1000 msgs, pooled)", "ns/frame", c, p, N)

    def pool_cycle(w: ModuleType) -> Callable[[], object]:
        pool = w.BufferPool()

        def run() -> None:
            pool.release(pool.acquire())

        return run

    c, p = pair(pool_cycle, number(200_000))
    row("BufferPool acquire+release", "ns/cycle", c, p, 1)
    c, p = pair(lambda w: lambda: w.pack_frame(env), number(200_000))
    row("pack_frame", "ns/call", c, p, 1)


def allocations(cycle: Callable[[], None], rounds: int = 200) -> int:
    """Blocks (re)allocated during ``rounds`` steady-state cycles and still alive."""
    for _ in range(10):
        cycle()

    def steady(it: Any) -> None:
        for _ in it:
            cycle()

    lines = {line for _, _, line in steady.__code__.co_lines() if line is not None}
    it = itertools.repeat(None, rounds)
    tracemalloc.start(25)
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    steady(it)
    _, peak = tracemalloc.get_traced_memory()
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    moved = sum(
        1
        for t in snap.traces
        if any(f.filename == __file__ and f.lineno in lines for f in t.traceback)
    )
    return moved + (peak > base)


def memory_notes() -> None:
    msg = messages(1)[0]
    one = [msg]
    print()
    print("Steady-state allocations, compiled pool (tracemalloc; 0 = none):")
    pool = compiled.BufferPool()

    def bare() -> None:
        buf = pool.acquire()
        ENC.encode_into(msg, buf, 4)
        pool.release(buf)

    def framed() -> None:
        buf = pool.acquire()
        compiled.encode_frames(ENC, one, buf)
        pool.release(buf)

    print(f"  acquire -> encode_frames(enc, [msg], buf) -> release: {allocations(framed)}")
    print(
        f"  acquire -> enc.encode_into(msg, buf, 4) -> release:    {allocations(bare)} "
        "(msgspec 0.22 resizes the buffer to max(8, 1.5*needed) at each overflow; "
        "CPython reallocates a request below half the allocation)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller counts")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()} ({sys.implementation.name}), msgspec {msgspec.__version__}, "
        f"Cython {Cython.__version__}, {platform.machine()} {platform.system()}"
    )
    print(
        f"batch: {N} envelope-shaped messages, {len(pure.encode_frames(ENC, messages())) // N} bytes/frame"
    )
    print()
    bench(repeat=3 if args.quick else 7, scale=0.1 if args.quick else 1.0)
    memory_notes()


if __name__ == "__main__":
    main()

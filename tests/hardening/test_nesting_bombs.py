"""Huge declared sizes and nesting bombs inside small, valid frames.

The frame is fine; its payload lies. A container or string may declare 2**32 - 1
items in five bytes (``dd ff ff ff ff``), and a few hundred kilobytes of
``0x91`` nest a hundred thousand arrays. Every decode path (codec, envelope
view, ``decode_frames`` of both twins with the envelope and the typed decoders
of a Ray receiver, the schema registry) must answer with a clear
``KlawWireError``, within bounded memory, identically in both twins, and never
with a ``RecursionError``, a ``MemoryError`` or a crash.

What msgspec does: it checks that the input holds at least one byte per
declared item before allocating (so huge declarations cost nothing), and it
guards recursion with ``Py_EnterRecursiveCall``, which counts Python's
recursion limit, not the C stack: on Python < 3.14 a thread with a small stack
(musl's default is 128 KiB) overflows from about 440 levels, before the guard
fires (msgspec/msgspec#1033). So the wire core bounds the nesting first, with a
non-recursive scan (``check_depth``, ``DEFAULT_MAX_DEPTH`` = 128): every decode
path refuses a deeper value with ``NestingTooDeep`` before msgspec sees it, in
both twins alike; ``test_bomb_in_a_small_stack_thread`` runs the bombs in a
128 KiB thread.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

import klaw_core._wirecore_c as C
import klaw_core._wirecore_py as P
from klaw_core._env import env_flag
from klaw_core.runtime.channels.codec import CodecPool
from klaw_core.runtime.channels.schema import SchemaRegistry
from klaw_core.runtime.channels.views import decode_envelope_view
from klaw_core.runtime.channels.wire import DataMessage, WireEnvelope
from klaw_core.runtime.errors import KlawWireError, MalformedPayload, NestingTooDeep

POOL = CodecPool()
REGISTRY = SchemaRegistry()
REGISTRY.register(1, WireEnvelope)
PEAK_LIMIT = 256 * 1024

#: Containers, strings, binaries and extensions declaring far more than follows.
HUGE = {
    "array16": b"\xdc\xff\xff",
    "array32": b"\xdd\xff\xff\xff\xff",
    "map16": b"\xde\xff\xff",
    "map32": b"\xdf\xff\xff\xff\xff",
    "str8": b"\xd9\xff",
    "str16": b"\xda\xff\xff",
    "str32": b"\xdb\xff\xff\xff\xff",
    "bin8": b"\xc4\xff",
    "bin16": b"\xc5\xff\xff",
    "bin32": b"\xc6\xff\xff\xff\xff",
    "ext8": b"\xc7\xff\x01",
    "ext16": b"\xc8\xff\xff\x01",
    "ext32": b"\xc9\xff\xff\xff\xff\x01",
    "array32-of-nil": b"\xdd\x7f\xff\xff\xff" + b"\xc0" * 64,
    "map32-of-nil": b"\xdf\x7f\xff\xff\xff" + b"\xc0" * 64,
}

#: One nesting level of each bomb: array of 1, map {0: ...}, map {"a": ...}, array16 of 1.
BOMB_UNITS = {
    "array": b"\x91",
    "map": b"\x81\x00",
    "map-str": b"\x81\xa1a",
    "array16": b"\xdc\x00\x01",
}


def header(kind: int) -> bytes:
    """``[version 1, kind, "c", seq 0, ts 0]``."""
    return bytes([0x95, 0x01, kind, 0xA1, ord("c"), 0x00, 0x00])


#: Where the hostile value sits in an envelope.
PLACES: dict[str, Callable[[bytes], bytes]] = {
    "data-payload": lambda x: b"\x93\x01" + header(1) + x,
    "control-metadata": lambda x: b"\x94\x02" + header(2) + b"\xa1a" + x,
    "error-details": lambda x: b"\x95\x05" + header(5) + b"\xa1c\xa1m" + x,
    "heartbeat-sender": lambda x: b"\x93\x03" + header(3) + x,
    "channel-id": lambda x: b"\x93\x01\x95\x01\x01" + x + b"\x00\x00\xc0",
    "whole-body": lambda x: x,
}

ENVELOPE_PATHS: dict[str, Callable[[bytes], Any]] = {
    "CodecPool.decode": POOL.decode,
    "SchemaRegistry.decode": REGISTRY.decode,
    "decode_envelope_view": decode_envelope_view,
}

#: Decoders the framed paths use: the envelope union and the typed batches of Ray receivers.
FRAME_DECODERS = {
    "envelope": POOL.envelope_decoder,
    "ray-any": POOL.decoder_for(DataMessage[list[Any]]),
    "ray-int": POOL.decoder_for(DataMessage[list[int]]),
}


def outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    """Run ``fn`` under tracemalloc; return its outcome and the peak traced bytes.

    Only a ``KlawWireError`` may escape ``fn``: anything else fails the test here.
    """
    tracemalloc.start()
    try:
        try:
            fn()
            result: tuple[Any, ...] = ("ok",)
        except KlawWireError as exc:
            result = ("err", type(exc), exc.offset, exc.reason)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result == ("ok",) or result[3], "a wire error must say what is wrong"
    return result, peak


def check_all_paths(body: bytes) -> dict[str, tuple[Any, ...]]:
    """Every decode path on ``body`` (alone and framed); both twins must agree."""
    results: dict[str, tuple[Any, ...]] = {}
    frame = P.pack_frame(body)
    for name, fn in ENVELOPE_PATHS.items():
        result, peak = outcome(lambda fn=fn: fn(body))
        assert peak < PEAK_LIMIT, (name, peak)
        results[name] = result
    for name, decoder in FRAME_DECODERS.items():
        compiled, peak_c = outcome(lambda d=decoder: C.decode_frames(frame, d))
        pure, peak_p = outcome(lambda d=decoder: P.decode_frames(frame, d))
        assert compiled == pure, name
        assert max(peak_c, peak_p) < PEAK_LIMIT, (name, peak_c, peak_p)
        results[f"decode_frames[{name}]"] = compiled
    for name, fn in {
        "CodecPool.decode_frames": POOL.decode_frames,
        "SchemaRegistry.decode_frames": REGISTRY.decode_frames,
    }.items():
        result, peak = outcome(lambda fn=fn: fn(frame))
        assert peak < PEAK_LIMIT, (name, peak)
        results[name] = result
    return results


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("declared", sorted(HUGE))
def test_huge_declarations_fail_cleanly(place: str, declared: str) -> None:
    body = PLACES[place](HUGE[declared] + b"\x00\x01\x02")
    results = check_all_paths(body)
    for name, result in results.items():
        assert result[0] == "err", (name, "a truncated value must not decode")


@pytest.mark.parametrize("unit", sorted(BOMB_UNITS))
@pytest.mark.parametrize("depth", [1_000, 10_000, 100_000])
@pytest.mark.parametrize(
    "place", ["data-payload", "control-metadata", "error-details", "whole-body"]
)
def test_nesting_bombs_fail_cleanly(unit: str, depth: int, place: str) -> None:
    body = PLACES[place](BOMB_UNITS[unit] * depth + b"\xc0")
    results = check_all_paths(body)
    for name, result in results.items():
        assert result[0] == "err", name
        # A payload problem, or for a whole-body bomb a header the peek refuses.
        assert place == "whole-body" or issubclass(result[1], MalformedPayload), (name, result)


def test_deep_nesting_is_refused_before_decoding() -> None:
    """The scan refuses the bomb where its 129th container starts; msgspec never recurses."""
    body = PLACES["data-payload"](b"\x91" * 100_000 + b"\xc0")
    payload_at = len(PLACES["data-payload"](b""))
    too_deep = payload_at + 127  # the envelope is level 1, the payload's arrays 2, 3, ...
    frame = P.pack_frame(body)
    for fn, offset in (
        (lambda: POOL.decode(body), too_deep),
        (lambda: REGISTRY.decode(body), too_deep),
        (lambda: decode_envelope_view(body), too_deep),
        (lambda: C.decode_frames(frame, POOL.envelope_decoder), 4 + too_deep),
        (lambda: P.decode_frames(frame, POOL.envelope_decoder), 4 + too_deep),
        (lambda: POOL.decode_frames(frame), 4 + too_deep),
        (lambda: REGISTRY.decode_frames(frame), 4 + too_deep),
        (lambda: POOL.decode_payload(body[payload_at:], Any), 128),
    ):
        with pytest.raises(NestingTooDeep) as info:
            fn()
        assert info.value.offset == offset
        assert info.value.reason == "arrays and maps nest more than 128 deep"
        assert not isinstance(info.value.__cause__, RecursionError)  # refused by the scan


def test_the_depth_bound_is_a_setting() -> None:
    deep: Any = None
    for _ in range(200):
        deep = [deep]
    body = PLACES["data-payload"](msgspec.msgpack.encode(deep))
    with pytest.raises(NestingTooDeep):
        POOL.decode_frames(P.pack_frame(body))
    roomy = CodecPool(max_depth=512)
    [message] = roomy.decode_frames(P.pack_frame(body))
    assert roomy.decode_payload(message.payload, Any) == deep
    unbounded = CodecPool(max_depth=None)
    assert unbounded.decode_payload(message.payload, Any) == deep
    with pytest.raises(ValueError, match="max_depth must be an integer >= 1"):
        CodecPool(max_depth=0)


def test_bomb_in_a_header_field_is_refused_by_the_peek() -> None:
    for twin in (C, P):
        body = PLACES["channel-id"](b"\x91" * 100_000)
        with pytest.raises(KlawWireError) as info:
            twin.peek_header(body)
        assert type(info.value).__name__ == "MalformedHeader"
        assert info.value.offset == 5


def test_moderate_nesting_still_decodes() -> None:
    """The guard refuses bombs, not ordinary nested data."""
    value: Any = None
    for _ in range(100):
        value = [value]
    body = PLACES["data-payload"](msgspec.msgpack.encode(value))
    message = POOL.decode(body)
    assert POOL.decode_payload(message.payload, Any) == value
    for twin in (C, P):
        [decoded] = twin.decode_frames(P.pack_frame(body), FRAME_DECODERS["envelope"])
        assert decoded == message


def at_stack_depth(headroom: int, fn: Callable[[], Any]) -> Any:
    """Call ``fn`` with only about ``headroom`` frames left below the recursion limit."""
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]

    def dive(n: int) -> Any:
        return fn() if n <= 0 else dive(n - 1)

    return dive(sys.getrecursionlimit() - depth - headroom)


@pytest.mark.parametrize(
    "path",
    [
        lambda body: POOL.decode(body),
        lambda body: REGISTRY.decode(body),
        lambda body: decode_envelope_view(body),
        lambda body: C.decode_frames(P.pack_frame(body), POOL.envelope_decoder),
        lambda body: P.decode_frames(P.pack_frame(body), POOL.envelope_decoder),
    ],
    ids=["codec", "registry", "view", "compiled-frames", "pure-frames"],
)
def test_little_stack_left_gives_a_wire_error(path: Callable[[bytes], Any]) -> None:
    """Deep in the caller's stack, msgspec's guard fires early: still a wire error, never RecursionError.

    The value nests 100 levels (within ``DEFAULT_MAX_DEPTH``), so the scan lets
    it through and msgspec's recursion guard meets the caller's deep stack.
    """
    body = PLACES["data-payload"](b"\x91" * 100 + b"\xc0")

    def attempt() -> str:
        try:
            path(body)
        except MalformedPayload as exc:
            return type(exc.__cause__).__name__
        return "decoded"

    assert at_stack_depth(60, attempt) == "RecursionError"
    assert attempt() == "decoded"


BOMB_SCRIPT = """
import sys, threading
from typing import Any
import klaw_core
from klaw_core.runtime.channels.codec import CodecPool
from klaw_core.runtime.channels.framing import pack_frame
from klaw_core.runtime.channels.schema import SchemaRegistry
from klaw_core.runtime.channels.wire import WireEnvelope
from klaw_core.runtime.errors import MalformedPayload
pool = CodecPool()
registry = SchemaRegistry()
registry.register(1, WireEnvelope)
bomb = {unit!r} * {depth} + b"\\xc0"
envelope = b"\\x93\\x01\\x95\\x01\\x01\\xa1c\\x00\\x00" + bomb
paths = {{
    "decode_payload": lambda: pool.decode_payload(bomb, list[Any]),
    "decode_payload(Any)": lambda: pool.decode_payload(bomb, Any),
    "decode": lambda: pool.decode(envelope),
    "decode_frames": lambda: pool.decode_frames(pack_frame(envelope)),
    "decode_frames(Any)": lambda: pool.decode_frames(pack_frame(bomb), Any),
    "registry": lambda: registry.decode(envelope),
}}
def run():
    for name, path in paths.items():
        try:
            path()
            print(name, "decoded")
        except MalformedPayload as exc:
            print(name, type(exc).__name__)
{setup}
print(klaw_core.IMPLEMENTATION)
"""


def run_bomb_script(
    depth: int, setup: str, unit: bytes = b"\x91", **env: str
) -> subprocess.CompletedProcess[str]:
    script = BOMB_SCRIPT.format(depth=depth, unit=unit, setup=textwrap.dedent(setup))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KLAW_")} | env
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environ,
    )


def refused_everywhere(implementation: str) -> str:
    lines = [
        f"{name} NestingTooDeep"
        for name in (
            "decode_payload",
            "decode_payload(Any)",
            "decode",
            "decode_frames",
            "decode_frames(Any)",
            "registry",
        )
    ]
    return "\n".join([*lines, implementation])


TWINS = [
    pytest.param({"KLAW_REQUIRE_EXTENSIONS": "1"}, "cython", id="compiled"),
    pytest.param({"KLAW_NO_EXTENSIONS": "1"}, "python", id="pure"),
]


@pytest.mark.parametrize(("env", "implementation"), TWINS)
def test_bomb_in_the_main_thread_with_the_default_limit(
    env: dict[str, str], implementation: str
) -> None:
    """A million levels, the default recursion limit: refused, and the process lives."""
    if implementation == "cython" and env_flag("KLAW_NO_EXTENSIONS"):
        pytest.skip("compiled wire core not wanted in this run (KLAW_NO_EXTENSIONS=1)")
    done = run_bomb_script(1_000_000, "run()", **env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == refused_everywhere(implementation)


@pytest.mark.parametrize(("env", "implementation"), TWINS)
@pytest.mark.parametrize("stack_kib", [128, 256])
@pytest.mark.parametrize(
    "unit", [b"\x91", b"\x81\xa1a", b"\xdc\x00\x01"], ids=["array", "map", "array16"]
)
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_bomb_in_a_small_stack_thread(
    env: dict[str, str], implementation: str, stack_kib: int, unit: bytes, depth: int
) -> None:
    """msgspec alone dies from ~440 levels in a 128 KiB thread (msgspec#1033); the scan refuses first."""
    if implementation == "cython" and env_flag("KLAW_NO_EXTENSIONS"):
        pytest.skip("compiled wire core not wanted in this run (KLAW_NO_EXTENSIONS=1)")
    done = run_bomb_script(
        depth,
        f"""
        threading.stack_size({stack_kib} * 1024)
        t = threading.Thread(target=run)
        t.start()
        t.join()
        """,
        unit,
        **env,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip() == refused_everywhere(implementation)


def test_without_the_scan_msgspec_crashes_a_small_stack_thread() -> None:
    """Why the scan exists: the same bomb, the bound turned off, kills the process (not a test of klaw)."""
    if sys.version_info >= (3, 14):
        pytest.skip("Python 3.14 checks the C stack itself")
    script = """
import threading
from typing import Any
from klaw_core.runtime.channels.codec import CodecPool
pool = CodecPool(max_depth=None)
def run():
    try:
        pool.decode_payload(b"\\x91" * 1000 + b"\\xc0", list[Any])
    except Exception:
        pass
threading.stack_size(128 * 1024)
t = threading.Thread(target=run)
t.start()
t.join()
print("survived")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode != 0

"""``encode_into``: msgspec's ``Encoder.encode_into`` with a size, an append mode,
a zero-filled gap, and (compiled) no allocation on a pooled buffer."""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Callable, Iterator
from types import ModuleType

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from klaw_core import _wirecore
from klaw_core.runtime.channels.codec import CodecPool
from klaw_core.runtime.channels.wire import DataMessage

pytestmark = pytest.mark.untraced  # tracemalloc counts; a coverage tracer would add its own

ENC = msgspec.msgpack.Encoder()


class _NotMsgspec:
    """An encoder that is not msgspec's: gets the plain call in both twins."""

    def encode_into(self, obj: object, buffer: bytearray, offset: int = 0, /) -> None:
        ENC.encode_into(obj, buffer, offset)


@pytest.mark.parametrize("encoder", [ENC, _NotMsgspec()], ids=["msgspec", "other"])
@pytest.mark.parametrize(
    ("initial", "offset", "expected"),
    [
        (b"head", 4, b"head\x92\x01\x02"),
        (b"head", -1, b"head\x92\x01\x02"),
        (b"head", 0, b"\x92\x01\x02"),
        (b"head", 2, b"he\x92\x01\x02"),
        (b"ab", 5, b"ab\x00\x00\x00\x92\x01\x02"),
        (b"", 0, b"\x92\x01\x02"),
    ],
)
def test_encode_into_writes_at_offset_and_returns_size(
    wirecore: ModuleType, encoder: object, initial: bytes, offset: int, expected: bytes
) -> None:
    buf = bytearray(initial)
    assert wirecore.encode_into(encoder, [1, 2], buf, offset) == 3
    assert bytes(buf) == expected


def test_encode_into_rejects_bad_arguments(wirecore: ModuleType) -> None:
    with pytest.raises(TypeError, match="bytearray"):
        wirecore.encode_into(ENC, 1, b"bytes")
    with pytest.raises(ValueError, match="below -1"):
        wirecore.encode_into(ENC, 1, bytearray(), -2)


def test_encode_into_failure_leaves_buffer_ending_at_offset(wirecore: ModuleType) -> None:
    buf = bytearray(b"keep-this")
    with pytest.raises(TypeError):
        wirecore.encode_into(ENC, object(), buf, 4)
    assert bytes(buf) == b"keep"


def test_encode_into_refuses_an_exported_buffer(wirecore: ModuleType) -> None:
    buf = bytearray(b"x" * 64)
    view = memoryview(buf)
    with pytest.raises(BufferError):
        wirecore.encode_into(ENC, "y" * 200, buf, 0)
    view.release()


@given(
    prefix=st.binary(max_size=64),
    offset=st.integers(min_value=-1, max_value=96),
    value=st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text() | st.binary(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    ),
)
def test_twins_write_identical_bytes(
    compiled: ModuleType, pure: ModuleType, prefix: bytes, offset: int, value: object
) -> None:
    a, b = bytearray(prefix), bytearray(prefix)
    assert compiled.encode_into(ENC, value, a, offset) == pure.encode_into(ENC, value, b, offset)
    assert a == b


def _peak_during(cycle: Callable[[], None], rounds: int = 2000) -> int:
    for _ in range(50):
        cycle()

    def steady(it: Iterator[None]) -> None:
        for _ in it:
            cycle()

    it = itertools.repeat(None, rounds)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        steady(it)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


def test_compiled_pooled_codec_encode_into_allocates_nothing(compiled: ModuleType) -> None:
    """The DEVELOPERS.md target: steady-state acquire -> encode_into -> release."""
    if _wirecore.IMPLEMENTATION != "cython":
        pytest.skip("CodecPool runs the pure twin (KLAW_NO_EXTENSIONS=1)")
    pool = compiled.BufferPool()
    encode_into = CodecPool().encode_into
    msg = DataMessage.new(b"x" * 100, channel_id="bench", seq=1, ts=1)
    acquire, release = pool.acquire, pool.release

    def cycle() -> None:
        buf = acquire()
        encode_into(msg, buf, 4)
        release(buf)

    assert _peak_during(cycle) == 0


def test_compiled_bare_encode_into_on_pooled_buffer_allocates_nothing(compiled: ModuleType) -> None:
    pool = compiled.BufferPool()
    msg = DataMessage.new(b"x" * 100, channel_id="bench", seq=1, ts=1)
    acquire, release, encode_into = pool.acquire, pool.release, compiled.encode_into

    def cycle() -> None:
        buf = acquire()
        encode_into(ENC, msg, buf, 4)
        release(buf)

    assert _peak_during(cycle) == 0

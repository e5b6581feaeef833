"""Differential property tests: the compiled and the pure twin must agree.

Frames made by one twin are split, decoded and peeked by the other; random and
mutated bytes (bit flips, truncations, edited length prefixes, inserted
garbage) give identical results, or the same exception class, offset and
message in both, and never an exception outside ``KlawWireError``.
``peek_header`` also agrees with a full ``msgspec.msgpack.decode``.

The default run is quick; ``-m slow`` runs the same properties much longer.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable
from types import ModuleType
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klaw_core._wiretypes import HeaderPeek
from klaw_core.runtime.errors import KlawWireError

ENC = msgspec.msgpack.Encoder()
DEC = msgspec.msgpack.Decoder()

QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ strategies

ints = st.integers(min_value=-(2**63), max_value=2**64 - 1)
texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=20)
values = st.recursive(
    st.none() | st.booleans() | ints | st.floats(allow_nan=False) | texts | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
bodies = st.lists(st.binary(max_size=200), max_size=12)

_INT_CODES = {
    "u8": (0xCC, ">B", 0, 2**8 - 1),
    "u16": (0xCD, ">H", 0, 2**16 - 1),
    "u32": (0xCE, ">I", 0, 2**32 - 1),
    "u64": (0xCF, ">Q", 0, 2**64 - 1),
    "i8": (0xD0, ">b", -(2**7), 2**7 - 1),
    "i16": (0xD1, ">h", -(2**15), 2**15 - 1),
    "i32": (0xD2, ">i", -(2**31), 2**31 - 1),
    "i64": (0xD3, ">q", -(2**63), 2**63 - 1),
}


@st.composite
def mp_ints(draw: st.DrawFn) -> tuple[int, bytes]:
    """An integer and one of its valid MessagePack encodings (any width that fits)."""
    value = draw(ints)
    widths = [name for name, (_, _, lo, hi) in _INT_CODES.items() if lo <= value <= hi]
    if -32 <= value <= 127:
        widths.append("fix")
    width = draw(st.sampled_from(widths))
    if width == "fix":
        return value, struct.pack(">b" if value < 0 else ">B", value)
    code, fmt, _, _ = _INT_CODES[width]
    return value, bytes([code]) + struct.pack(fmt, value)


@st.composite
def mp_strs(draw: st.DrawFn) -> tuple[str, bytes]:
    text = draw(texts)
    raw = text.encode()
    options = ["s8", "s16", "s32"] + (["fix"] if len(raw) < 32 else [])
    width = draw(st.sampled_from(options))
    if width == "fix":
        return text, bytes([0xA0 | len(raw)]) + raw
    code, fmt = {"s8": (0xD9, ">B"), "s16": (0xDA, ">H"), "s32": (0xDB, ">I")}[width]
    return text, bytes([code]) + struct.pack(fmt, len(raw)) + raw


@st.composite
def mp_arrays(draw: st.DrawFn, count: int) -> bytes:
    choices = ["a16", "a32"] + (["fix"] if count < 16 else [])
    width = draw(st.sampled_from(choices))
    if width == "fix":
        return bytes([0x90 | count])
    return (
        b"\xdc" + struct.pack(">H", count) if width == "a16" else b"\xdd" + struct.pack(">I", count)
    )


@st.composite
def envelopes(draw: st.DrawFn) -> tuple[HeaderPeek, bytes]:
    """A well-formed envelope with random encodings of every header field."""
    tag, tag_raw = draw(mp_ints())
    version, version_raw = draw(mp_ints())
    kind_raw = draw(mp_ints().filter(lambda pair: pair[0] == tag) | st.just((tag, tag_raw)))[1]
    channel, channel_raw = draw(mp_strs())
    seq, seq_raw = draw(mp_ints())
    ts, ts_raw = draw(mp_ints())
    rest = draw(st.lists(values, max_size=3))
    data = (
        draw(mp_arrays(2 + len(rest)))
        + tag_raw
        + draw(mp_arrays(5))
        + version_raw
        + kind_raw
        + channel_raw
        + seq_raw
        + ts_raw
        + b"".join(ENC.encode(v) for v in rest)
    )
    return HeaderPeek(tag, version, tag, channel, seq, ts), data


@st.composite
def mutated(draw: st.DrawFn, data: bytes, prefixes: list[int] | None = None) -> bytes:
    """``data`` with a few random edits."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "prefix", "insert", "byte"]))
        if op == "flip" and out:
            i = draw(st.integers(0, len(out) - 1))
            out[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate" and out:
            del out[draw(st.integers(0, len(out) - 1)) :]
        elif op == "prefix" and prefixes:
            at = draw(st.sampled_from(prefixes))
            if at + 4 <= len(out):
                out[at : at + 4] = draw(st.binary(min_size=4, max_size=4))
        elif op == "insert":
            i = draw(st.integers(0, len(out)))
            out[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "byte" and out:
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


def frame_starts(body_list: list[bytes]) -> list[int]:
    starts, pos = [], 0
    for body in body_list:
        starts.append(pos)
        pos += 4 + len(body)
    return starts


def batch(body_list: list[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(b)) + b for b in body_list)


# --------------------------------------------------------------------- outcome


def normalise(result: Any) -> Any:
    if isinstance(result, list):
        return [normalise(item) for item in result]
    if isinstance(result, memoryview):
        return ("view", result.tobytes())
    return result


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """("ok", result) or ("error", class, offset, message); anything else fails."""
    try:
        result = fn(*args)
    except KlawWireError as exc:
        return ("error", type(exc), exc.offset, str(exc))
    except Exception as exc:  # pragma: no cover - a failure of the test subject
        pytest.fail(f"{type(exc).__name__} escaped {fn!r}: {exc}")
    return ("ok", normalise(result))


def stream_outcome(
    wirecore: ModuleType, data: bytes, cuts: list[int], max_size: int
) -> tuple[Any, ...]:
    """Feed ``data`` cut at ``cuts``; record frames, the first error, pending, close()."""
    dec = wirecore.FrameDecoder(max_size)
    frames: list[bytes] = []
    points = [0, *sorted(c for c in cuts if 0 < c < len(data)), len(data)]
    for a, b in itertools.pairwise(points):
        result = outcome(dec.feed, data[a:b])
        if result[0] == "error":
            again = outcome(dec.feed, b"")
            assert again == result  # failed until reset
            return ("error", frames, result, dec.pending)
        frames += result[1]
    return ("ok", frames, dec.pending, outcome(dec.close))


# ---------------------------------------------------------------- properties


def check_same_everywhere(
    compiled: ModuleType, pure: ModuleType, data: bytes, max_size: int
) -> None:
    for name in ("split_frames",):
        assert outcome(getattr(compiled, name), data, max_size) == outcome(
            getattr(pure, name), data, max_size
        )
    assert outcome(compiled.decode_frames, data, DEC, max_size) == outcome(
        pure.decode_frames, data, DEC, max_size
    )
    assert outcome(compiled.peek_header, data) == outcome(pure.peek_header, data)
    assert outcome(compiled.peek_version, data) == outcome(pure.peek_version, data)
    assert outcome(compiled.decode_frames, data, DEC, max_size, 3, True) == outcome(
        pure.decode_frames, data, DEC, max_size, 3, True
    )
    for max_depth in (1, 2, 3, 128):
        assert outcome(compiled.check_depth, data, max_depth) == outcome(
            pure.check_depth, data, max_depth
        )
        assert outcome(compiled.check_envelope, data, max_depth) == outcome(
            pure.check_envelope, data, max_depth
        )


@QUICK
@given(messages=st.lists(values, max_size=10))
def test_frames_cross_twins(compiled: ModuleType, pure: ModuleType, messages: list[Any]) -> None:
    made_c = bytes(compiled.encode_frames(ENC, messages))
    made_p = bytes(pure.encode_frames(ENC, messages))
    assert made_c == made_p
    expected = [ENC.encode(m) for m in messages]
    for maker, reader in ((compiled, pure), (pure, compiled)):
        data = bytes(maker.encode_frames(ENC, messages))
        assert [bytes(v) for v in reader.split_frames(data)] == expected
        assert reader.decode_frames(data, DEC) == messages
        assert reader.FrameDecoder().feed(data) == expected
    assert b"".join(compiled.pack_frame(e) for e in expected) == made_c


@QUICK
@given(body_list=bodies, data=st.data(), max_size=st.sampled_from([0, 16, 200, 2**24]))
def test_mutated_batches_agree(
    compiled: ModuleType,
    pure: ModuleType,
    body_list: list[bytes],
    data: st.DataObject,
    max_size: int,
) -> None:
    raw = data.draw(mutated(batch(body_list), frame_starts(body_list)))
    check_same_everywhere(compiled, pure, raw, max_size)


@QUICK
@given(raw=st.binary(max_size=300))
def test_random_bytes_agree(compiled: ModuleType, pure: ModuleType, raw: bytes) -> None:
    check_same_everywhere(compiled, pure, raw, 2**24)
    check_same_everywhere(compiled, pure, raw, 64)


@QUICK
@given(body_list=bodies, data=st.data())
def test_frame_decoder_any_chunking(
    compiled: ModuleType, pure: ModuleType, body_list: list[bytes], data: st.DataObject
) -> None:
    stream = batch(body_list)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    for twin in (compiled, pure):
        assert stream_outcome(twin, stream, cuts, 2**24) == ("ok", body_list, 0, ("ok", None))
        assert stream_outcome(twin, stream, [], 2**24) == stream_outcome(
            twin, stream, list(range(len(stream))), 2**24
        )


@QUICK
@given(body_list=bodies, data=st.data(), max_size=st.sampled_from([0, 16, 200, 2**24]))
def test_frame_decoder_mutated_streams_agree(
    compiled: ModuleType,
    pure: ModuleType,
    body_list: list[bytes],
    data: st.DataObject,
    max_size: int,
) -> None:
    raw = data.draw(mutated(batch(body_list), frame_starts(body_list)))
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=10))
    result = stream_outcome(compiled, raw, cuts, max_size)
    assert result == stream_outcome(pure, raw, cuts, max_size)
    # A stream that fails fails the same way whatever the cuts, at the same offset.
    whole = stream_outcome(compiled, raw, [], max_size)
    assert whole[0] == result[0]
    if result[0] == "error":
        assert whole[2] == result[2]
    else:
        assert whole == result


def agree_with_msgspec(peek: tuple[Any, ...], data: bytes) -> None:
    try:
        full = msgspec.msgpack.decode(data)
    except (ValueError, RecursionError):  # whatever msgspec raises on bad bytes
        return
    shaped = (
        type(full) is list
        and len(full) >= 2
        and type(full[0]) is int
        and type(full[1]) is list
        and len(full[1]) == 5
        and all(type(full[1][i]) is int for i in (0, 1, 3, 4))
        and type(full[1][2]) is str
        and full[1][1] == full[0]
    )
    if shaped:
        # Whenever the full decode finds a valid header, the peek finds the same.
        tag, (version, kind, channel, seq, ts) = full[0], full[1]
        assert peek == ("ok", HeaderPeek(tag, version, kind, channel, seq, ts))
    else:
        assert peek[0] == "error"


@QUICK
@given(envelope=envelopes())
def test_peek_agrees_with_full_decode(
    compiled: ModuleType, pure: ModuleType, envelope: tuple[HeaderPeek, bytes]
) -> None:
    expected, data = envelope
    assert (
        outcome(compiled.peek_header, data) == outcome(pure.peek_header, data) == ("ok", expected)
    )
    assert compiled.peek_version(data) == expected.version
    agree_with_msgspec(outcome(compiled.peek_header, data), data)


@QUICK
@given(envelope=envelopes(), data=st.data())
def test_peek_mutated_envelopes(
    compiled: ModuleType, pure: ModuleType, envelope: tuple[HeaderPeek, bytes], data: st.DataObject
) -> None:
    raw = data.draw(mutated(envelope[1]))
    peek = outcome(compiled.peek_header, raw)
    assert peek == outcome(pure.peek_header, raw)
    agree_with_msgspec(peek, raw)


@QUICK
@given(value=values)
def test_peek_on_any_msgpack_value(compiled: ModuleType, pure: ModuleType, value: Any) -> None:
    raw = ENC.encode(value)
    peek = outcome(compiled.peek_header, raw)
    assert peek == outcome(pure.peek_header, raw)
    agree_with_msgspec(peek, raw)


# ------------------------------------------------------------ long (opt-in) runs


@pytest.mark.slow
@LONG
@given(body_list=bodies, data=st.data(), max_size=st.sampled_from([0, 16, 200, 2**24]))
def test_mutated_batches_agree_long(
    compiled: ModuleType,
    pure: ModuleType,
    body_list: list[bytes],
    data: st.DataObject,
    max_size: int,
) -> None:
    raw = data.draw(mutated(batch(body_list), frame_starts(body_list)))
    check_same_everywhere(compiled, pure, raw, max_size)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=10))
    assert stream_outcome(compiled, raw, cuts, max_size) == stream_outcome(
        pure, raw, cuts, max_size
    )


@pytest.mark.slow
@LONG
@given(envelope=envelopes(), data=st.data())
def test_peek_mutated_envelopes_long(
    compiled: ModuleType, pure: ModuleType, envelope: tuple[HeaderPeek, bytes], data: st.DataObject
) -> None:
    raw = data.draw(mutated(envelope[1]))
    peek = outcome(compiled.peek_header, raw)
    assert peek == outcome(pure.peek_header, raw)
    agree_with_msgspec(peek, raw)


# ----------------------------------------------------------------- nesting scan

#: Containers, strings and binaries whose bytes look like containers, nested freely.
deep_values = st.recursive(
    st.none() | ints | st.binary(max_size=6).map(lambda b: b"\x91" * len(b)) | st.just("\x91\x81"),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=2),
    max_leaves=40,
)


def depth_of(value: Any) -> int:
    """How many arrays and maps ``value`` nests (the oracle of the scan)."""
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


def wrap(value: Any, levels: int) -> Any:
    for _ in range(levels):
        value = [value]
    return value


@QUICK
@given(value=deep_values, extra=st.integers(0, 150), max_depth=st.integers(1, 160))
def test_check_depth_matches_the_real_depth(
    compiled: ModuleType, pure: ModuleType, value: Any, extra: int, max_depth: int
) -> None:
    value = wrap(value, extra)
    data = ENC.encode(value)
    expected = depth_of(value) <= max_depth
    for twin in (compiled, pure):
        result = outcome(twin.check_depth, data, max_depth)
        assert (result[0] == "ok") is expected, (twin.__name__, result)
    assert outcome(compiled.check_depth, data, max_depth) == outcome(
        pure.check_depth, data, max_depth
    )
    framed = compiled.pack_frame(data)
    assert outcome(compiled.decode_frames, framed, DEC, 2**24, max_depth) == outcome(
        pure.decode_frames, framed, DEC, 2**24, max_depth
    )


@QUICK
@given(raw=st.binary(max_size=400), max_depth=st.integers(1, 10))
def test_check_depth_on_any_bytes_agrees(
    compiled: ModuleType, pure: ModuleType, raw: bytes, max_depth: int
) -> None:
    bomb = b"\x91\x81\xdc\x00\x01" * 3 + raw
    for data in (raw, bomb, bomb[: len(bomb) // 2]):
        assert outcome(compiled.check_depth, data, max_depth) == outcome(
            pure.check_depth, data, max_depth
        )

"""The differential oracle of the hardening suite: one input, every wire entry point, both twins.

A hostile peer controls every byte we read. For any input, each entry point of
the wire core (``split_frames``, ``FrameDecoder``, ``peek_header``/``peek_version``,
``check_depth``, ``check_envelope``, ``decode_frames``) and of the layer above it
(``CodecPool.decode``/``decode_frames``, ``SchemaRegistry.decode``/``decode_frames``,
``decode_envelope_view``) must:

- end in a result or in a :class:`KlawWireError` subclass: anything else
  (``IndexError``, ``struct.error``, ``RecursionError``, ``SystemError``, a
  crash) propagates out of :func:`check_input` and fails the caller;
- give the same outcome in the compiled and the pure twin: equal results, or
  the same exception class, offset and reason;
- agree with the other entry points on the same bytes (the stream decoder
  with ``split_frames``, a successful peek with a successful full decode, the
  schema registry with "check the envelope, then the registered decoder"; every
  envelope decode path refuses exactly what ``check_envelope`` refuses, with
  the same error: one decoder, one rule).

The same functions drive the seeded random run (``test_differential_random.py``),
the atheris targets (``fuzz/``) and the replay of the fuzz regression corpus,
so a bug found by one is checked by all. :data:`TARGETS` maps each fuzz target
to a function of the raw fuzzer bytes; the first bytes choose the parameters
(maximum frame size, how a stream is cut, which decoder), so a stored input
replays exactly.
"""

from __future__ import annotations

import collections
import random
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final

import msgspec

import klaw_core._wirecore_c as C
import klaw_core._wirecore_py as P
from klaw_core.runtime.channels.codec import CodecPool
from klaw_core.runtime.channels.schema import SchemaRegistry
from klaw_core.runtime.channels.views import decode_envelope_view
from klaw_core.runtime.channels.wire import (
    Ack,
    ControlMessage,
    DataMessage,
    Heartbeat,
    WireEnvelope,
    WireError,
    WireHeader,
)
from klaw_core.runtime.errors import (
    KlawWireError,
    MalformedPayload,
    NestingTooDeep,
    UnknownSchemaVersion,
)

__all__ = [
    "MAX_SIZES",
    "SEEN",
    "TARGETS",
    "Case",
    "OracleMismatch",
    "check_depth",
    "check_input",
    "generate",
    "run_target",
]

TWINS: Final = (C, P)

#: Maximum frame sizes the inputs are checked against: the default, the edges
#: of the 4-byte prefix, and small limits that real frames exceed.
MAX_SIZES: Final = (
    C.DEFAULT_MAX_FRAME_SIZE,
    C.MAX_FRAME_SIZE_LIMIT,
    2**31 - 1,
    0,
    1,
    8,
    40,
    300,
)

POOL: Final = CodecPool()
REGISTRY: Final = SchemaRegistry()
REGISTRY.register(1, WireEnvelope)
#: Decoders ``decode_frames`` is run with: untyped, the envelope union, and the
#: typed batch a Ray receiver of ``int`` uses (so validation errors happen too).
DECODERS: Final = (
    POOL.envelope_decoder,
    msgspec.msgpack.Decoder(),
    POOL.decoder_for(DataMessage[list[int]]),
)

Outcome = tuple[Any, ...]
"""``("ok", value)`` or ``("err", class, offset, reason)``."""


class OracleMismatch(AssertionError):
    """Two outcomes that must be equal are not; the message holds the input."""


#: Names of the outcomes met so far (``"split_frames:FrameTooLarge"``, ...), so a
#: run can show that its inputs reach every kind of ending.
SEEN: Final[collections.Counter[str]] = collections.Counter()


def _run(fn: Callable[..., Any], *args: Any) -> Outcome:
    # Only the project's wire errors are an acceptable ending; anything else
    # propagates to the caller as the bug it is.
    name = getattr(fn, "__qualname__", "call")
    try:
        result = fn(*args)
    except KlawWireError as exc:
        SEEN[f"{name}:{type(exc).__name__}"] += 1
        return ("err", type(exc), exc.offset, exc.reason)
    SEEN[f"{name}:ok"] += 1
    return ("ok", result)


#: How msgspec's depth guard reads after the codec (first) and the wire core (second) wrap it.
_TOO_DEEP: Final = ("nested too deeply", "maximum recursion depth exceeded")


def _stack_dependent(outcome: Outcome) -> bool:
    return outcome[0] == "err" and any(text in outcome[3] for text in _TOO_DEEP)


def _got_further(deep: Outcome, other: Outcome) -> bool:
    """Whether ``other`` is what a caller with more stack to spare may see instead of ``deep``.

    msgspec's depth guard counts the caller's stack too, so a value nested close
    to the limit may trip it in one call and, a frame or two shallower, decode
    (``other`` is a result, or an error about a later frame of the batch) or be
    reported for what lies further inside it (a payload error, same offset).
    """
    if other[0] == "ok":
        return True
    if deep[2] is None or other[2] is None or deep[2] == other[2]:
        return deep[2] == other[2] and issubclass(other[1], MalformedPayload)
    return bool(other[2] > deep[2])


def _same(what: str, data: bytes, a: Outcome, b: Outcome) -> None:
    if a == b:
        return
    if (_stack_dependent(a) and _got_further(a, b)) or (_stack_dependent(b) and _got_further(b, a)):
        return
    raise OracleMismatch(f"{what} differs on {data.hex()}:\n  {a!r}\n  {b!r}")


def _as_bytes(outcome: Outcome) -> Outcome:
    if outcome[0] == "ok":
        return ("ok", [bytes(frame) for frame in outcome[1]])
    return outcome


# ------------------------------------------------------------------- the checks


def check_split(data: bytes, max_frame_size: int) -> Outcome:
    """``split_frames`` in both twins; returns the (shared) outcome, frames as bytes."""
    compiled = _as_bytes(_run(C.split_frames, data, max_frame_size))
    pure = _as_bytes(_run(P.split_frames, data, max_frame_size))
    _same(f"split_frames(max={max_frame_size})", data, compiled, pure)
    # Every input type the twins accept must give the same answer.
    _same(
        "split_frames(bytearray)",
        data,
        compiled,
        _as_bytes(_run(C.split_frames, bytearray(data), max_frame_size)),
    )
    return compiled


def _stream(twin: ModuleType, data: bytes, max_frame_size: int, cuts: Sequence[int]) -> Outcome:
    decoder = twin.FrameDecoder(max_frame_size)
    frames: list[bytes] = []
    trace: list[int] = []
    start = 0
    try:
        for stop in [*cuts, len(data)]:
            frames += decoder.feed(data[start:stop])
            trace.append(decoder.pending)
            start = stop
        decoder.close()
    except KlawWireError as exc:
        SEEN[f"FrameDecoder:{type(exc).__name__}"] += 1
        first = ("err", type(exc), exc.offset, exc.reason)
        # A failed decoder stays failed, with the same error, until reset().
        for again in (_run(decoder.feed, b"\x00"), _run(decoder.close)):
            if again != first:
                raise OracleMismatch(
                    f"{twin.__name__}.FrameDecoder did not stay failed on {data.hex()}: {again!r}"
                ) from None
        decoder.reset()
        if decoder.pending or decoder.feed(b"\x00\x00\x00\x00") != [b""]:
            raise OracleMismatch(f"{twin.__name__}.FrameDecoder.reset() did not reset") from None
        return (*first, trace)
    SEEN["FrameDecoder:ok"] += 1
    return ("ok", frames, trace)


def check_stream(data: bytes, max_frame_size: int, cuts: Sequence[int], split: Outcome) -> Outcome:
    """``FrameDecoder`` fed ``data`` cut at ``cuts``, both twins, checked against ``split``."""
    compiled = _stream(C, data, max_frame_size, cuts)
    pure = _stream(P, data, max_frame_size, cuts)
    _same(f"FrameDecoder(max={max_frame_size}, cuts={list(cuts)})", data, compiled, pure)
    # The stream sees the same frames and the same first error as the batch split.
    _same("FrameDecoder vs split_frames", data, compiled[:-1], split)
    return compiled


def check_peek(body: bytes) -> Outcome:
    """``peek_header`` and ``peek_version`` in both twins."""
    compiled = _run(C.peek_header, body)
    _same("peek_header", body, compiled, _run(P.peek_header, body))
    _same("peek_header(memoryview)", body, compiled, _run(C.peek_header, memoryview(body)))
    version = ("ok", compiled[1].version) if compiled[0] == "ok" else compiled
    _same("peek_version (compiled)", body, version, _run(C.peek_version, body))
    _same("peek_version (pure)", body, version, _run(P.peek_version, body))
    return compiled


#: Depth bounds the nesting scan is checked with: the default and small ones real data exceeds.
DEPTHS: Final = (C.DEFAULT_MAX_DEPTH, 1, 2, 3, 8, 40)


def check_depth(body: bytes) -> Outcome:
    """``check_depth`` and ``check_envelope`` in both twins, at several bounds; returns
    ``check_envelope``'s outcome at the default bound."""
    for max_depth in DEPTHS:
        compiled = _run(C.check_depth, body, max_depth)
        _same(
            f"check_depth(max_depth={max_depth})",
            body,
            compiled,
            _run(P.check_depth, body, max_depth),
        )
        _same(
            "check_depth(memoryview)",
            body,
            compiled,
            _run(C.check_depth, memoryview(body), max_depth),
        )
        if compiled[0] == "err" and not issubclass(compiled[1], NestingTooDeep):
            raise OracleMismatch(f"check_depth raised {compiled!r} on {body.hex()}")
    envelope = _run(C.check_envelope, body)
    _same("check_envelope", body, envelope, _run(P.check_envelope, body))
    return envelope


def check_envelope(body: bytes) -> None:
    """One envelope through every envelope decode path, each checked against ``check_envelope``."""
    peek = check_peek(body)
    envelope = check_depth(body)
    # The envelope rules are the peek's header rules, then the nesting bound.
    if peek[0] == "err":
        _same("check_envelope vs peek_header", body, envelope, peek)
    elif envelope[0] == "ok":
        _same("check_envelope vs peek_header", body, envelope, ("ok", peek[1].version))
    elif not issubclass(envelope[1], NestingTooDeep):
        raise OracleMismatch(
            f"check_envelope raised {envelope!r} after the peek passed {body.hex()}"
        )
    decoded = _run(POOL.decode, body)
    if envelope[0] == "err":
        # One decoder, one rule: what check_envelope refuses, every path refuses alike.
        _same("CodecPool.decode vs check_envelope", body, decoded, envelope)
        _same(
            "decode_envelope_view vs check_envelope",
            body,
            _run(decode_envelope_view, body),
            envelope,
        )
    elif decoded[0] == "err" and not issubclass(decoded[1], MalformedPayload):
        raise OracleMismatch(f"CodecPool.decode raised {decoded!r} on {body.hex()}")
    if peek[0] == "ok" and decoded[0] == "ok":
        # A peeked header never disagrees with the full decode.
        head: WireHeader = decoded[1].header
        full = (
            type(decoded[1]).__struct_config__.tag,
            head.version,
            int(head.kind),
            head.channel_id,
            head.seq,
            head.ts,
        )
        seen = peek[1]
        _same(
            "peek vs decode",
            body,
            ("ok", (seen.tag, seen.version, seen.kind, seen.channel_id, seen.seq, seen.ts)),
            ("ok", full),
        )
    # The registry is "check the envelope, then its version's decoder".
    expected: Outcome
    if envelope[0] == "err":
        expected = envelope
    elif envelope[1] != 1:
        expected = (
            "err",
            UnknownSchemaVersion,
            0,
            f"schema version {envelope[1]} is not registered (known: 1)",
        )
    else:
        expected = decoded
    _same("SchemaRegistry.decode", body, _run(REGISTRY.decode, body), expected)


def check_decode_frames(data: bytes, max_frame_size: int, decoder: Any, split: Outcome) -> None:
    """``decode_frames`` in both twins, ``CodecPool.decode_frames``, ``SchemaRegistry.decode_frames``."""
    compiled = _run(C.decode_frames, data, decoder, max_frame_size)
    _same("decode_frames", data, compiled, _run(P.decode_frames, data, decoder, max_frame_size))
    if compiled[0] == "err" and issubclass(compiled[1], MalformedPayload):
        # A bad body is reported before any later framing problem, never after one.
        if split[0] == "err" and not compiled[2] < split[2]:
            raise OracleMismatch(
                f"decode_frames raised {compiled!r} after {split!r} on {data.hex()}"
            )
    elif split[0] == "err":  # the framing error, identical to the split's
        _same("decode_frames vs split_frames", data, compiled, split)
    elif compiled[0] == "err":
        raise OracleMismatch(f"decode_frames raised {compiled!r} on whole frames {data.hex()}")
    elif len(compiled[1]) != len(split[1]):
        raise OracleMismatch(
            f"decode_frames returned {len(compiled[1])} values for {len(split[1])} frames"
        )
    if decoder is POOL.envelope_decoder:
        # Envelope batches: each body checked by check_envelope's rules first.
        envelopes = _run(C.decode_frames, data, decoder, max_frame_size, C.DEFAULT_MAX_DEPTH, True)
        _same(
            "decode_frames(envelopes=True)",
            data,
            envelopes,
            _run(P.decode_frames, data, decoder, max_frame_size, P.DEFAULT_MAX_DEPTH, True),
        )
        pool = CodecPool(max_frame_size=max_frame_size)
        _same("CodecPool.decode_frames", data, envelopes, _run(pool.decode_frames, data))
        _check_registry_frames(data, max_frame_size, split)


def _check_registry_frames(data: bytes, max_frame_size: int, split: Outcome) -> None:
    registry = SchemaRegistry(max_frame_size=max_frame_size)
    registry.register(1, WireEnvelope)
    got = _run(registry.decode_frames, data)
    if split[0] == "err":
        _same("SchemaRegistry.decode_frames vs split_frames", data, got, split)
        return
    # Otherwise: frame by frame, the lone-envelope outcome, moved to the frame's offset.
    out: list[Any] = []
    at = 0
    for frame in split[1]:
        one = _run(REGISTRY.decode, frame)
        if one[0] == "err":
            offset = at + 4 + (one[2] or 0) if _names_a_byte(one) else at
            _same("SchemaRegistry.decode_frames", data, got, ("err", one[1], offset, one[3]))
            return
        out.append(one[1])
        at += 4 + len(frame)
    _same("SchemaRegistry.decode_frames", data, got, ("ok", out))


def _names_a_byte(outcome: Outcome) -> bool:
    """Header and nesting errors name the offending byte; the others, the frame."""
    if issubclass(outcome[1], NestingTooDeep):
        return True
    return not issubclass(outcome[1], (MalformedPayload, UnknownSchemaVersion))


@dataclass(frozen=True)
class Case:
    """One oracle input: the bytes, the maximum frame size, how a stream cuts them, the decoder."""

    data: bytes
    max_frame_size: int = C.DEFAULT_MAX_FRAME_SIZE
    cuts: tuple[int, ...] = ()
    decoder: int = 0


def check_input(case: Case) -> float:
    """Run every check on ``case``; return the seconds it took.

    Raises:
        OracleMismatch: two outcomes that must agree do not.
        Exception: whatever non-wire exception an entry point let escape.
    """
    started = time.perf_counter()
    data = case.data
    split = check_split(data, case.max_frame_size)
    check_stream(data, case.max_frame_size, case.cuts, split)
    check_decode_frames(data, case.max_frame_size, DECODERS[case.decoder % len(DECODERS)], split)
    check_envelope(data)
    if split[0] == "ok":
        for frame in split[1][:4]:
            check_envelope(frame)
    return time.perf_counter() - started


# ------------------------------------------------------------ fuzz entry points


def _params(raw: bytes) -> tuple[int, int, bytes]:
    """Split fuzzer bytes into (maximum frame size, a selector byte, the input)."""
    if len(raw) < 2:
        return C.DEFAULT_MAX_FRAME_SIZE, 0, raw
    return MAX_SIZES[raw[0] % len(MAX_SIZES)], raw[1], raw[2:]


def _cuts(selector: int, size: int) -> tuple[int, ...]:
    rng = random.Random(selector)
    return tuple(sorted(rng.randint(0, size) for _ in range(selector % 5)))


def _fuzz_split(raw: bytes) -> None:
    max_frame_size, _, data = _params(raw)
    check_split(data, max_frame_size)


def _fuzz_stream(raw: bytes) -> None:
    max_frame_size, selector, data = _params(raw)
    check_stream(
        data, max_frame_size, _cuts(selector, len(data)), check_split(data, max_frame_size)
    )


def _fuzz_peek(raw: bytes) -> None:
    check_peek(raw)


def _fuzz_decode_frames(raw: bytes) -> None:
    max_frame_size, selector, data = _params(raw)
    split = check_split(data, max_frame_size)
    check_decode_frames(data, max_frame_size, DECODERS[selector % len(DECODERS)], split)


def _fuzz_nesting(raw: bytes) -> None:
    check_depth(raw)


def _fuzz_schema(raw: bytes) -> None:
    check_envelope(raw)
    max_frame_size, _, data = _params(raw)
    _check_registry_frames(data, max_frame_size, check_split(data, max_frame_size))


#: Fuzz target name -> function of the raw fuzzer bytes (see ``fuzz/``).
TARGETS: Final[dict[str, Callable[[bytes], None]]] = {
    "split_frames": _fuzz_split,
    "frame_decoder": _fuzz_stream,
    "peek_header": _fuzz_peek,
    "decode_frames": _fuzz_decode_frames,
    "schema_decode": _fuzz_schema,
    "nesting": _fuzz_nesting,
}


def run_target(name: str, raw: bytes) -> None:
    """Run fuzz target ``name`` on ``raw`` (what atheris and the corpus replay call)."""
    TARGETS[name](raw)


# ------------------------------------------------------------------ generators

_INTERESTING_BYTES: Final = bytes.fromhex(
    "00017f80ffc0c1c2c3c4c5c6c9cccfd3d9dadbdcdddedf90959f808fa0bfe0"
)
_INTERESTING_LENGTHS: Final = (0, 1, 2, 3, 4, 2**24, 2**24 + 1, 2**31 - 1, 2**31, 2**32 - 1)
_INTS: Final = (
    0,
    1,
    -1,
    127,
    128,
    -32,
    -33,
    255,
    256,
    2**16,
    2**32,
    2**63 - 1,
    2**64 - 1,
    -(2**63),
)


def _random_int(rng: random.Random) -> int:
    return rng.choice(_INTS) if rng.random() < 0.5 else rng.randint(-(2**40), 2**40)


def _random_text(rng: random.Random) -> str:
    alphabet = "abcxyz-_/é✓😀"
    return "".join(rng.choice(alphabet) for _ in range(rng.choice((0, 1, 3, 8, 31, 32, 40))))


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return _random_int(rng)
    if kind == 3:
        return rng.random() * 1e6
    if kind == 4:
        return _random_text(rng)
    if kind == 5:
        return rng.randbytes(rng.randrange(20))
    if kind in (6, 7):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {_random_text(rng): _random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def random_envelope(rng: random.Random) -> Any:
    """A valid envelope of a random type with random field values."""
    fields = {
        "channel_id": _random_text(rng),
        "seq": abs(_random_int(rng)),
        "ts": abs(_random_int(rng)) % 2**63,
        "version": rng.choice((1, 1, 1, 0, 2, 255)),
    }
    kind = rng.randrange(5)
    if kind == 0:
        payload = _random_value(rng)
        if rng.random() < 0.3:
            payload = [rng.randint(-1000, 1000) for _ in range(rng.randrange(6))]
        return DataMessage.new(payload, **fields)
    if kind == 1:
        return ControlMessage.new(_random_text(rng), metadata=_random_value(rng), **fields)
    if kind == 2:
        return Heartbeat.new(_random_text(rng), **fields)
    if kind == 3:
        return Ack.new(abs(_random_int(rng)), _random_text(rng), **fields)
    return WireError.new(_random_text(rng), _random_text(rng), details=_random_value(rng), **fields)


def valid_batch(rng: random.Random) -> tuple[bytes, list[int]]:
    """Some framed envelopes, and the offset of each length prefix."""
    data = bytearray()
    prefixes = []
    for _ in range(rng.choice((1, 1, 2, 3, 5))):
        prefixes.append(len(data))
        data += P.pack_frame(msgspec.msgpack.encode(random_envelope(rng)))
    return bytes(data), prefixes


def mutate(rng: random.Random, data: bytes, prefixes: Sequence[int]) -> bytes:
    """One to four random edits: bit flips, odd bytes, truncation, length edits, splices."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        if op == 0 and buf:  # flip a bit
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # plant a MessagePack marker
            buf[rng.randrange(len(buf))] = rng.choice(_INTERESTING_BYTES)
        elif op == 2:  # truncate
            del buf[rng.randint(0, len(buf)) :]
        elif op == 3 and prefixes:  # edit a length prefix
            at = rng.choice(prefixes)
            if at + 4 <= len(buf):
                (size,) = struct.unpack_from(">I", buf, at)
                new = rng.choice((*_INTERESTING_LENGTHS, size - 1, size + 1, rng.randrange(2**32)))
                struct.pack_into(">I", buf, at, new % 2**32)
        elif op == 4:  # insert junk
            at = rng.randint(0, len(buf))
            buf[at:at] = rng.randbytes(rng.randint(1, 8))
        elif op == 5 and buf:  # delete a range
            at = rng.randrange(len(buf))
            del buf[at : at + rng.randint(1, 8)]
        elif op == 6:  # declare a huge container or string inside the body
            at = rng.randint(0, len(buf))
            buf[at:at] = rng.choice(
                (
                    b"\xdc\xff\xff",
                    b"\xdd\xff\xff\xff\xff",
                    b"\xdf\xff\xff\xff\xff",
                    b"\xde\xff\xff",
                    b"\xdb\xff\xff\xff\xff",
                    b"\xc6\xff\xff\xff\xff",
                    b"\x91" * 40,
                    b"\x91" * 200,
                    b"\x81\xa1a" * 150,
                    b"\xdc\x00\x01" * 130 + b"\xc0",
                )
            )
        else:  # duplicate a range
            if buf:
                at = rng.randrange(len(buf))
                buf[at:at] = buf[at : at + rng.randint(1, 16)]
    return bytes(buf)


def random_bytes(rng: random.Random) -> bytes:
    """Random bytes, often behind a small length prefix so that the body gets read."""
    size = rng.choice((rng.randrange(9), rng.randrange(65), rng.randrange(65), rng.randrange(513)))
    body = rng.randbytes(size)
    roll = rng.random()
    if roll < 0.3:
        return P.pack_frame(body)
    if roll < 0.4:
        return bytes([0, 0, 0]) + body
    return body


def generate(seed: int, count: int) -> Iterator[Case]:
    """``count`` seeded cases: half random bytes, half mutated valid batches."""
    rng = random.Random(seed)
    for index in range(count):
        if index % 2:
            data = random_bytes(rng)
        else:
            data, prefixes = valid_batch(rng)
            if rng.random() < 0.9:
                data = mutate(rng, data, prefixes)
        max_frame_size = C.DEFAULT_MAX_FRAME_SIZE if rng.random() < 0.7 else rng.choice(MAX_SIZES)
        cuts = tuple(sorted(rng.randint(0, len(data)) for _ in range(rng.randrange(4))))
        yield Case(data, max_frame_size, cuts, rng.randrange(len(DECODERS)))

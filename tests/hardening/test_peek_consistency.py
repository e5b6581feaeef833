"""The peeked header never disagrees with the full decode, and odd headers are refused, not misrouted.

``peek_header`` reads ``[tag, [version, kind, channel_id, seq, ts], ...`` and
stops; the schema registry routes on it; the full decode (msgspec) reads the
whole envelope. For valid envelopes and for near-valid ones (every MessagePack
width for every integer and string, wrong element counts, wrong types, a map
header, ``kind != tag``, truncation) the two must never tell different stories:
when both succeed they agree field for field, and whatever the peek refuses,
the registry refuses with the same error.
"""

from __future__ import annotations

import struct
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_oracle import POOL, REGISTRY, check_envelope, check_peek

import klaw_core._wirecore_c as C
import klaw_core._wirecore_py as P
from klaw_core.runtime.channels.views import decode_envelope_view
from klaw_core.runtime.errors import MalformedHeader, TruncatedFrame
from strategies import envelopes

QUICK = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_INT_FORMS = [
    (0xCC, ">B", 0, 2**8 - 1),
    (0xCD, ">H", 0, 2**16 - 1),
    (0xCE, ">I", 0, 2**32 - 1),
    (0xCF, ">Q", 0, 2**64 - 1),
    (0xD0, ">b", -(2**7), 2**7 - 1),
    (0xD1, ">h", -(2**15), 2**15 - 1),
    (0xD2, ">i", -(2**31), 2**31 - 1),
    (0xD3, ">q", -(2**63), 2**63 - 1),
]


@st.composite
def int_bytes(draw: st.DrawFn, value: int) -> bytes:
    """``value`` in any MessagePack integer form that can hold it (non-minimal ones too)."""
    forms: list[bytes] = [
        bytes([code]) + struct.pack(fmt, value)
        for code, fmt, lo, hi in _INT_FORMS
        if lo <= value <= hi
    ]
    if 0 <= value <= 0x7F or -32 <= value < 0:
        forms.append(struct.pack(">b" if value < 0 else ">B", value))
    return draw(st.sampled_from(forms))


@st.composite
def str_bytes(draw: st.DrawFn, text: str) -> bytes:
    raw = text.encode()
    forms = [b"\xd9" + struct.pack(">B", len(raw)) + raw] if len(raw) < 256 else []
    forms += [
        b"\xda" + struct.pack(">H", len(raw)) + raw,
        b"\xdb" + struct.pack(">I", len(raw)) + raw,
    ]
    if len(raw) < 32:
        forms.append(bytes([0xA0 | len(raw)]) + raw)
    return draw(st.sampled_from(forms))


@st.composite
def array_head(draw: st.DrawFn, count: int) -> bytes:
    forms = [b"\xdc" + struct.pack(">H", count), b"\xdd" + struct.pack(">I", count)]
    if count < 16:
        forms.append(bytes([0x90 | count]))
    return draw(st.sampled_from(forms))


small_ints = st.integers(-(2**63), 2**64 - 1) | st.integers(-40, 300)
#: Values that are not what a header field should hold.
wrong_values = st.sampled_from([None, True, 1.5, b"bin", "text", [1], {"a": 1}])

#: The fields after the header, per tag, as valid values.
REST: dict[int, list[Any]] = {
    1: [None],
    2: ["close", None],
    3: ["w1"],
    4: [7, "ok"],
    5: ["E", "m", None],
}


@st.composite
def near_valid_envelopes(draw: st.DrawFn) -> tuple[bytes, bool]:
    """An encoded envelope with random encodings and, maybe, one defect; and whether it has one."""
    tag = draw(st.sampled_from([1, 2, 3, 4, 5]) | small_ints)
    defect = draw(
        st.sampled_from(
            ["none"] * 6
            + ["kind", "count4", "count6", "map", "wrong-type", "envelope-count", "truncate"]
        )
    )
    kind = tag if defect != "kind" else draw(small_ints.filter(lambda k: k != tag))
    fields: list[bytes] = [
        draw(int_bytes(draw(small_ints))),  # version
        draw(int_bytes(kind)),
        draw(str_bytes(draw(st.text(max_size=40)))),
        draw(int_bytes(draw(small_ints))),  # seq
        draw(int_bytes(draw(small_ints))),  # ts
    ]
    if defect == "wrong-type":
        fields[draw(st.integers(0, 4))] = msgspec.msgpack.encode(draw(wrong_values))
    if defect == "count4":
        head = draw(array_head(4)) + b"".join(fields[:4])
    elif defect == "count6":
        head = draw(array_head(6)) + b"".join(fields) + draw(int_bytes(0))
    elif defect == "map":
        names = ["version", "kind", "channel_id", "seq", "ts"]
        head = bytes([0x85]) + b"".join(
            msgspec.msgpack.encode(n) + f for n, f in zip(names, fields, strict=True)
        )
    else:
        head = draw(array_head(5)) + b"".join(fields)
    rest = [msgspec.msgpack.encode(v) for v in REST.get(tag, [None])]
    count = 2 + len(rest) if defect != "envelope-count" else draw(st.integers(0, 7))
    body = draw(array_head(count)) + draw(int_bytes(tag)) + head + b"".join(rest)
    if defect == "truncate":
        body = body[: draw(st.integers(0, len(body) - 1))]
    return body, defect != "none"


@QUICK
@given(envelopes())
def test_peek_matches_every_valid_envelope(envelope: Any) -> None:
    body = msgspec.msgpack.encode(envelope)
    expected = (
        type(envelope).__struct_config__.tag,
        envelope.header.version,
        int(envelope.header.kind),
        envelope.header.channel_id,
        envelope.header.seq,
        envelope.header.ts,
    )
    for twin in (C, P):
        peek = twin.peek_header(body)
        assert (peek.tag, peek.version, peek.kind, peek.channel_id, peek.seq, peek.ts) == expected
    check_envelope(body)


@QUICK
@given(near_valid_envelopes())
def test_peek_and_decode_agree_on_near_valid_envelopes(case: tuple[bytes, bool]) -> None:
    body, _ = case
    check_envelope(
        body
    )  # twins agree; peek == decode when both succeed; registry == peek + decoder


@QUICK
@given(near_valid_envelopes().filter(lambda case: case[1]))
def test_header_defects_never_route(case: tuple[bytes, bool]) -> None:
    """A header the peek refuses is refused by the registry with the same error, in both twins."""
    body, _ = case
    peek = check_peek(body)
    if peek[0] == "err":
        with pytest.raises((MalformedHeader, TruncatedFrame)) as info:
            REGISTRY.decode(body)
        assert (type(info.value), info.value.offset, info.value.reason) == peek[1:]


@pytest.mark.slow
@LONG
@given(near_valid_envelopes())
def test_peek_and_decode_agree_on_near_valid_envelopes_long(case: tuple[bytes, bool]) -> None:
    check_envelope(case[0])


def encode(value: Any) -> bytes:
    return msgspec.msgpack.encode(value)


#: Header shapes a careless or hostile peer might send; all must be refused at the header.
ODD_HEADERS = {
    "four-fields": (
        encode([1, [1, 1, "c", 0], None]),
        "header array has 4 elements, expected 5",
        2,
    ),
    "six-fields": (
        encode([1, [1, 1, "c", 0, 0, 9], None]),
        "header array has 6 elements, expected 5",
        2,
    ),
    "map": (
        encode([1, {"version": 1, "kind": 1, "channel_id": "c", "seq": 0, "ts": 0}, None]),
        "header must be a MessagePack array, found type byte 0x85",
        2,
    ),
    "map-with-duplicate-keys": (
        b"\x93\x01\x86"
        + b"".join(
            encode(k) + encode(v)
            for k, v in [
                ("version", 1),
                ("version", 2),
                ("kind", 1),
                ("channel_id", "c"),
                ("seq", 0),
                ("ts", 0),
            ]
        )
        + b"\xc0",
        "header must be a MessagePack array, found type byte 0x86",
        2,
    ),
    "fields-out-of-order": (
        encode([1, ["c", 1, 1, 0, 0], None]),
        "version must be an integer, found type byte 0xa1",
        3,
    ),
    "kind-differs-from-tag": (
        encode([1, [1, 3, "c", 0, 0], None]),
        "header kind 3 does not match tag 1",
        4,
    ),
    "heartbeat-claiming-data": (
        encode([3, [1, 1, "c", 0, 0], "w"]),
        "header kind 1 does not match tag 3",
        4,
    ),
    "tag-as-string": (
        encode(["1", [1, 1, "c", 0, 0], None]),
        "tag must be an integer, found type byte 0xa1",
        1,
    ),
    "header-first": (
        encode([[1, 1, "c", 0, 0], 1, None]),
        "tag must be an integer, found type byte 0x95",
        1,
    ),
    "one-element": (encode([1]), "envelope array has 1 elements, need at least 2", 0),
}


#: Every entry point that reads one envelope: one decoder, one rule.
ONE_ENVELOPE: dict[str, Any] = {
    "peek_header (compiled)": C.peek_header,
    "peek_header (pure)": P.peek_header,
    "peek_version (compiled)": C.peek_version,
    "peek_version (pure)": P.peek_version,
    "check_envelope (compiled)": C.check_envelope,
    "check_envelope (pure)": P.check_envelope,
    "CodecPool.decode": POOL.decode,
    "SchemaRegistry.decode": REGISTRY.decode,
    "decode_envelope_view": decode_envelope_view,
}

#: Every entry point that reads a batch of envelopes.
ENVELOPE_BATCHES: dict[str, Any] = {
    "decode_frames(envelopes=True) (compiled)": lambda b: C.decode_frames(
        b, POOL.envelope_decoder, envelopes=True
    ),
    "decode_frames(envelopes=True) (pure)": lambda b: P.decode_frames(
        b, POOL.envelope_decoder, envelopes=True
    ),
    "CodecPool.decode_frames": POOL.decode_frames,
    "SchemaRegistry.decode_frames": REGISTRY.decode_frames,
}


@pytest.mark.parametrize("name", sorted(ODD_HEADERS))
def test_odd_headers_are_refused(name: str) -> None:
    body, reason, offset = ODD_HEADERS[name]
    for path, read in ONE_ENVELOPE.items():
        with pytest.raises(MalformedHeader) as info:
            read(body)
        assert (info.value.reason, info.value.offset) == (reason, offset), path
    # In a batch, the error names the byte in the batch.
    batch = C.pack_frame(encode([4, [1, 4, "c", 0, 0], 1, "ok"])) + C.pack_frame(body)
    for path, read in ENVELOPE_BATCHES.items():
        with pytest.raises(MalformedHeader) as info:
            read(batch)
        assert info.value.reason == reason, path
        assert info.value.offset == len(batch) - len(body) + offset, path

"""msgspec (typed and untyped) vs msgpack-python and ormsgpack (``msgpack.*``)."""

from __future__ import annotations

import msgpack
import msgspec
import ormsgpack

from _harness import Case, Settings, interleave
from _report import VERSIONS, Report, ratio_figure
from _workloads import TYPED_UNION, make_envelopes


def run(s: Settings, report: Report) -> None:
    """msgspec (typed and untyped) vs msgpack-python and ormsgpack (untyped)."""
    message = make_envelopes(1)[0]
    builtins = msgspec.to_builtins(message)
    enc = msgspec.msgpack.Encoder()
    data = enc.encode(message)
    if msgpack.packb(builtins) != data or ormsgpack.packb(builtins) != data:
        raise SystemExit("msgpack/ormsgpack do not produce the same bytes as msgspec")
    g = {
        "enc": enc.encode,
        "msg": message,
        "obj": builtins,
        "data": data,
        "typed": msgspec.msgpack.Decoder(TYPED_UNION).decode,
        "untyped": msgspec.msgpack.Decoder().decode,
        "packb": msgpack.packb,
        "unpackb": msgpack.unpackb,
        "opackb": ormsgpack.packb,
        "ounpackb": ormsgpack.unpackb,
    }
    results = interleave(
        [
            Case("encode: msgspec typed struct", "enc(msg)", 1, g),
            Case("encode: msgspec untyped lists/dicts", "enc(obj)", 1, g),
            Case("encode: msgpack.packb", "packb(obj)", 1, g),
            Case("encode: ormsgpack.packb", "opackb(obj)", 1, g),
            Case("decode: msgspec typed + validated", "typed(data)", 1, g),
            Case("decode: msgspec untyped", "untyped(data)", 1, g),
            Case("decode: msgpack.unpackb", "unpackb(data)", 1, g),
            Case("decode: ormsgpack.unpackb", "ounpackb(data)", 1, g),
        ],
        repeats=s.repeats,
        seconds=s.seconds,
    )
    report.samples(
        f"one {len(data)}-byte envelope vs msgpack {VERSIONS['msgpack']} / ormsgpack {VERSIONS['ormsgpack']} (ns per call)",
        results,
    )
    for op, typed in (("encode", "msgspec typed struct"), ("decode", "msgspec typed + validated")):
        for peer, dist in (("msgpack.packb", "msgpack"), ("ormsgpack.packb", "ormsgpack")):
            peer_case = peer if op == "encode" else peer.replace("packb", "unpackb")
            report.add(
                ratio_figure(
                    f"msgpack.{op}.{dist}",
                    f"{op}: msgspec typed vs {peer_case} untyped ({dist} {VERSIONS[dist]})",
                    results,
                    f"{op}: {peer_case}",
                    f"{op}: {typed}",
                    unit="ns",
                )
            )

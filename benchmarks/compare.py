"""Every klaw-core performance figure, measured side by side in one process run.

    python benchmarks/compare.py [--quick] [--json OUT] [--only SECTION ...]

Prints a header (versions, machine, load), then one table: figure, measured
value(s), target, met / NOT MET / - (informational), then detail tables (ns
per call of every case). ``--json OUT`` writes the same results, every repeat
included, as JSON. ``--quick`` uses fewer and shorter repeats and smaller
channel runs; it finishes in under three minutes on a 2-core machine,
Ray start-up included.

Method (see ``_common.py``): every comparison is a set of cases timed
**interleaved** in rounds (A, B, C, then B, C, A, ...), each repeat long
enough to amortise the timer; a ratio is the median of the per-round ratios,
so a burst of load on this noisy machine hits both sides of a ratio alike.
Absolute times are min and median nanoseconds per operation. Channel figures
are steady-state throughput after warm-up (worker start-up excluded), runs
of each transport alternating.

Sections (``--only`` takes these names): twins, framing, peek, pydantic,
msgpack, codec, optimisations, local, ray.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import msgpack
import msgspec
import ormsgpack

import klaw_core
import klaw_core._wirecore_py as pure_core
from _common import (
    Case,
    Figure,
    Samples,
    format_table,
    interleave,
    machine,
    paired_ratio,
    versions,
)
from _workloads import (
    BATCH,
    MAP_UNION,
    PYDANTIC_LIST,
    PYDANTIC_UNION,
    TYPED_UNION,
    GcData,
    MapData,
    Order,
    envelope_with_payload,
    make_envelopes,
    map_twin,
    pydantic_twin,
)
from klaw_core.runtime.channels.codec import CodecPool
from klaw_core.runtime.channels.views import EnvelopeView
from klaw_core.runtime.channels.wire import DataMessage, WireEnvelope

try:
    import klaw_core._wirecore_c as compiled_core
except ImportError:  # pragma: no cover - a build without the extension
    compiled_core = None


# ------------------------------------------------------------------ the run


@dataclass
class Settings:
    """How long to measure."""

    quick: bool
    repeats: int
    seconds: float

    @classmethod
    def make(cls, quick: bool) -> Settings:
        """Quick: 11 rounds of 15 ms per case; full: 21 rounds of 60 ms.

        Many short rounds rather than a few long ones: the two sides of a ratio
        are then measured within a fraction of a second of each other, and the
        median of many per-round ratios shrugs off the rounds a burst of load hit.
        """
        return cls(quick, 11, 0.015) if quick else cls(quick, 21, 0.06)


@dataclass
class Report:
    """What a run produced: figures for the main table, details for the others."""

    figures: list[Figure] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)

    def samples(self, section: str, results: dict[str, Samples]) -> None:
        """Keep every case's samples (JSON) and print them as a detail table."""
        self.details.setdefault(section, {}).update(
            {name: s.as_dict() for name, s in results.items()}
        )
        rows = [[name, f"{s.min:,.1f}", f"{s.median:,.1f}"] for name, s in results.items()]
        self.tables.append((section, format_table(["case", "min ns/op", "median ns/op"], rows)))


def ratio_figure(
    key: str,
    title: str,
    results: dict[str, Samples],
    slow: str,
    fast: str,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    unit: str = "ns/op",
) -> Figure:
    """A figure ``slow / fast`` (paired median), with its target when given.

    ``at_least``: fast must be that many times faster. ``at_most``: the ratio
    (an overhead) must not exceed it.
    """
    r = paired_ratio(results[slow], results[fast])
    a, b = results[slow], results[fast]
    r_min = a.min / b.min
    measured = f"{r:.2f}x  ({a.median:,.0f} vs {b.median:,.0f} {unit}; mins: {r_min:.2f}x)"
    target, met = "", None
    if at_least is not None:
        target, met = f">= {at_least:g}x", r >= at_least
    elif at_most is not None:
        target, met = f"<= {at_most:g}x", r <= at_most
    values = {
        "ratio": r,
        "ratio_of_mins": r_min,
        "slow": slow,
        "fast": fast,
        "slow_median_ns": a.median,
        "fast_median_ns": b.median,
        "slow_min_ns": a.min,
        "fast_min_ns": b.min,
    }
    return Figure(key, title, measured, target, met, values)


V = versions()


def with_version(name: str, dist: str) -> str:
    return f"{name} {V[dist]}"


# ------------------------------------------------------------------ sections


def section_twins(s: Settings, report: Report) -> None:
    """Compiled vs pure wire core on the same 1,000-envelope batch."""
    if compiled_core is None:
        report.add(Figure("twins", "compiled wire core", "not built", ">= 10x", False))
        return
    envelopes = make_envelopes(BATCH)
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(DataMessage[Order])
    batch = bytes(compiled_core.encode_frames(encoder, envelopes))
    chunks = [batch[i : i + 4096] for i in range(0, len(batch), 4096)]
    small = encoder.encode(envelopes[0])
    one = [envelopes[0]]
    cases: list[Case] = []
    for label, twin in (("compiled", compiled_core), ("pure", pure_core)):
        pool = twin.BufferPool(buffer_size=256 * 1024, max_pool=4)
        small_pool = twin.BufferPool(buffer_size=4096, max_pool=4)
        g = {
            "W": twin,
            "enc": encoder,
            "dec": decoder,
            "envs": envelopes,
            "batch": batch,
            "chunks": chunks,
            "small": small,
            "pool": pool,
            "small_pool": small_pool,
            "one": one,
        }
        cases += [
            Case(f"split_frames/{label}", "W.split_frames(batch)", BATCH, g),
            Case(
                f"FrameDecoder.feed/{label}",
                "d = W.FrameDecoder()\nfor c in chunks: d.feed(c)",
                BATCH,
                g,
            ),
            Case(f"peek_header/{label}", "W.peek_header(small)", 1, g),
            Case(f"peek_version/{label}", "W.peek_version(small)", 1, g),
            Case(
                f"encode_frames/{label}",
                "b = pool.acquire(); W.encode_frames(enc, envs, b); pool.release(b)",
                BATCH,
                g,
            ),
            Case(f"decode_frames/{label}", "W.decode_frames(batch, dec)", BATCH, g),
            Case(f"pool acquire+release/{label}", "pool.release(pool.acquire())", 1, g),
            Case(
                f"pool acquire+encode 1+release/{label}",
                "b = small_pool.acquire(); W.encode_frames(enc, one, b); small_pool.release(b)",
                1,
                g,
            ),
        ]
    results = interleave(cases, repeats=s.repeats, seconds=s.seconds)
    report.samples("twins: compiled vs pure (ns per message or call)", results)
    cy = f"Cython {V['Cython']}"
    targets = {"split_frames": 10.0, "FrameDecoder.feed": 10.0, "peek_header": 10.0}
    for name in (
        "split_frames",
        "FrameDecoder.feed",
        "peek_header",
        "peek_version",
        "encode_frames",
        "decode_frames",
        "pool acquire+release",
        "pool acquire+encode 1+release",
    ):
        unit = "ns/msg" if name in ("split_frames", "FrameDecoder.feed") else "ns/op"
        if name in ("encode_frames", "decode_frames"):
            unit = "ns/msg"
        report.add(
            ratio_figure(
                "twins." + name.replace(" 1+", "_one_").replace("+", "_").replace(" ", "_"),
                f"compiled ({cy}) vs pure: {name}",
                results,
                f"{name}/pure",
                f"{name}/compiled",
                at_least=targets.get(name),
                unit=unit,
            )
        )


def section_framing(s: Settings, report: Report) -> None:
    """What framing adds to bare msgspec on a batch of 1,000 envelopes."""
    core = compiled_core or pure_core
    envelopes = make_envelopes(BATCH)
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(DataMessage[Order])
    batch = bytes(core.encode_frames(encoder, envelopes))
    bodies = [encoder.encode(e) for e in envelopes]
    pool = core.BufferPool(buffer_size=256 * 1024, max_pool=4)
    g = {
        "W": core,
        "batch": batch,
        "bodies": bodies,
        "dec": decoder,
        "decode": decoder.decode,
        "encode": encoder.encode,
        "enc": encoder,
        "envs": envelopes,
        "pool": pool,
    }
    results = interleave(
        [
            Case("decode_frames(batch)", "W.decode_frames(batch, dec)", BATCH, g),
            Case("list(map(decode, frames))", "list(map(decode, bodies))", BATCH, g),
            Case("[decode(f) for f in frames]", "[decode(f) for f in bodies]", BATCH, g),
            Case(
                "encode_frames(pooled buffer)",
                "b = pool.acquire(); W.encode_frames(enc, envs, b); pool.release(b)",
                BATCH,
                g,
            ),
            Case("list(map(encode, messages))", "list(map(encode, envs))", BATCH, g),
        ],
        repeats=s.repeats,
        seconds=s.seconds,
    )
    report.samples(f"framing overhead, {klaw_core.IMPLEMENTATION} core (ns per message)", results)
    report.add(
        ratio_figure(
            "framing.decode_vs_map",
            "framing overhead: decode_frames(1,000-frame batch) / list(map(Decoder.decode, frames))",
            results,
            "decode_frames(batch)",
            "list(map(decode, frames))",
            at_most=1.05,
            unit="ns/msg",
        )
    )
    report.add(
        ratio_figure(
            "framing.decode_vs_listcomp",
            "framing overhead: decode_frames / [Decoder.decode(f) for f in frames]",
            results,
            "decode_frames(batch)",
            "[decode(f) for f in frames]",
            unit="ns/msg",
        )
    )
    report.add(
        ratio_figure(
            "framing.encode_vs_map",
            "framing overhead: encode_frames (pooled) / list(map(Encoder.encode, messages))",
            results,
            "encode_frames(pooled buffer)",
            "list(map(encode, messages))",
            unit="ns/msg",
        )
    )


PEEK_SIZES = (64, 1024, 16 * 1024, 64 * 1024, 1024 * 1024)


def _size(n: int) -> str:
    return (
        f"{n // (1024 * 1024)} MiB"
        if n >= 1024 * 1024
        else (f"{n // 1024} KiB" if n >= 1024 else f"{n} B")
    )


def section_peek(s: Settings, report: Report) -> None:
    """peek_header against decoding the header with msgspec, payload 64 B to 1 MiB."""
    core = compiled_core or pure_core
    view_decode = msgspec.msgpack.Decoder(EnvelopeView).decode
    wire_decode = msgspec.msgpack.Decoder(WireEnvelope).decode
    for kind in ("records", "bytes"):
        cases: list[Case] = []
        for n in PEEK_SIZES:
            g = {
                "C": core,
                "P": pure_core,
                "data": envelope_with_payload(n, kind),
                "view": view_decode,
                "wire": wire_decode,
            }
            tag = _size(n)
            cases += [
                Case(f"peek_header {tag}", "C.peek_header(data)", 1, g),
                Case(f"pure peek_header {tag}", "P.peek_header(data)", 1, g),
                Case(f"EnvelopeView decode {tag}", "view(data)", 1, g),
                Case(f"WireEnvelope decode {tag}", "wire(data)", 1, g),
            ]
        results = interleave(cases, repeats=s.repeats, seconds=s.seconds)
        report.details.setdefault(f"peek.{kind}", {}).update(
            {k: v.as_dict() for k, v in results.items()}
        )
        columns = ["peek_header", "pure peek_header", "EnvelopeView decode", "WireEnvelope decode"]
        rows = [
            [_size(n)]
            + [f"{results[f'{c} {_size(n)}'].median:,.0f}" for c in columns]
            + [
                f"{paired_ratio(results[f'EnvelopeView decode {_size(n)}'], results[f'peek_header {_size(n)}']):,.1f}x"
            ]
            for n in PEEK_SIZES
        ]
        what = "a list of Order-like maps" if kind == "records" else "one opaque bytes (bin) value"
        report.tables.append(
            (
                f"peek vs decode, payload = {what} (median ns per call, {klaw_core.IMPLEMENTATION} peek)",
                format_table(
                    ["payload", *columns, "view/peek"],
                    rows,
                ),
            )
        )
        first, last = f"peek_header {_size(PEEK_SIZES[0])}", f"peek_header {_size(PEEK_SIZES[-1])}"
        flat = max(
            paired_ratio(results[first], results[last]), paired_ratio(results[last], results[first])
        )
        report.add(
            Figure(
                f"peek.flat.{kind}",
                f"peek_header cost, 1 MiB vs 64 B payload ({kind})",
                f"{flat:.2f}x apart ({results[first].median:,.0f} vs {results[last].median:,.0f} ns)",
                "independent of size (<= 1.25x apart)",
                flat <= 1.25,
                {"ratio": flat},
            )
        )
        at = f"{_size(64 * 1024)}"
        fig = ratio_figure(
            f"peek.vs_view.{kind}",
            f"peek_header vs EnvelopeView decode, 64 KiB payload ({kind})",
            results,
            f"EnvelopeView decode {at}",
            f"peek_header {at}",
            at_least=200.0 if kind == "records" else None,
            unit="ns",
        )
        report.add(fig)


def section_pydantic(s: Settings, report: Report) -> None:
    """Typed envelopes: msgspec (JSON and MessagePack) vs pydantic v2 (JSON)."""
    envelopes = make_envelopes(BATCH)
    message = envelopes[0]
    map_msg = map_twin(message)
    model = pydantic_twin(message)
    maps = [map_twin(e) for e in envelopes]
    models = [pydantic_twin(e) for e in envelopes]
    js_enc, mp_enc = msgspec.json.Encoder(), msgspec.msgpack.Encoder()
    doc = js_enc.encode(map_msg)
    if model.model_dump_json().encode() != doc:
        raise SystemExit("pydantic and msgspec disagree on the JSON document")
    wire_json = js_enc.encode(message)
    wire_mp = mp_enc.encode(message)
    list_doc = js_enc.encode(maps)
    g = {
        "model": model,
        "models": models,
        "msg": message,
        "map_msg": map_msg,
        "maps": maps,
        "envs": envelopes,
        "js": js_enc.encode,
        "mp": mp_enc.encode,
        "doc": doc,
        "wire_json": wire_json,
        "wire_mp": wire_mp,
        "list_doc": list_doc,
        "list_wire_mp": mp_enc.encode(envelopes),
        "list_wire_json": js_enc.encode(envelopes),
        "P1": PYDANTIC_UNION.validate_json,
        "PL": PYDANTIC_LIST.validate_json,
        "PLD": PYDANTIC_LIST.dump_json,
        "map_dec": msgspec.json.Decoder(MAP_UNION).decode,
        "map_list_dec": msgspec.json.Decoder(list[MAP_UNION]).decode,
        "wire_json_dec": msgspec.json.Decoder(TYPED_UNION).decode,
        "wire_json_list_dec": msgspec.json.Decoder(list[TYPED_UNION]).decode,
        "wire_mp_dec": msgspec.msgpack.Decoder(TYPED_UNION).decode,
        "wire_mp_list_dec": msgspec.msgpack.Decoder(list[TYPED_UNION]).decode,
    }
    results = interleave(
        [
            Case("encode: pydantic model_dump_json", "model.model_dump_json()", 1, g),
            Case("encode: msgspec json, same document", "js(map_msg)", 1, g),
            Case("encode: msgspec json, wire structs", "js(msg)", 1, g),
            Case("encode: msgspec msgpack, wire structs", "mp(msg)", 1, g),
            Case("decode: pydantic TypeAdapter.validate_json", "P1(doc)", 1, g),
            Case("decode: msgspec json, same document", "map_dec(doc)", 1, g),
            Case("decode: msgspec json, wire structs", "wire_json_dec(wire_json)", 1, g),
            Case("decode: msgspec msgpack, wire structs", "wire_mp_dec(wire_mp)", 1, g),
            Case("batch encode: pydantic dump_json(list)", "PLD(models)", BATCH, g),
            Case("batch encode: msgspec json, same document", "js(maps)", BATCH, g),
            Case("batch decode: pydantic validate_json(list)", "PL(list_doc)", BATCH, g),
            Case("batch decode: msgspec json, same document", "map_list_dec(list_doc)", BATCH, g),
            Case(
                "batch decode: msgspec json, wire structs",
                "wire_json_list_dec(list_wire_json)",
                BATCH,
                g,
            ),
            Case(
                "batch decode: msgspec msgpack, wire structs",
                "wire_mp_list_dec(list_wire_mp)",
                BATCH,
                g,
            ),
        ],
        repeats=s.repeats,
        seconds=s.seconds,
    )
    report.samples(
        f"DataMessage[Order] vs pydantic {V['pydantic']} (ns per message; union of 5 envelope types)",
        results,
    )
    pyd = f"pydantic {V['pydantic']}"
    for op, slow, at_least in (
        ("encode", "encode: pydantic model_dump_json", 5.0),
        ("decode", "decode: pydantic TypeAdapter.validate_json", 5.0),
        ("batch encode", "batch encode: pydantic dump_json(list)", None),
        ("batch decode", "batch decode: pydantic validate_json(list)", 5.0),
    ):
        report.add(
            ratio_figure(
                f"pydantic.{op.replace(' ', '_')}.json",
                f"{op}: msgspec JSON vs {pyd} JSON (same document)",
                results,
                slow,
                f"{op}: msgspec json, same document",
                at_least=at_least,
                unit="ns/msg",
            )
        )
        if op == "batch encode":
            continue
        report.add(
            ratio_figure(
                f"pydantic.{op.replace(' ', '_')}.msgpack",
                f"{op}: msgspec MessagePack wire structs vs {pyd} JSON",
                results,
                slow,
                f"{op}: msgspec msgpack, wire structs",
                unit="ns/msg",
            )
        )


def section_msgpack(s: Settings, report: Report) -> None:
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
        f"one {len(data)}-byte envelope vs msgpack {V['msgpack']} / ormsgpack {V['ormsgpack']} (ns per call)",
        results,
    )
    for op, typed in (("encode", "msgspec typed struct"), ("decode", "msgspec typed + validated")):
        for peer, dist in (("msgpack.packb", "msgpack"), ("ormsgpack.packb", "ormsgpack")):
            peer_case = peer if op == "encode" else peer.replace("packb", "unpackb")
            report.add(
                ratio_figure(
                    f"msgpack.{op}.{dist}",
                    f"{op}: msgspec typed vs {peer_case} untyped ({dist} {V[dist]})",
                    results,
                    f"{op}: {peer_case}",
                    f"{op}: {typed}",
                    unit="ns",
                )
            )


def section_codec(s: Settings, report: Report) -> None:
    """CodecPool reuse vs building an Encoder/Decoder per call; encode_into vs encode."""
    core = compiled_core or pure_core
    message = make_envelopes(1)[0]
    codec: CodecPool[Any] = CodecPool()
    data = codec.encode(message)
    pool = core.BufferPool(buffer_size=4096, max_pool=4)
    reused = bytearray(4096)
    g = {
        "codec": codec,
        "msg": message,
        "one": [message],
        "data": data,
        "M": msgspec.msgpack,
        "WireEnvelope": WireEnvelope,
        "pool": pool,
        "W": core,
        "enc": codec.encoder,
        "buf": reused,
    }
    results = interleave(
        [
            Case("CodecPool.encode", "codec.encode(msg)", 1, g),
            Case("Encoder().encode (new encoder per call)", "M.Encoder().encode(msg)", 1, g),
            Case("msgspec.msgpack.encode", "M.encode(msg)", 1, g),
            Case("CodecPool.decode", "codec.decode(data)", 1, g),
            Case(
                "Decoder(WireEnvelope).decode (new decoder per call)",
                "M.Decoder(WireEnvelope).decode(data)",
                1,
                g,
            ),
            Case("Encoder.encode_into(reused bytearray)", "enc.encode_into(msg, buf)", 1, g),
            Case(
                "pool: acquire, CodecPool.encode_into, release",
                "b = pool.acquire(); codec.encode_into(msg, b); pool.release(b)",
                1,
                g,
            ),
            Case(
                "pool: acquire, encode_frames([msg]), release",
                "b = pool.acquire(); W.encode_frames(enc, one, b); pool.release(b)",
                1,
                g,
            ),
            Case("Encoder.encode", "enc.encode(msg)", 1, g),
        ],
        repeats=s.repeats,
        seconds=s.seconds,
    )
    report.samples("codec reuse and encode_into (ns per call)", results)
    report.add(
        ratio_figure(
            "codec.encoder_reuse",
            "CodecPool.encode vs a new Encoder per call",
            results,
            "Encoder().encode (new encoder per call)",
            "CodecPool.encode",
            unit="ns",
        )
    )
    report.add(
        ratio_figure(
            "codec.decoder_reuse",
            "CodecPool.decode vs a new Decoder(WireEnvelope) per call",
            results,
            "Decoder(WireEnvelope).decode (new decoder per call)",
            "CodecPool.decode",
            unit="ns",
        )
    )
    report.add(
        ratio_figure(
            "codec.encode_into",
            "Encoder.encode_into (reused buffer) vs Encoder.encode",
            results,
            "Encoder.encode",
            "Encoder.encode_into(reused bytearray)",
            unit="ns",
        )
    )
    report.add(
        ratio_figure(
            "codec.pooled_encode_into",
            "acquire+CodecPool.encode_into+release vs Encoder.encode",
            results,
            "Encoder.encode",
            "pool: acquire, CodecPool.encode_into, release",
            unit="ns",
        )
    )
    report.add(
        ratio_figure(
            "codec.pooled_frame",
            "acquire+encode_frames([msg])+release vs Encoder.encode",
            results,
            "Encoder.encode",
            "pool: acquire, encode_frames([msg]), release",
            unit="ns",
        )
    )
    for fig in allocation_figures(core):
        report.add(fig)


def _allocation_counter() -> Callable[[Callable[[], object]], tuple[int, int]]:
    """The counter of ``tests/test_allocations.py``: the figure and the unit test agree."""
    tests = Path(__file__).resolve().parent.parent / "tests"
    sys.path.insert(0, str(tests))
    try:
        from test_allocations import count_allocations
    finally:
        sys.path.remove(str(tests))
    return count_allocations


def allocation_figures(core: ModuleType) -> list[Figure]:
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

    figures = []
    for key, name in (
        ("encode_frames", "pooled CodecPool.encode_frames"),
        ("encode_into", "pooled CodecPool.encode_into"),
    ):
        figures.append(
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
        figures.append(
            Figure(
                f"alloc.compare.{key}",
                f"for comparison: {name}",
                text(name),
                "",
                None,
                values,
            )
        )
    return figures


def section_optimisations(s: Settings, report: Report) -> None:
    """What each design choice buys: array_like, gc=False, batching a list in one frame."""
    core = compiled_core or pure_core
    envelopes = make_envelopes(BATCH)
    message = envelopes[0]
    map_msg = map_twin(message)
    enc = msgspec.msgpack.Encoder()
    array_data, map_data = enc.encode(message), enc.encode(map_msg)
    wire_list = enc.encode(envelopes)
    # One frame holding DataMessage[list[Order]] (header.seq = first seq) vs 1,000 frames.
    payloads = [e.payload for e in envelopes]
    h = envelopes[0].header
    list_msg = DataMessage(h, payloads)
    list_frame = enc.encode(list_msg)
    batch = bytes(core.encode_frames(enc, envelopes))
    pool = core.BufferPool(buffer_size=256 * 1024, max_pool=4)
    g = {
        "enc": enc.encode,
        "encoder": enc,
        "msg": message,
        "map_msg": map_msg,
        "array_data": array_data,
        "map_data": map_data,
        "array_dec": msgspec.msgpack.Decoder(DataMessage[Order]).decode,
        "map_dec": msgspec.msgpack.Decoder(MapData).decode,
        "wire_list": wire_list,
        "gc_false_list": msgspec.msgpack.Decoder(list[DataMessage[Order]]).decode,
        "gc_true_list": msgspec.msgpack.Decoder(list[GcData]).decode,
        "DataMessage": DataMessage,
        "h": h,
        "payloads": payloads,
        "list_frame": list_frame,
        "list_dec": msgspec.msgpack.Decoder(DataMessage[list[Order]]).decode,
        "W": core,
        "envs": envelopes,
        "batch": batch,
        "frame_dec": msgspec.msgpack.Decoder(DataMessage[Order]),
        "pool": pool,
    }
    cases = [
        Case("array_like encode", "enc(msg)", 1, g),
        Case("map encode", "enc(map_msg)", 1, g),
        Case("array_like decode", "array_dec(array_data)", 1, g),
        Case("map decode", "map_dec(map_data)", 1, g),
        Case("gc=False: decode 1,000 (gc on)", "gc_false_list(wire_list)", BATCH, g, True),
        Case("gc=True: decode 1,000 (gc on)", "gc_true_list(wire_list)", BATCH, g, True),
        Case("one frame DataMessage[list[T]]: encode", "enc(DataMessage(h, payloads))", BATCH, g),
        Case(
            "1,000 frames: encode_frames",
            "b = pool.acquire(); W.encode_frames(encoder, envs, b); pool.release(b)",
            BATCH,
            g,
        ),
        Case(
            "1,000 frames: encode_frames, fresh bytearray",
            "W.encode_frames(encoder, envs)",
            BATCH,
            g,
        ),
        Case("one frame DataMessage[list[T]]: decode", "list_dec(list_frame)", BATCH, g),
        Case("1,000 frames: decode_frames", "W.decode_frames(batch, frame_dec)", BATCH, g),
    ]
    results = interleave(cases, repeats=s.repeats, seconds=s.seconds)
    report.samples("optimisations (ns per message)", results)
    size = f"{len(array_data)} vs {len(map_data)} bytes"
    for op in ("encode", "decode"):
        fig = ratio_figure(
            f"opt.array_like.{op}",
            f"array_like vs map struct: {op} ({size})",
            results,
            f"map {op}",
            f"array_like {op}",
            unit="ns",
        )
        report.add(fig)
    report.add(
        ratio_figure(
            "opt.gc_false.decode",
            "gc=False vs gc=True structs: decode 1,000 envelopes, collector on",
            results,
            "gc=True: decode 1,000 (gc on)",
            "gc=False: decode 1,000 (gc on)",
            unit="ns/msg",
        )
    )
    report.add(gc_collect_figure(s))
    report.add(
        ratio_figure(
            "opt.pool.batch",
            "buffer pooling: encode_frames of 1,000 into a pooled vs a fresh bytearray",
            results,
            "1,000 frames: encode_frames, fresh bytearray",
            "1,000 frames: encode_frames",
            unit="ns/msg",
        )
    )
    for op in ("encode", "decode"):
        other = "1,000 frames: encode_frames" if op == "encode" else "1,000 frames: decode_frames"
        report.add(
            ratio_figure(
                f"opt.batch_list.{op}",
                f"one DataMessage[list[Order]] frame vs 1,000 frames: {op}",
                results,
                other,
                f"one frame DataMessage[list[T]]: {op}",
                unit="ns/msg",
            )
        )


def gc_collect_figure(s: Settings) -> Figure:
    """Extra time of a full ``gc.collect()`` per N decoded envelopes alive, gc=False vs gc=True.

    A full collection walks every tracked object of the process, so its time
    is measured three ways in each round: with nothing decoded alive (the
    baseline: this process's own objects), with N gc=False envelopes alive, and
    with N gc=True twins alive; the figure is the extra time over the baseline.
    The two sets are never alive together. Each time is the best of 5 collections.
    """
    count = 20_000 if s.quick else 100_000
    data = msgspec.msgpack.encode(make_envelopes(1000))
    decoders = {
        "gc=False": msgspec.msgpack.Decoder(list[DataMessage[Order]]),
        "gc=True": msgspec.msgpack.Decoder(list[GcData]),
    }

    def best_collect() -> float:
        gc.collect()
        return min(_time(gc.collect) for _ in range(5))

    extra: dict[str, list[float]] = {k: [] for k in decoders}
    for _ in range(3 if s.quick else 5):
        base = best_collect()
        for name, decoder in decoders.items():
            alive = [decoder.decode(data) for _ in range(count // 1000)]
            extra[name].append(max(best_collect() - base, 1e-9))
            del alive
    ratio = statistics.median(
        t / f for t, f in zip(extra["gc=True"], extra["gc=False"], strict=True)
    )
    ms = {k: statistics.median(v) * 1e3 for k, v in extra.items()}
    return Figure(
        "opt.gc_false.collect",
        f"gc.collect() time added by {count:,} decoded envelopes alive: gc=True / gc=False",
        f"{ratio:.2f}x  (+{ms['gc=True']:.2f} vs +{ms['gc=False']:.2f} ms)",
        "",
        None,
        {"ratio": ratio, "extra_ms": ms, "count": count},
    )


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def section_local(s: Settings, report: Report) -> None:
    """klaw local channel vs anyio memory object stream vs asyncio.Queue (bench_local_channel)."""
    import bench_local_channel as blc

    args = argparse.Namespace(
        items=20_000 if s.quick else 100_000,
        producers=2,
        capacity=1024,
        rounds=3 if s.quick else 7,
        chunk=256,
        take=1024,
    )
    for variant, runners in blc.VARIANTS.items():
        rates: dict[str, list[float]] = {name: [] for name in runners}
        names = list(runners)
        for r in range(args.rounds):
            for k in range(len(names)):
                name = names[(k + r) % len(names)]
                rates[name].append(blc.measure(runners[name], args))
        medians = {k: statistics.median(v) for k, v in rates.items()}
        report.details.setdefault("local", {})[variant] = {"msg_per_s": rates, "args": vars(args)}
        report.tables.append(
            (
                f"local channel, {variant} API: 2 producers x {args.items:,} ints, 1 consumer, "
                f"capacity {args.capacity} (msg/s)",
                format_table(
                    ["transport", "median msg/s", "best msg/s"],
                    [[k, f"{medians[k]:,.0f}", f"{max(v):,.0f}"] for k, v in rates.items()],
                ),
            )
        )
        for peer, dist in (("anyio stream", "anyio"), ("asyncio.Queue", None)):
            ratio = statistics.median(
                a / b for a, b in zip(rates["klaw local"], rates[peer], strict=True)
            )
            label = f"anyio {V['anyio']} memory object stream" if dist else "asyncio.Queue"
            target = ">= 5x" if dist else ""
            report.add(
                Figure(
                    f"local.{variant}.{dist or 'asyncio'}",
                    f"local channel vs {label}, {variant} API",
                    f"{ratio:.2f}x  ({medians['klaw local']:,.0f} vs {medians[peer]:,.0f} msg/s)",
                    target,
                    ratio >= 5.0 if dist else None,
                    {
                        "ratio": ratio,
                        "klaw_msg_per_s": medians["klaw local"],
                        "peer_msg_per_s": medians[peer],
                    },
                )
            )


def section_ray(s: Settings, report: Report) -> None:
    """Ray channel vs ray.util.queue.Queue, with ``bench_ray_channel``'s runs.

    2 producer Ray tasks -> the consumer (this process), ~100-byte typed
    messages (``bench_ray_channel.Reading``), every arrival checked for order
    and loss. Each transport is warmed up once (workers, imports, first actor);
    then rounds run every transport in rotated order, and ratios are taken
    within a round. The channel clock starts at the first message received, so
    producer task start-up is excluded (steady state). A second configuration
    with bigger batches (for both klaw and the Queue) shows what batch size buys.
    """
    try:
        import ray

        import bench_ray_channel as brc
    except ImportError as exc:
        report.add(Figure("ray", "Ray channel", f"not measured: {exc}", ">= 700k msg/s", False))
        return
    items = 100_000 if s.quick else 500_000  # per producer
    queue_items = 500 if s.quick else 1_000  # per producer, one actor call each
    rounds = 2 if s.quick else 3
    from klaw_core.runtime.config import load_config

    # chunk: what a producer hands to send_batch / put_nowait_batch; frame: the
    # klaw sender's batch_size (messages per frame and actor call), the library
    # default, then bigger; the Queue also gets the bigger batch.
    capacity, chunk, big = 131_072, 4096, 65_536
    frame = load_config().channels.batch_size  # what channel() uses when not told
    startup = brc.start_ray(ray)

    def klaw(frames: int, batched: bool) -> Callable[[int], float]:
        return lambda n: brc.run_klaw(ray, n, chunk, capacity, batched, frames)

    def queue(batch: int) -> Callable[[int], float]:
        return lambda n: brc.run_queue(ray, n, batch, capacity)

    runs: dict[str, tuple[Callable[[int], float], int]] = {
        "klaw send / async for": (klaw(frame, False), items),
        "klaw send_batch / recv_batch": (klaw(frame, True), items),
        "Queue put_nowait_batch / get_nowait_batch": (queue(chunk), items),
        "Queue put / get": (queue(0), queue_items),
        f"klaw send / async for, batch_size {big:,}": (klaw(big, False), items),
        f"klaw send_batch / recv_batch, batch_size {big:,}": (klaw(big, True), items),
        f"Queue put_nowait_batch / get_nowait_batch, batch {big:,}": (queue(big), items),
        RELAY: (lambda n: brc.run_relay(ray, n, frame, capacity), items),
    }
    names = list(runs)
    rates: dict[str, list[float]] = {name: [] for name in names}
    # bench_ray_channel's consumers wait for every message; if a producer task
    # dies they would wait forever, so each run gets a deadline.
    deadline = 60 + SECONDS_PER_MILLION * brc.PRODUCERS * items / 1e6
    try:
        for name, (run, n) in runs.items():  # warm-up
            _with_deadline(run, min(n, 20_000), deadline, f"{name} (warm-up)")
        for r in range(rounds):
            for k in range(len(names)):
                name = names[(k + r) % len(names)]
                run, n = runs[name]
                rates[name].append(_with_deadline(run, n, deadline, name))
    except TimeoutError as exc:
        report.add(Figure("ray", "Ray channel", f"not measured: {exc}", ">= 700k msg/s", False))
        return
    finally:
        ray.shutdown()
    size = len(msgspec.msgpack.encode(brc.make_messages(0, 1)[0]))
    ray_budget(s, report, brc, frame)
    report.details["ray"] = {
        "msg_per_s": rates,
        "chunk": chunk,
        "batch_size": frame,
        "rounds": rounds,
        "items_per_producer": items,
        "queue_items_per_producer": queue_items,
        "message_bytes": size,
        "capacity": capacity,
        "startup_seconds": startup,
    }
    report.tables.append(
        (
            f"Ray {V['ray']}: {brc.PRODUCERS} producer tasks -> consumer, {size}-byte messages, "
            f"{items:,} per producer ({queue_items:,} for put/get), send_batch/put batches of "
            f"{chunk:,} and klaw batch_size {frame:,} unless noted, capacity {capacity:,}, "
            f"{rounds} rounds; Ray start-up {startup:.1f} s (msg/s)",
            format_table(
                ["transport: API", "median msg/s", "best msg/s"],
                [[k, f"{statistics.median(v):,.0f}", f"{max(v):,.0f}"] for k, v in rates.items()],
            ),
        )
    )
    med = {k: statistics.median(v) for k, v in rates.items()}

    def paired(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))

    ray_v = f"Ray {V['ray']}"
    for api, name in (("batch", "klaw send_batch / recv_batch"), ("item", "klaw send / async for")):
        report.add(
            Figure(
                f"ray.{api}.throughput",
                f"Ray channel ({ray_v}), {name}, 2 producers -> consumer, {size} B msgs",
                f"{med[name]:,.0f} msg/s",
                ">= 700k msg/s",
                med[name] >= 700_000,
                {"msg_per_s": med[name]},
            )
        )
    for key, ours, peer, target in (
        (
            "batch.vs_queue_batch",
            "klaw send_batch / recv_batch",
            "Queue put_nowait_batch / get_nowait_batch",
            10.0,
        ),
        ("item.vs_queue_put_get", "klaw send / async for", "Queue put / get", 300.0),
    ):
        r = paired(ours, peer)
        report.add(
            Figure(
                f"ray.{key}",
                f"Ray channel {ours} vs ray.util.queue.Queue {peer.removeprefix('Queue ')} ({ray_v})",
                f"{r:,.1f}x  ({med[ours]:,.0f} vs {med[peer]:,.0f} msg/s)",
                f">= {target:g}x",
                r >= target,
                {"ratio": r},
            )
        )
    # The ceiling: Ray alone relaying the same frames through one actor. 10x the
    # Queue batch API needs this much, before any encoding or decoding.
    need = 10 * med["Queue put_nowait_batch / get_nowait_batch"]
    share = paired("klaw send_batch / recv_batch", RELAY)
    report.add(
        Figure(
            "ray.relay_ceiling",
            f"ceiling: Ray {V['ray']} alone relaying the same {frame:,}-message frames "
            "(bytes, 2 producer tasks -> plain async actor -> driver)",
            f"{med[RELAY]:,.0f} msg/s equivalent; klaw send_batch reaches {share:.0%} of it; "
            f"10x the Queue batch API would need {need:,.0f} msg/s "
            f"({need / med[RELAY]:.0%} of the ceiling)",
            "",
            None,
            {"msg_per_s": med[RELAY], "klaw_share": share, "needed_for_10x": need},
        )
    )
    queue_big = f"Queue put_nowait_batch / get_nowait_batch, batch {big:,}"
    for api, name in (("batch", "klaw send_batch / recv_batch"), ("item", "klaw send / async for")):
        tuned = f"{name}, batch_size {big:,}"
        r = paired(tuned, name)
        rq = paired(tuned, queue_big)
        report.add(
            Figure(
                f"ray.{api}.batch_size_{big}",
                f"tuning: {name} with batch_size {big:,} (default {frame:,})",
                f"{med[tuned]:,.0f} msg/s = {r:.2f}x the default; {rq:.1f}x the Queue batch "
                f"API with batches of {big:,}",
                "",
                None,
                {
                    "msg_per_s": med[tuned],
                    "ratio_vs_default_batch": r,
                    "ratio_vs_queue_same_batch": rq,
                },
            )
        )


RELAY = "Ray alone: bytes relay through one actor (ceiling)"

#: Generous seconds per million messages for one Ray run (the slowest, the
#: Queue batch API, moves ~100k msg/s on 2 cores).
SECONDS_PER_MILLION = 120


def _with_deadline(run: Callable[[int], float], n: int, seconds: float, what: str) -> float:
    """Return ``run(n)``; raise ``TimeoutError`` in this (main) thread after ``seconds``."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"{what} did not finish within {seconds:.0f} s (a producer failed?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return run(n)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def ray_budget(s: Settings, report: Report, brc: ModuleType, chunk: int) -> None:
    """CPU per message of what a Ray pipeline does besides Ray, measured in this process.

    On 2 cores the producers, the channel actor, the consumer and Ray's own
    processes share the CPU, so these costs bound the throughput: a producer
    builds and encodes, the consumer decodes and checks; the Queue pickles.
    """
    import pickle

    messages = brc.make_messages(0, chunk)
    header = DataMessage.new(None, channel_id="bench", ts=0).header
    frame = msgspec.msgpack.encode(DataMessage(header, messages))
    g = {
        "brc": brc,
        "n": chunk,
        "enc": msgspec.msgpack.Encoder().encode,
        "DataMessage": DataMessage,
        "header": header,
        "messages": messages,
        "frame": frame,
        "dec": msgspec.msgpack.Decoder(DataMessage[list[brc.Reading]]).decode,
        "pickle": pickle,
    }
    results = interleave(
        [
            Case(
                "producer: build the messages (make_messages)", "brc.make_messages(0, n)", chunk, g
            ),
            Case(
                "producer: encode one DataMessage[list[Reading]] frame",
                "enc(DataMessage(header, messages))",
                chunk,
                g,
            ),
            Case("consumer: decode the frame (typed, validated)", "dec(frame)", chunk, g),
            Case(
                "consumer: the benchmark's order check", "brc.Checker().check(messages)", chunk, g
            ),
            Case(
                "Queue: pickle.dumps + loads of the list",
                "pickle.loads(pickle.dumps(messages, 5))",
                chunk,
                g,
            ),
        ],
        repeats=s.repeats,
        seconds=s.seconds,
    )
    report.samples(f"Ray pipeline CPU budget, batch of {chunk:,} (ns per message)", results)


SECTIONS: dict[str, Callable[[Settings, Report], None]] = {
    "twins": section_twins,
    "framing": section_framing,
    "peek": section_peek,
    "pydantic": section_pydantic,
    "msgpack": section_msgpack,
    "codec": section_codec,
    "optimisations": section_optimisations,
    "local": section_local,
    "ray": section_ray,
}


def header(s: Settings) -> str:
    m = machine()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    vs = ", ".join(f"{k} {v}" for k, v in V.items())
    mode = "quick" if s.quick else "full"
    return (
        f"klaw-core performance figures ({mode}: {s.repeats} interleaved rounds, "
        f"~{s.seconds * 1e3:.0f} ms per case per round)\n"
        f"versions: {vs}\n"
        f"machine: {m['cores']} cores ({m['usable_cores']} usable), {m['cpu']}, {m['platform']}; "
        f"load average {load}"
    )


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(s: Settings, report: Report, elapsed: float, head: str) -> str:
    """The header, the main table and the detail tables, as Markdown."""
    command = " ".join(["python benchmarks/compare.py", *sys.argv[1:]])
    parts = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} with `{command}` ({elapsed:.0f} s).",
        "",
        "```text",
        head,
        f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "```",
        "",
        _md_table(
            ["figure", "measured", "target", "status", "key"],
            [
                [f.title, f.measured, f.target or "-", f.status, f"`{f.key}`"]
                for f in report.figures
            ],
        ),
    ]
    for title, table in report.tables:
        parts += ["", f"**{title}**", "", "```text", table, "```"]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats (< 3 min)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run these sections")
    parser.add_argument(
        "--markdown", metavar="OUT", help="also write the tables as Markdown to OUT (for the docs)"
    )
    args = parser.parse_args(argv)
    settings = Settings.make(args.quick)
    report = Report()
    started = time.perf_counter()
    head = header(settings)
    print(head, flush=True)
    for name in args.only or list(SECTIONS):
        t0 = time.perf_counter()
        print(f"... {name}", file=sys.stderr, flush=True)
        SECTIONS[name](settings, report)
        report.timings[name] = time.perf_counter() - t0
    elapsed = time.perf_counter() - started
    rows = [[f.title, f.measured, f.target or "-", f.status] for f in report.figures]
    print()
    print(format_table(["figure", "measured", "target", "status"], rows))
    for title, table in report.tables:
        print(f"\n{title}\n{table}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\ntotal {elapsed:.0f} s; load average at the end {load}")
    if args.markdown:
        Path(args.markdown).write_text(markdown(settings, report, elapsed, head))
    if args.json:
        out = {
            "versions": V,
            "machine": machine(),
            "settings": vars(settings),
            "load_average_end": os.getloadavg(),
            "seconds": elapsed,
            "section_seconds": report.timings,
            "figures": [f.as_dict() for f in report.figures],
            "details": report.details,
            "tables": dict(report.tables),
        }
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

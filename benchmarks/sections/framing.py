"""What framing adds to bare msgspec on a batch of 1,000 envelopes (``framing.*``)."""

from __future__ import annotations

import msgspec

import klaw_core
from _harness import Case, Settings, interleave
from _report import Report, ratio_figure
from _workloads import BATCH, Order, make_envelopes
from klaw_core.runtime.channels.wire import DataMessage
from sections._cores import CORE


def run(s: Settings, report: Report) -> None:
    """What framing adds to bare msgspec on a batch of 1,000 envelopes."""
    envelopes = make_envelopes(BATCH)
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(DataMessage[Order])
    batch = bytes(CORE.encode_frames(encoder, envelopes))
    bodies = [encoder.encode(e) for e in envelopes]
    size = len(bodies[0])
    pool = CORE.BufferPool(buffer_size=256 * 1024, max_pool=4)
    g = {
        "W": CORE,
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
            Case(
                "decode_frames(batch, max_depth=None)",
                "W.decode_frames(batch, dec, max_depth=None)",
                BATCH,
                g,
            ),
            Case(
                "decode_frames(batch, max_depth=8)",
                "W.decode_frames(batch, dec, max_depth=8)",
                BATCH,
                g,
            ),
            Case(
                "decode_frames(batch, envelopes=True)",
                "W.decode_frames(batch, dec, envelopes=True)",
                BATCH,
                g,
            ),
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
            "framing.depth_guard",
            f"nesting-depth guard, default (max_depth=128; {size}-byte envelopes cannot nest "
            "deeper, so no walk): decode_frames / decode_frames(max_depth=None)",
            results,
            "decode_frames(batch)",
            "decode_frames(batch, max_depth=None)",
            at_most=1.05,
            unit="ns/msg",
        )
    )
    report.add(
        ratio_figure(
            "framing.depth_guard_walk",
            f"nesting-depth guard, every frame walked ({size}-byte envelopes > max_depth=8): "
            "decode_frames(max_depth=8) / decode_frames(max_depth=None)",
            results,
            "decode_frames(batch, max_depth=8)",
            "decode_frames(batch, max_depth=None)",
            unit="ns/msg",
        )
    )
    report.add(
        ratio_figure(
            "framing.envelope_rules",
            "envelope header rules: decode_frames(envelopes=True) / decode_frames",
            results,
            "decode_frames(batch, envelopes=True)",
            "decode_frames(batch)",
            unit="ns/msg",
        )
    )
    report.add(
        ratio_figure(
            "framing.envelopes_vs_map",
            "framing overhead with header rules and depth guard: "
            "decode_frames(envelopes=True) / list(map(Decoder.decode, frames))",
            results,
            "decode_frames(batch, envelopes=True)",
            "list(map(decode, frames))",
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

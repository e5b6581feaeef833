"""Compiled vs pure wire core on the same 1,000-envelope batch (figures ``twins.*``)."""

from __future__ import annotations

import msgspec

from _harness import Case, Settings, interleave
from _report import VERSIONS, Figure, Report, ratio_figure
from _workloads import BATCH, Order, make_envelopes
from klaw_core.runtime.channels.wire import DataMessage
from sections._cores import COMPILED, PURE


def run(s: Settings, report: Report) -> None:
    """Compiled vs pure wire core on the same 1,000-envelope batch."""
    if COMPILED is None:
        report.add(Figure("twins", "compiled wire core", "not built", ">= 10x", False))
        return
    envelopes = make_envelopes(BATCH)
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(DataMessage[Order])
    batch = bytes(COMPILED.encode_frames(encoder, envelopes))
    chunks = [batch[i : i + 4096] for i in range(0, len(batch), 4096)]
    small = encoder.encode(envelopes[0])
    one = [envelopes[0]]
    cases: list[Case] = []
    for label, twin in (("compiled", COMPILED), ("pure", PURE)):
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
    cy = f"Cython {VERSIONS['Cython']}"
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

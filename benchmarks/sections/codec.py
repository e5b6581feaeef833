"""CodecPool reuse vs an Encoder/Decoder per call; encode_into vs encode (``codec.*``, ``alloc.*``)."""

from __future__ import annotations

from typing import Any

import msgspec

from _harness import Case, Settings, interleave
from _report import Report, ratio_figure
from _workloads import make_envelopes
from klaw_core.runtime.channels.codec import CodecPool
from klaw_core.runtime.channels.wire import WireEnvelope
from sections import allocations
from sections._cores import CORE


def run(s: Settings, report: Report) -> None:
    """CodecPool reuse vs building an Encoder/Decoder per call; encode_into vs encode."""
    message = make_envelopes(1)[0]
    codec: CodecPool[Any] = CodecPool()
    data = codec.encode(message)
    pool = CORE.BufferPool(buffer_size=4096, max_pool=4)
    reused = bytearray(4096)
    g = {
        "codec": codec,
        "msg": message,
        "one": [message],
        "data": data,
        "M": msgspec.msgpack,
        "WireEnvelope": WireEnvelope,
        "pool": pool,
        "W": CORE,
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
    for fig in allocations.figures(CORE):
        report.add(fig)

"""What each design choice buys: array_like, gc=False, batching a list in one frame (``opt.*``)."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

import msgspec

from _harness import Case, Settings, interleave
from _report import Figure, Report, ratio_figure
from _workloads import BATCH, GcData, MapData, Order, make_envelopes, map_twin
from klaw_core.runtime.channels.wire import DataMessage
from sections._cores import CORE


def run(s: Settings, report: Report) -> None:
    """What each design choice buys: array_like, gc=False, batching a list in one frame."""
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
    batch = bytes(CORE.encode_frames(enc, envelopes))
    pool = CORE.BufferPool(buffer_size=256 * 1024, max_pool=4)
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
        "W": CORE,
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

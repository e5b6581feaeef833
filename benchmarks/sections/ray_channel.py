"""Ray channel vs ``ray.util.queue.Queue``, with ``bench_ray_channel``'s runs (``ray.*``)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from types import ModuleType

import msgspec

from _harness import Case, Settings, interleave, median_ratio, rotate_rounds, with_deadline
from _report import VERSIONS, Figure, Report, rate_figure
from klaw_core.runtime.channels.wire import DataMessage


def run(s: Settings, report: Report) -> None:
    """Ray channel vs ray.util.queue.Queue, with ``bench_ray_channel``'s runs.

    2 producer Ray tasks -> the consumer (this process), ~100-byte typed
    messages (``bench_ray_channel.Reading``), every arrival checked for order
    and loss. Each transport is warmed up once (workers, imports, first actor);
    then rounds run every transport in rotated order, and ratios are taken
    within a round. The channel clock starts at the first message received, so
    producer task start-up is excluded (steady state). A second configuration
    with bigger batches (for both klaw and the Queue) shows what batch size buys.
    Figures: throughput; klaw vs the Queue's batch API with the same batch on
    both sides (4,096 and 65,536 items; klaw at its defaults); klaw's share of
    Ray's bare relay of the same bytes (the ceiling); one message's latency
    (p50/p99) vs the Queue and a bare actor call.
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
    capacity, chunk, big = 131_072, 4096, BIG
    frame = load_config().channels.batch_size  # what channel() uses when not told
    startup = brc.start_ray(ray)

    def klaw(frames: int, batched: bool, size: int = chunk) -> Callable[[int], float]:
        return lambda n: brc.run_klaw(ray, n, size, capacity, batched, frames)

    def queue(batch: int) -> Callable[[int], float]:
        return lambda n: brc.run_queue(ray, n, batch, capacity)

    runs: dict[str, tuple[Callable[[int], float], int]] = {
        "klaw send / async for": (klaw(frame, False), items),
        "klaw send_batch / recv_batch": (klaw(frame, True), items),
        "Queue put_nowait_batch / get_nowait_batch": (queue(chunk), items),
        "Queue put / get": (queue(0), queue_items),
        SAME_BATCH: (klaw(frame, True, big), items),
        f"klaw send / async for, batch_size {big:,}": (klaw(big, False), items),
        f"klaw send_batch / recv_batch, batch_size {big:,}": (klaw(big, True), items),
        f"Queue put_nowait_batch / get_nowait_batch, batch {big:,}": (queue(big), items),
        RELAY: (lambda n: brc.run_relay(ray, n, frame, capacity), items),
    }
    # bench_ray_channel's consumers wait for every message; if a producer task
    # dies they would wait forever, so each run gets a deadline.
    deadline = 60 + SECONDS_PER_MILLION * brc.PRODUCERS * items / 1e6
    try:
        samples = 60 if s.quick else 200
        _latency(report, brc.latency(ray, samples, 0.02), brc.latency(ray, samples, 0.02, block=1))
        for name, (run, n) in runs.items():  # warm-up
            with_deadline(run, min(n, 20_000), deadline, f"{name} (warm-up)")
        rates = rotate_rounds(
            {
                name: (lambda name=name, run=run, n=n: with_deadline(run, n, deadline, name))
                for name, (run, n) in runs.items()
            },
            rounds,
        )
    except TimeoutError as exc:
        report.add(Figure("ray", "Ray channel", f"not measured: {exc}", ">= 700k msg/s", False))
        return
    finally:
        ray.shutdown()
    size = len(msgspec.msgpack.encode(brc.make_messages(0, 1)[0]))
    _cpu_budget(s, report, brc, frame)
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
    report.table(
        f"Ray {VERSIONS['ray']}: {brc.PRODUCERS} producer tasks -> consumer, {size}-byte messages, "
        f"{items:,} per producer ({queue_items:,} for put/get), send_batch/put batches of "
        f"{chunk:,} and klaw batch_size {frame:,} unless noted, capacity {capacity:,}, "
        f"{rounds} rounds; Ray start-up {startup:.1f} s (msg/s)",
        ["transport: API", "median msg/s", "best msg/s"],
        [[k, f"{statistics.median(v):,.0f}", f"{max(v):,.0f}"] for k, v in rates.items()],
    )
    med = {k: statistics.median(v) for k, v in rates.items()}

    def paired(a: str, b: str) -> float:
        return median_ratio(rates[a], rates[b])

    ray_v = f"Ray {VERSIONS['ray']}"
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
    for key, ours, peer, target, title in (
        (
            "batch.vs_queue_batch",
            "klaw send_batch / recv_batch",
            "Queue put_nowait_batch / get_nowait_batch",
            10.0,
            "",
        ),
        ("item.vs_queue_put_get", "klaw send / async for", "Queue put / get", 300.0, ""),
        # The same batch on both sides, klaw at its defaults: at least 2x at every size.
        (
            f"batch.vs_queue_batch_{chunk}",
            "klaw send_batch / recv_batch",
            "Queue put_nowait_batch / get_nowait_batch",
            2.0,
            f"same batch of {chunk:,} items on both sides",
        ),
        (
            f"batch.vs_queue_batch_{big}",
            SAME_BATCH,
            f"Queue put_nowait_batch / get_nowait_batch, batch {big:,}",
            2.0,
            f"same batch of {big:,} items on both sides",
        ),
    ):
        report.add(
            rate_figure(
                f"ray.{key}",
                f"Ray channel ({ray_v}, defaults) vs ray.util.queue.Queue batch API, {title}"
                if title
                else f"Ray channel {ours} vs ray.util.queue.Queue {peer.removeprefix('Queue ')} ({ray_v})",
                rates,
                ours,
                peer,
                at_least=target,
                precision=1,
            )
        )
    # The ceiling: Ray alone relaying the same frames through one actor. 10x the
    # Queue batch API needs this much, before any encoding or decoding.
    need = 10 * med["Queue put_nowait_batch / get_nowait_batch"]
    share = paired("klaw send_batch / recv_batch", RELAY)
    report.add(
        Figure(
            "ray.relay_ceiling",
            f"ceiling: Ray {VERSIONS['ray']} alone relaying the same {frame:,}-message frames "
            "(bytes, 2 producer tasks -> plain async actor -> driver); klaw send_batch's share",
            f"{share:.0%}: klaw {med['klaw send_batch / recv_batch']:,.0f} vs "
            f"{med[RELAY]:,.0f} msg/s equivalent; "
            f"10x the Queue batch API would need {need:,.0f} msg/s "
            f"({need / med[RELAY]:.0%} of the ceiling)",
            ">= 60% (never < 40%)",
            share >= 0.6,
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
#: The bigger batch: klaw's send_batch chunk and batch_size, and the Queue's batch.
BIG = 65_536
SAME_BATCH = f"klaw send_batch / recv_batch, send_batch of {BIG:,}"

KLAW_LATENCY, QUEUE_LATENCY, BARE_LATENCY = (
    "klaw channel",
    "ray.util.queue.Queue",
    "bare actor call",
)
ONE_ARGUMENT, TWO_ARGUMENTS = (
    "bare actor call, 1 bytes argument",
    "bare actor call, 2 bytes arguments",
)


def _medians_ms(lat: dict[str, list[float]]) -> dict[str, float]:
    """Each transport's median latency, in milliseconds."""
    return {name: statistics.median(values) * 1e3 for name, values in lat.items()}


def _latency(report: Report, lat: dict[str, list[float]], sparse: dict[str, list[float]]) -> None:
    """The latency table (p50/p99 of each transport) and the figures klaw vs the Queue at p50.

    ``lat``: each transport's messages one every 20 ms (the transports take
    turns in blocks); ``sparse``: one message per transport per round, so each
    transport's messages come about 110 ms apart, with the others' between.
    """
    p50 = _medians_ms(lat)
    p99 = {name: statistics.quantiles(values, n=100)[98] * 1e3 for name, values in lat.items()}
    sparse50 = _medians_ms(sparse)
    report.table(
        "Ray: latency of one message under light load, ms (one every 20 ms per transport; "
        "sparse: each transport once per round, ~110 ms apart)",
        ["transport", "p50", "p99", "sparse p50"],
        [[name, f"{p50[name]:.2f}", f"{p99[name]:.2f}", f"{sparse50[name]:.2f}"] for name in lat],
    )
    ours, queue, bare = p50[KLAW_LATENCY], p50[QUEUE_LATENCY], p50[BARE_LATENCY]
    report.add(
        Figure(
            "ray.latency.p50_vs_queue",
            f"Ray channel ({VERSIONS['ray']}): one message every 20 ms, p50 vs "
            "ray.util.queue.Queue and a bare async actor call, same run",
            f"{ours:.2f} ms vs Queue {queue:.2f} ms ({ours / queue:.2f}x), bare call "
            f"{bare:.2f} ms; p99 {p99[KLAW_LATENCY]:.2f} / {p99[QUEUE_LATENCY]:.2f} / "
            f"{p99[BARE_LATENCY]:.2f} ms",
            "<= the Queue's p50",
            ours <= queue,
            {"p50_ms": p50, "p99_ms": p99, "ratio_vs_queue": ours / queue},
        )
    )
    ours, queue = sparse50[KLAW_LATENCY], sparse50[QUEUE_LATENCY]
    report.add(
        Figure(
            "ray.latency.sparse_p50_vs_queue",
            f"Ray channel ({VERSIONS['ray']}): one message per transport every ~110 ms, "
            "the other transports' traffic between (colder paths), p50 vs ray.util.queue.Queue",
            f"{ours:.2f} ms vs Queue {queue:.2f} ms ({ours / queue:.2f}x), bare call "
            f"{sparse50[BARE_LATENCY]:.2f} ms",
            "",
            None,
            {"p50_ms": sparse50, "ratio_vs_queue": ours / queue},
        )
    )
    one, two = p50[ONE_ARGUMENT], p50[TWO_ARGUMENTS]
    report.add(
        Figure(
            "ray.latency.second_argument",
            f"Ray ({VERSIONS['ray']}): a bare actor call with two small bytes arguments vs "
            "the same bytes in one (why a small put carries its frames in its call), p50",
            f"{two:.2f} vs {one:.2f} ms: a second argument costs {two - one:+.2f} ms "
            f"({two / one:.3f}x)",
            "",
            None,
            {"one_ms": one, "two_ms": two},
        )
    )


#: Generous seconds per million messages for one Ray run (the slowest, the
#: Queue batch API, moves ~100k msg/s on 2 cores).
SECONDS_PER_MILLION = 120


def _cpu_budget(s: Settings, report: Report, brc: ModuleType, chunk: int) -> None:
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

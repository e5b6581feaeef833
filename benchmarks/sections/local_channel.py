"""klaw local channel vs anyio memory object stream vs asyncio.Queue (``local.*``).

The runs are ``bench_local_channel``'s; transports alternate in rotated rounds.
"""

from __future__ import annotations

import argparse
import statistics

from _harness import Settings, rotate_rounds
from _report import VERSIONS, Report, rate_figure


def run(s: Settings, report: Report) -> None:
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
        rates = rotate_rounds(
            {
                name: (lambda runner=runner: blc.measure(runner, args))
                for name, runner in runners.items()
            },
            args.rounds,
        )
        medians = {k: statistics.median(v) for k, v in rates.items()}
        report.details.setdefault("local", {})[variant] = {"msg_per_s": rates, "args": vars(args)}
        report.table(
            f"local channel, {variant} API: 2 producers x {args.items:,} ints, 1 consumer, "
            f"capacity {args.capacity} (msg/s)",
            ["transport", "median msg/s", "best msg/s"],
            [[k, f"{medians[k]:,.0f}", f"{max(v):,.0f}"] for k, v in rates.items()],
        )
        for peer, dist in (("anyio stream", "anyio"), ("asyncio.Queue", None)):
            label = f"anyio {VERSIONS['anyio']} memory object stream" if dist else "asyncio.Queue"
            report.add(
                rate_figure(
                    f"local.{variant}.{dist or 'asyncio'}",
                    f"local channel vs {label}, {variant} API",
                    rates,
                    "klaw local",
                    peer,
                    at_least=5.0 if dist else None,
                    values={
                        "klaw_msg_per_s": medians["klaw local"],
                        "peer_msg_per_s": medians[peer],
                    },
                )
            )

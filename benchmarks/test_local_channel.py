"""Local channel throughput vs anyio and asyncio.Queue (``bench_local_channel`` runners).

One benchmark round is one whole run: 2 producers x 20,000 ints through a
channel of capacity 1,024 to one consumer, on a fresh event loop. The
runners, and the check that every item arrived, are ``bench_local_channel``'s.
"""

from __future__ import annotations

import argparse

import pytest

import bench_local_channel as blc

ARGS = argparse.Namespace(items=20_000, producers=2, capacity=1024, chunk=256, take=1024)


@pytest.mark.parametrize("variant", list(blc.VARIANTS))
@pytest.mark.parametrize("transport", ["klaw local", "anyio stream", "asyncio.Queue"])
def test_channel_throughput(benchmark, variant: str, transport: str) -> None:
    benchmark.group = f"local channel, {variant} API (2 x 20,000 items)"
    runner = blc.VARIANTS[variant][transport]
    rate = benchmark.pedantic(blc.measure, args=(runner, ARGS), rounds=3, iterations=1)
    benchmark.extra_info["msg_per_s"] = rate
    assert rate > 0

"""Ray channel vs ``ray.util.queue.Queue`` (``bench_ray_channel``'s runs).

2 producer Ray tasks -> the consumer in this process, ~100-byte typed
messages, every arrival checked. One benchmark round is one whole run; the
first (warm-up) round starts the workers and is not timed. ``extra_info``
records msg/s (the clock of a run starts at its first message received).
Skipped when Ray is not installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

ray = pytest.importorskip("ray")
import bench_ray_channel as brc  # noqa: E402
from klaw_core.runtime.config import load_config  # noqa: E402

ITEMS = 100_000  # per producer
QUEUE_ITEMS = 500  # per producer, for put/get (one actor call each)
CAPACITY = 131_072


@pytest.fixture(scope="module")
def ray_session() -> Iterator[Any]:
    """A local Ray whose workers can import ``bench_ray_channel`` (for ``Reading``)."""
    brc.start_ray(ray)
    yield ray
    ray.shutdown()


#: Messages per ``send_batch``/``put_nowait_batch`` call.
CHUNK = 4096
#: The klaw sender's frame size: what ``channel()`` uses when not told.
BATCH_SIZE = load_config().channels.batch_size

RUNS: dict[str, Callable[[Any, int], float]] = {
    "klaw send_batch / recv_batch": lambda r, n: brc.run_klaw(
        r, n, CHUNK, CAPACITY, True, BATCH_SIZE
    ),
    "klaw send / async for": lambda r, n: brc.run_klaw(r, n, CHUNK, CAPACITY, False, BATCH_SIZE),
    "Queue put_nowait_batch / get_nowait_batch": lambda r, n: brc.run_queue(r, n, CHUNK, CAPACITY),
    "Queue put / get": lambda r, n: brc.run_queue(r, n, 0, CAPACITY),
}


@pytest.mark.ray
@pytest.mark.benchmark(group="Ray channel vs ray.util.queue.Queue (2 producer tasks)")
@pytest.mark.parametrize("transport", list(RUNS))
def test_ray_throughput(benchmark, ray_session: Any, transport: str) -> None:
    items = QUEUE_ITEMS if transport == "Queue put / get" else ITEMS
    run = RUNS[transport]
    rates: list[float] = []

    def once() -> None:
        rates.append(run(ray_session, items))

    benchmark.pedantic(once, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info["msg_per_s"] = rates[1:]
    assert min(rates) > 0

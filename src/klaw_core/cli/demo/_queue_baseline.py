"""The baseline: the same producers -> ``ray.util.queue.Queue`` -> this process.

What people reach for today, measured in the same run on the same machine:
batch calls (``put_nowait_batch``/``get_nowait_batch``) and, on a smaller
count, one call per item (``put``/``get``).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from typing import Any

from klaw_core.cli.demo._events import Progress, RunResult
from klaw_core.cli.demo._pipeline import WARMUP_PER_PRODUCER
from klaw_core.cli.demo._watch import POLL, Checker, Watch, dispatch
from klaw_core.runtime.config import KlawConfig

__all__ = ["run_queue"]


def _consume_queue(queue: Any, total: int, checker: Checker, watch: Watch, batched: bool) -> None:
    empty: Any = importlib.import_module("ray.util.queue").Empty
    received = 0
    while received < total:
        if not batched:
            try:
                items = [queue.get(timeout=POLL)]
            except empty:
                watch.check_producers()
                continue
        else:
            available = queue.qsize()
            if not available:
                watch.check_producers()
                time.sleep(0.0005)
                continue
            items = queue.get_nowait_batch(min(available, total - received))
        received += checker.check(items)
        watch.advance(received)


def run_queue(
    ray: Any,
    actors: Sequence[Any],
    config: KlawConfig,
    messages: int,
    queue_items: int,
    progress: Progress | None,
) -> list[RunResult]:
    transport = "ray.util.queue.Queue"
    queue_module: Any = importlib.import_module("ray.util.queue")
    batch = min(config.channels.batch_size, config.channels.capacity)
    queue = queue_module.Queue(maxsize=0 if config.channels.unbounded else config.channels.capacity)
    try:
        checkers = {True: Checker(transport, len(actors)), False: Checker(transport, len(actors))}

        def run(label: str, total: int, batched: bool) -> float:
            per_call = batch if batched else None
            started, refs, watch = dispatch(
                ray,
                actors,
                label,
                total,
                progress,
                lambda actor, n: actor.put_queue.remote(queue, n, per_call),
            )
            _consume_queue(queue, total, checkers[batched], watch, batched)
            elapsed = time.perf_counter() - started
            ray.get(refs)
            return elapsed

        run(f"{transport}, warm-up", WARMUP_PER_PRODUCER * len(actors), True)
        api = "put_nowait_batch / get_nowait_batch"
        results = [RunResult(transport, api, messages, run(f"{transport}, batch", messages, True))]
        if queue_items:
            seconds = run(f"{transport}, per item", queue_items, False)
            results.append(RunResult(transport, "put / get", queue_items, seconds))
        return results
    finally:
        queue.shutdown()

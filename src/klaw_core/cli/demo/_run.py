"""``run_demo``: both pipelines, one after the other, on the same producer actors."""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import platform
from typing import Any

import msgspec

import klaw_core
from klaw_core.cli.demo._events import DemoReport, Progress
from klaw_core.cli.demo._pipeline import run_channel
from klaw_core.cli.demo._producer import DemoProducer
from klaw_core.cli.demo._queue_baseline import run_queue
from klaw_core.cli.demo._ray_start import start_ray
from klaw_core.runtime.config import KlawConfig

__all__ = ["run_demo"]


def run_demo(
    config: KlawConfig,
    *,
    messages: int = 200_000,
    producers: int = 2,
    queue_items: int = 2_000,
    progress: Progress | None = None,
) -> DemoReport:
    """Run the demo pipelines and return the measured runs.

    Args:
        config: Ray address/namespace, channel capacity and batch size.
        messages: messages per timed channel run and per Queue batch run.
        producers: producer actors (each sends an equal share).
        queue_items: messages of the one-call-per-item ``Queue`` run (0 skips it).
        progress: called as ``progress(label, done, total)`` while consuming.

    Returns:
        The :class:`DemoReport`.

    Raises:
        ValueError: ``messages`` or ``producers`` is below 1, or ``queue_items`` below 0.
        ImportError: Ray is not installed.
        ConnectionError: ``config.ray.address`` names a ``host:port`` that does
            not answer (see :func:`check_reachable`).
        RuntimeError: a message was lost, duplicated or reordered, or a producer failed.

    Example:
        A run starts Ray (or uses the one already connected) and takes seconds:

        >>> from klaw_core.runtime.config import load_config
        >>> report = run_demo(load_config(), messages=20_000)  # doctest: +SKIP
        >>> [(run.transport, run.api) for run in report.runs]  # doctest: +SKIP
        [('klaw Ray channel', 'send_batch / recv_batch'), ('klaw Ray channel', 'send / async for'),
         ('ray.util.queue.Queue', 'put_nowait_batch / get_nowait_batch'),
         ('ray.util.queue.Queue', 'put / get')]

        Arguments are checked before Ray is touched:

        >>> run_demo(KlawConfig(), producers=0)
        Traceback (most recent call last):
        ...
        ValueError: messages and producers must be >= 1, queue_items >= 0
    """
    if messages < 1 or producers < 1 or queue_items < 0:
        raise ValueError("messages and producers must be >= 1, queue_items >= 0")
    try:
        ray: Any = importlib.import_module("ray")
    except ModuleNotFoundError as exc:
        raise ImportError("klaw demo needs Ray: pip install 'klaw-core[ray]'") from exc
    started = start_ray(ray, config)
    actors: list[Any] = []
    try:
        remote = ray.remote(DemoProducer)
        actors = [remote.remote(i) for i in range(producers)]
        runs = asyncio.run(run_channel(ray, actors, config, messages, progress))
        runs += run_queue(ray, actors, config, messages, queue_items, progress)
        if not started:
            address = "already connected"
        else:
            address = config.ray.address or "local (started by klaw demo)"
        return DemoReport(
            runs=tuple(runs),
            producers=producers,
            capacity=None if config.channels.unbounded else config.channels.capacity,
            batch_size=config.channels.batch_size,
            ray=address,
            versions={
                "klaw-core": f"{klaw_core.__version__} ({klaw_core.IMPLEMENTATION})",
                "msgspec": msgspec.__version__,
                "Ray": importlib.metadata.version("ray"),
                "Python": platform.python_version(),
            },
        )
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()

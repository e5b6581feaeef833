"""The pipeline behind ``klaw demo``: typed producers → a Ray channel → one consumer.

It also runs the same pipeline over ``ray.util.queue.Queue``, the tool people
reach for today, so the throughput table compares both **in the same run on the
same machine**: batch calls (``put_nowait_batch``/``get_nowait_batch``) and,
on a smaller count, one call per item (``put``/``get``).

How it measures, and why:

- Producers are Ray actors (:class:`DemoProducer`), one process each; the
  consumer is this process. Actors and the channel are created and a warm-up
  round is sent *before* any clock starts: a Ray worker takes about 2 s to
  start, which is not channel throughput.
- A run's time is from dispatching the producers' calls to the consumer holding
  the last message. Every message is checked on arrival: its type, and that each
  producer's sequence numbers arrive in order with none missing. A run that
  loses, duplicates or reorders a message fails instead of reporting a rate.
- A producer that fails is noticed within half a second (its error is raised
  here); the consumer never waits forever.

The modules: ``_events`` (the message and the report), ``_producer`` (the
producer actor), ``_watch`` (checking arrivals and producers), ``_pipeline``
(the klaw channel run), ``_queue_baseline`` (the ``ray.util.queue`` run),
``_ray_start`` (connecting to or starting Ray), ``_run`` (:func:`run_demo`).

Ray is imported only when a demo runs; importing this module is cheap.
"""

from __future__ import annotations

from klaw_core.cli.demo._events import DemoEvent, DemoReport, Progress, RunResult, split_evenly
from klaw_core.cli.demo._producer import DemoProducer
from klaw_core.cli.demo._ray_start import check_reachable
from klaw_core.cli.demo._run import run_demo

__all__ = [
    "DemoEvent",
    "DemoProducer",
    "DemoReport",
    "Progress",
    "RunResult",
    "check_reachable",
    "run_demo",
    "split_evenly",
]

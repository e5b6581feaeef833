"""What the consumer loops check: every arrival (type, order, none missing) and the producers.

A run that loses, duplicates or reorders a message fails instead of reporting a
rate; a producer that fails is noticed within :data:`POLL` seconds; once every
producer has returned, the rest must arrive within :data:`STALL` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from klaw_core.cli.demo._events import DemoEvent, Progress, split_evenly

__all__ = ["POLL", "STALL", "Checker", "Watch", "dispatch"]

POLL: Final = 0.5  # seconds between checks that the producers are still alive
STALL: Final = 30.0  # seconds to wait for the rest once every producer has finished
_PROGRESS_EVERY: Final = 0.1


class Checker:
    """Checks arrivals: type, and per-producer sequence numbers in order, none missing."""

    def __init__(self, transport: str, producers: int) -> None:
        self._transport = transport
        self._next = [0] * producers

    def check(self, items: Iterable[object]) -> int:
        expected = self._next
        count = 0
        for item in items:
            if type(item) is not DemoEvent:
                raise RuntimeError(
                    f"{self._transport} delivered {type(item).__name__}, not DemoEvent"
                )
            if item.seq != expected[item.producer]:
                raise RuntimeError(
                    f"{self._transport}: producer {item.producer} message {item.seq} arrived "
                    f"where {expected[item.producer]} was due (lost or reordered)"
                )
            expected[item.producer] += 1
            count += 1
        return count


class Watch:
    """Progress reporting and producer health, shared by every consumer loop."""

    def __init__(
        self, ray: Any, refs: Sequence[Any], label: str, total: int, progress: Progress | None
    ) -> None:
        self._ray = ray
        self._refs = list(refs)
        self._label = label
        self._total = total
        self._progress = progress
        self._last = 0.0
        self._done = 0
        self._finished_at: float | None = None

    def advance(self, done: int) -> None:
        self._done = done
        now = time.perf_counter()
        if self._progress is not None and (
            now - self._last >= _PROGRESS_EVERY or done >= self._total
        ):
            self._last = now
            self._progress(self._label, done, self._total)

    def check_producers(self) -> None:
        """Raise if a producer call failed, or if they all finished and messages stay missing.

        ``ray.get`` re-raises a failed call's error. Once every producer has
        returned, everything was sent; if the rest does not arrive within
        :data:`STALL` seconds, messages were lost, and waiting longer is pointless.
        """
        ready, _ = self._ray.wait(self._refs, num_returns=len(self._refs), timeout=0)
        for ref in ready:
            self._ray.get(ref)
        if len(ready) < len(self._refs):
            return
        now = time.perf_counter()
        if self._finished_at is None:
            self._finished_at = now
        elif now - self._finished_at > STALL:
            raise RuntimeError(
                f"{self._label}: every producer finished, but only {self._done} of "
                f"{self._total} messages arrived within {STALL:.0f} s"
            )


def dispatch(
    ray: Any,
    actors: Sequence[Any],
    label: str,
    total: int,
    progress: Progress | None,
    call: Callable[[Any, int], Any],
) -> tuple[float, list[Any], Watch]:
    """Dispatch each producer's share of ``total``; return the start time, the calls, a watch."""
    started = time.perf_counter()
    refs = [
        call(actor, n) for actor, n in zip(actors, split_evenly(total, len(actors)), strict=True)
    ]
    return started, refs, Watch(ray, refs, label, total, progress)

"""What the demo moves and what it reports: the event, a run's result, the report.

:class:`DemoEvent` lives in an importable module, not in ``__main__``: Ray
workers must import a type to unpickle it.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

__all__ = ["DemoEvent", "DemoReport", "Progress", "RunResult", "make_event", "split_evenly"]

#: ``progress(label, done, total)``: called from the consumer loop at most ~10 times a second.
Progress = Callable[[str, int, int], None]


class DemoEvent(msgspec.Struct, frozen=True, gc=False):
    """One message of the demo: a sensor reading, as a producer would emit it.

    Attributes:
        producer: index of the producer that sent it.
        seq: the producer's sequence number, from 0 within one pipeline.
        sensor: which sensor.
        value: the reading.

    Example:
        >>> event = DemoEvent(producer=1, seq=0, sensor="sensor-0", value=0.5)
        >>> event.producer, event.seq
        (1, 0)
        >>> msgspec.msgpack.decode(msgspec.msgpack.encode(event), type=DemoEvent) == event
        True
    """

    producer: int
    seq: int
    sensor: str
    value: float


def make_event(producer: int, seq: int) -> DemoEvent:
    """The ``seq``-th event of producer ``producer``: its reading is derived from ``seq``.

    Example:
        >>> make_event(1, 3)
        DemoEvent(producer=1, seq=3, sensor='sensor-3', value=1.5)
    """
    return DemoEvent(producer, seq, f"sensor-{seq % 16}", seq * 0.5)


def split_evenly(total: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` counts that differ by at most one.

    Args:
        total: the count to share out, 0 or more.
        parts: how many shares, at least 1.

    Returns:
        ``parts`` counts summing to ``total``, the larger ones first.

    Example:
        >>> split_evenly(10, 3)
        [4, 3, 3]
    """
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class RunResult(msgspec.Struct, frozen=True):
    """One timed run of a pipeline.

    Attributes:
        transport: ``"klaw Ray channel"`` or ``"ray.util.queue.Queue"``.
        api: the calls used on each side.
        messages: messages delivered (and checked).
        seconds: wall time from dispatch to the last message received.

    Example:
        >>> run = RunResult("klaw Ray channel", "send_batch / recv_batch", 200_000, 0.25)
        >>> run.messages, run.rate
        (200000, 800000.0)
    """

    transport: str
    api: str
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds if self.seconds > 0 else float("inf")


class DemoReport(msgspec.Struct, frozen=True):
    """Everything ``klaw demo`` prints: the runs, the settings, the versions.

    Attributes:
        runs: the timed runs, klaw channel first, then ``ray.util.queue.Queue``.
        producers: producer actors used.
        capacity: channel and queue capacity; ``None`` when unbounded.
        batch_size: ``channels.batch_size``: messages a sender packs into one call.
        ray: the configured address, ``"local (started by klaw demo)"`` or
            ``"already connected"``.
        versions: name to version of klaw-core (and its wire core), msgspec,
            Ray and Python.

    Example:
        >>> run = RunResult("klaw Ray channel", "send / async for", 2_000, 0.5)
        >>> report = DemoReport((run,), 2, 65_536, 16_384, "local", {"Python": "3.11.7"})
        >>> report.runs[0].rate, report.capacity
        (4000.0, 65536)
    """

    runs: tuple[RunResult, ...]
    producers: int
    capacity: int | None
    batch_size: int
    ray: str
    versions: dict[str, str]

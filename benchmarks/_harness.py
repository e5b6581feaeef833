"""The timing harness every ``compare.py`` section shares: interleaved cases, ratios.

Why these helpers and not bare ``timeit`` calls: every figure klaw-core
publishes is a *ratio* between two implementations measured in the same
process, on a 2-core machine where a background task can slow one run by 30%.
Measuring A fully and then B fully lets such a burst land on one side only.
So:

- each case is calibrated once (how many loops fill one repeat), then the
  cases are run **interleaved**: round 1 runs A, B, C; round 2 runs B, C, A;
  and so on (rotated, so no case always runs first after a context switch);
- a ratio is the median of the per-round ratios (the two numbers of one
  round were taken seconds apart, so a slow patch affects both), and every
  case also reports its min and median time;
- timing loops are ``timeit`` loops (a statement string compiled into the
  loop, so no extra Python call per iteration when the case allows it), with
  the garbage collector off unless the case is about the collector.

Nothing here asserts a number: results are reported, never compared against
a threshold inside a unit test.
"""

from __future__ import annotations

import gc
import os
import platform
import signal
import statistics
import sys
import timeit
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

__all__ = [
    "Case",
    "Samples",
    "Settings",
    "interleave",
    "machine",
    "median_ratio",
    "paired_ratio",
    "rotate_rounds",
    "versions",
    "with_deadline",
]


@dataclass(frozen=True)
class Settings:
    """How long to measure: rounds and the duration of one repeat of one case."""

    quick: bool
    repeats: int
    seconds: float

    @classmethod
    def make(cls, quick: bool) -> Settings:
        """Quick: 11 rounds of 15 ms per case; full: 21 rounds of 60 ms.

        Many short rounds rather than a few long ones: the two sides of a ratio
        are then measured within a fraction of a second of each other, and the
        median of many per-round ratios shrugs off the rounds a burst of load hit.
        """
        return cls(quick, 11, 0.015) if quick else cls(quick, 21, 0.06)


@dataclass(frozen=True)
class Case:
    """One thing to time.

    Attributes:
        name: unique label within one :func:`interleave` call.
        stmt: a statement string (run with ``globals``) or a zero-argument
            callable. One execution performs ``ops`` operations.
        ops: operations per execution (e.g. 1,000 for a batch of 1,000 messages),
            so results are per operation.
        globals: names the statement string uses.
        gc_enabled: keep the garbage collector on while timing (for figures
            about the collector itself); off by default, as in ``timeit``.
    """

    name: str
    stmt: str | Callable[[], object]
    ops: int = 1
    globals: Mapping[str, Any] = field(default_factory=dict)
    gc_enabled: bool = False

    def timer(self) -> timeit.Timer:
        """Build the ``timeit.Timer`` that runs this case."""
        setup: str | Callable[[], object] = "pass"
        if self.gc_enabled:
            # timeit disables the collector before running setup; re-enable it.
            setup = "gc.enable()" if isinstance(self.stmt, str) else gc.enable
        glb = {"gc": gc, **self.globals}
        return timeit.Timer(self.stmt, setup=setup, globals=glb)


@dataclass
class Samples:
    """Per-repeat times of one case, in nanoseconds per operation."""

    name: str
    ns: list[float]
    number: int  # loop count of one repeat

    @property
    def min(self) -> float:
        """Fastest repeat (ns/op): the least disturbed run."""
        return min(self.ns)

    @property
    def median(self) -> float:
        """Median repeat (ns/op)."""
        return statistics.median(self.ns)

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form."""
        return {
            "min_ns": self.min,
            "median_ns": self.median,
            "repeats_ns": self.ns,
            "loops": self.number,
        }


def _calibrate(timer: timeit.Timer, seconds: float) -> int:
    """Loops per repeat so that one repeat lasts about ``seconds``."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= seconds / 5 or number >= 10**8:
            break
        number *= 10 if elapsed < seconds / 50 else 2
    return max(1, round(number * seconds / max(elapsed, 1e-9)))


def interleave(
    cases: Sequence[Case], *, repeats: int, seconds: float, warmup: bool = True
) -> dict[str, Samples]:
    """Time ``cases`` side by side: calibrate each, then run rounds in rotated order.

    Args:
        cases: what to time (names must be unique).
        repeats: rounds; each round runs every case once.
        seconds: target duration of one repeat of one case.
        warmup: run each case once, untimed, before calibrating.

    Returns:
        ``{case name: Samples}`` in the order of ``cases``.

    Example:
        >>> out = interleave([Case("add", "1 + 1"), Case("mul", "2 * 3")], repeats=2, seconds=0.001)
        >>> sorted(out), len(out["add"].ns)
        (['add', 'mul'], 2)
    """
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise ValueError(f"case names must be unique: {names}")
    timers = [c.timer() for c in cases]
    if warmup:
        for t in timers:
            t.timeit(1)
    numbers = [_calibrate(t, seconds) for t in timers]
    results = {c.name: Samples(c.name, [], n) for c, n in zip(cases, numbers, strict=True)}
    count = len(cases)
    for r in range(repeats):
        for k in range(count):
            i = (k + r) % count
            case, timer, number = cases[i], timers[i], numbers[i]
            elapsed = timer.timeit(number)
            results[case.name].ns.append(elapsed / number / case.ops * 1e9)
    return results


def paired_ratio(slow: Samples, fast: Samples) -> float:
    """How many times faster ``fast`` is than ``slow``: median of per-round ratios.

    Both must come from the same :func:`interleave` call (same rounds).

    Example:
        >>> paired_ratio(Samples("a", [10, 12, 30], 1), Samples("b", [1, 1, 2], 1))
        12.0
    """
    return median_ratio(slow.ns, fast.ns)


def median_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """Median of ``a[i] / b[i]``: a ratio of two quantities measured in the same rounds.

    Example:
        >>> median_ratio([10, 12, 30], [1, 1, 2])
        12.0
    """
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def rotate_rounds(runs: Mapping[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Call every run once a round, in rotated order; return what each call returned.

    For measurements too long for :func:`interleave` (a channel moving 100,000
    messages returns its msg/s): round 1 runs A, B, C; round 2 runs B, C, A; ...
    Pair the lists with :func:`median_ratio`.

    Example:
        >>> rotate_rounds({"a": lambda: 1.0, "b": lambda: 2.0}, 2)
        {'a': [1.0, 1.0], 'b': [2.0, 2.0]}
    """
    names = list(runs)
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for k in range(len(names)):
            name = names[(k + r) % len(names)]
            out[name].append(runs[name]())
    return out


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """Versions of everything a figure depends on, and the wire core in use."""
    import klaw_core

    return {
        "python": platform.python_version(),
        "msgspec": _version("msgspec"),
        "Cython": _version("Cython"),
        "klaw-core": f"{klaw_core.__version__} ({klaw_core.IMPLEMENTATION})",
        "pydantic": _version("pydantic"),
        "msgpack": _version("msgpack"),
        "ormsgpack": _version("ormsgpack"),
        "anyio": _version("anyio"),
        "ray": _version("ray"),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """The machine the figures were measured on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "implementation": sys.implementation.name,
    }


def with_deadline(run: Callable[[int], float], n: int, seconds: float, what: str) -> float:
    """Return ``run(n)``; raise ``TimeoutError`` in this (main) thread after ``seconds``.

    For runs that wait on other processes (a Ray producer task that dies would
    leave its consumer waiting forever): the section reports the figure as not
    measured instead of hanging the whole run.
    """

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"{what} did not finish within {seconds:.0f} s (a producer failed?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return run(n)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

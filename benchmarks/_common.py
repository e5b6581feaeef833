"""Timing helpers shared by ``compare.py`` and the pytest-benchmark suite.

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
import statistics
import sys
import timeit
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

__all__ = [
    "Case",
    "Figure",
    "Samples",
    "interleave",
    "machine",
    "format_table",
    "paired_ratio",
    "versions",
]


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
    return statistics.median(s / f for s, f in zip(slow.ns, fast.ns, strict=True))


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


@dataclass
class Figure:
    """One row of the results table.

    Attributes:
        key: stable machine-readable id (``"wirecore.split"``).
        title: what was measured.
        measured: the value(s), human-readable.
        target: the target, or ``""`` for an informational figure.
        met: whether the target is met; ``None`` when there is no target.
        values: machine-readable numbers behind ``measured``.
    """

    key: str
    title: str
    measured: str
    target: str = ""
    met: bool | None = None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``met``, ``NOT MET`` or ``-`` (informational)."""
        if self.met is None:
            return "-"
        return "met" if self.met else "NOT MET"

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form."""
        return {
            "key": self.key,
            "title": self.title,
            "measured": self.measured,
            "target": self.target,
            "met": self.met,
            "values": self.values,
        }


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Render a plain-text table with left-aligned columns.

    Example:
        >>> print(format_table(["a", "b"], [["1", "22"]]))
        a  b
        -  --
        1  22
    """
    body = [list(map(str, r)) for r in rows]
    widths = [len(h) for h in headers]
    for r in body:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    return "\n".join(lines)

"""What a ``compare.py`` run produces: figures for the main table, detail tables.

A section adds :class:`Figure` rows (``report.add``) and detail tables
(``report.samples`` for the harness's per-case times, ``report.table`` for
anything else); how they are printed, written as Markdown or as JSON is
``_render.py``'s job, so every section's output looks alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from _harness import Samples, median_ratio, paired_ratio, versions

__all__ = ["VERSIONS", "Figure", "Report", "Table", "rate_figure", "ratio_figure"]

#: Versions of everything a figure depends on, printed in the header and
#: repeated in a figure's title where it compares against another library.
VERSIONS = versions()


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


@dataclass(frozen=True)
class Table:
    """A detail table: a title, column headers and rows of cells."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass
class Report:
    """What a run produced: figures for the main table, details for the others."""

    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, figure: Figure) -> None:
        """Add a row to the main table."""
        self.figures.append(figure)

    def table(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Add a detail table."""
        self.tables.append(Table(title, headers, rows))

    def samples(self, section: str, results: dict[str, Samples]) -> None:
        """Keep every case's samples (JSON) and print them as a detail table."""
        self.details.setdefault(section, {}).update(
            {name: s.as_dict() for name, s in results.items()}
        )
        rows = [[name, f"{s.min:,.1f}", f"{s.median:,.1f}"] for name, s in results.items()]
        self.table(section, ["case", "min ns/op", "median ns/op"], rows)


def ratio_figure(
    key: str,
    title: str,
    results: dict[str, Samples],
    slow: str,
    fast: str,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    unit: str = "ns/op",
) -> Figure:
    """A figure ``slow / fast`` (paired median), with its target when given.

    ``at_least``: fast must be that many times faster. ``at_most``: the ratio
    (an overhead) must not exceed it.
    """
    r = paired_ratio(results[slow], results[fast])
    a, b = results[slow], results[fast]
    r_min = a.min / b.min
    measured = f"{r:.2f}x  ({a.median:,.0f} vs {b.median:,.0f} {unit}; mins: {r_min:.2f}x)"
    target, met = "", None
    if at_least is not None:
        target, met = f">= {at_least:g}x", r >= at_least
    elif at_most is not None:
        target, met = f"<= {at_most:g}x", r <= at_most
    values = {
        "ratio": r,
        "ratio_of_mins": r_min,
        "slow": slow,
        "fast": fast,
        "slow_median_ns": a.median,
        "fast_median_ns": b.median,
        "slow_min_ns": a.min,
        "fast_min_ns": b.min,
    }
    return Figure(key, title, measured, target, met, values)


def rate_figure(
    key: str,
    title: str,
    rates: dict[str, list[float]],
    ours: str,
    peer: str,
    *,
    at_least: float | None = None,
    precision: int = 2,
    values: dict[str, Any] | None = None,
) -> Figure:
    """A figure ``ours / peer`` of throughputs (msg/s) measured in the same rounds.

    The ratio is the median of the per-round ratios (``rates`` from
    :func:`_harness.rotate_rounds`); ``at_least`` is the target, if any;
    ``values`` adds machine-readable numbers beside the ratio.
    """
    r = median_ratio(rates[ours], rates[peer])
    a, b = statistics.median(rates[ours]), statistics.median(rates[peer])
    return Figure(
        key,
        title,
        f"{r:,.{precision}f}x  ({a:,.0f} vs {b:,.0f} msg/s)",
        f">= {at_least:g}x" if at_least is not None else "",
        r >= at_least if at_least is not None else None,
        {"ratio": r, **(values or {})},
    )

"""``klaw demo --faults``: run :mod:`klaw_core.cli.demo._faults` and print its tables.

The counts by producer go to stdout, then the recovery times and one line that
says whether every message arrived exactly once; the exit status is 1 when one
did not (or an error reached the consumer).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import platform
import sys
from typing import Any

import msgspec

import klaw_core
from klaw_core.cli._output import format_count, render_table
from klaw_core.cli.demo._faults import FAULT_CAPACITY, FaultReport, run_faults
from klaw_core.cli.demo._ray_start import start_ray
from klaw_core.runtime.config import KlawConfig

__all__ = ["format_faults", "run_with_faults"]


def format_faults(report: FaultReport) -> str:
    """Return the counts table, the recovery table and the verdict.

    Args:
        report: the fault run's result.

    Returns:
        The text to print.

    Example:
        >>> from klaw_core.cli.demo._faults import ProducerCount, Recovery
        >>> report = FaultReport(
        ...     (ProducerCount(0, 10, 10, 0, 0), ProducerCount(1, 10, 10, 0, 0)),
        ...     (Recovery("channel actor killed (Ray restarted it)", 0.8),),
        ...     1.5,
        ...     (),
        ... )
        >>> print(format_faults(report).splitlines()[-1])
        every message arrived exactly once: 20 messages, 0 lost, 0 duplicated, no error (1.5 s)
    """
    rows = [
        [str(p.producer), *(format_count(n) for n in (p.sent, p.received, p.lost, p.duplicated))]
        for p in report.producers
    ]
    totals = [sum(getattr(p, f) for p in report.producers) for f in ("sent", "received")]
    lost = sum(p.lost for p in report.producers)
    duplicated = sum(p.duplicated for p in report.producers)
    rows.append(["all", *(format_count(n) for n in (*totals, lost, duplicated))])
    headers = ["producer", "sent", "received", "lost", "duplicated"]
    lines = [render_table(headers, rows, right=[False, True, True, True, True]), ""]
    recoveries = [[r.fault, f"{r.seconds:.2f}"] for r in report.recoveries]
    lines += [render_table(["fault", "recovered in (s)"], recoveries, right=[False, True]), ""]
    lines += [f"error at the consumer: {error}" for error in report.errors]
    errors = f"{len(report.errors)} error(s)" if report.errors else "no error"
    verdict = "every message arrived exactly once" if report.exactly_once else "NOT exactly once"
    lines.append(
        f"{verdict}: {format_count(totals[0])} messages, {format_count(lost)} lost, "
        f"{format_count(duplicated)} duplicated, {errors} ({report.seconds:.1f} s)"
    )
    return "\n".join(lines)


def run_with_faults(args: argparse.Namespace, config: KlawConfig) -> int:
    """Run the fault demo and print its tables.

    Args:
        args: the ``klaw demo`` arguments (``messages``, ``producers``).
        config: the loaded configuration.

    Returns:
        0 when every message arrived exactly once, else 1.
    """
    ray: Any = importlib.import_module("ray")
    print(
        f"klaw demo --faults: {args.producers} producer task(s) -> klaw Ray channel "
        f"(capacity at most {format_count(FAULT_CAPACITY)}) -> 1 consumer, "
        f"{format_count(args.messages)} messages; mid-run a producer's worker is SIGKILLed "
        "and the channel actor is killed.",
        file=sys.stderr,
        flush=True,
    )
    started = start_ray(ray, config)
    try:
        report = run_faults(ray, config, messages=args.messages, producers=args.producers)
    finally:
        if started:
            ray.shutdown()
    versions = {
        "klaw-core": f"{klaw_core.__version__} ({klaw_core.IMPLEMENTATION})",
        "msgspec": msgspec.__version__,
        "Ray": importlib.metadata.version("ray"),
        "Python": platform.python_version(),
    }
    print(f"Faults: {args.producers} producer tasks -> 1 consumer, every (producer, seq) counted")
    print(format_faults(report))
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return 0 if report.exactly_once else 1

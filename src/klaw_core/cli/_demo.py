"""``klaw demo``: run the Ray pipeline of :mod:`klaw_core.cli.demo` and print its table.

Progress goes to stderr (updated in place on a terminal, one line per finished
run otherwise, so CI logs stay readable); the table goes to stdout.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from typing import Any, TextIO

from klaw_core.cli._output import (
    CommandError,
    format_count,
    format_rate,
    int_at_least,
    render_table,
)
from klaw_core.cli.demo import DemoReport, RunResult, run_demo
from klaw_core.runtime.config import load_config

__all__ = ["ProgressLine", "add_parser", "format_report", "run"]


def add_parser(commands: Any) -> None:
    """Register ``klaw demo``."""
    parser = commands.add_parser(
        "demo",
        help="typed producers -> Ray channel -> consumer, vs ray.util.queue.Queue",
        description="Start a local Ray (unless ray.address is configured), push typed "
        "messages from producer actors through a klaw Ray channel to a consumer, check "
        "every message, and compare throughput with ray.util.queue.Queue in the same run.",
    )
    parser.add_argument(
        "--messages",
        type=int_at_least(1),
        default=200_000,
        metavar="N",
        help="messages per timed run (default 200,000)",
    )
    parser.add_argument(
        "--producers",
        type=int_at_least(1),
        default=2,
        metavar="N",
        help="producer actors (default 2)",
    )
    parser.add_argument(
        "--queue-items",
        type=int_at_least(0),
        default=2_000,
        metavar="N",
        help="messages of the slow one-call-per-item Queue run (default 2,000; 0 skips it)",
    )
    parser.add_argument(
        "--faults",
        action="store_true",
        help="instead: kill a producer's worker and the channel actor mid-run, and show that "
        "every message still arrives exactly once, with the recovery times",
    )
    parser.add_argument(
        "--config", metavar="PATH", help="TOML config file (default: as load_config)"
    )
    parser.set_defaults(handler=run)


class ProgressLine:
    """Renders ``progress(label, done, total)`` calls on a stream.

    On a terminal the line is rewritten in place; otherwise only finished runs
    are printed, one line each.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> line = ProgressLine(out)
        >>> line("warm-up", 5, 10); line("warm-up", 10, 10)
        >>> out.getvalue()
        '  warm-up: 10/10\\n'
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._started: dict[str, float] = {}

    def __call__(self, label: str, done: int, total: int) -> None:
        started = self._started.setdefault(label, time.perf_counter())
        finished = done >= total
        if self._tty:
            elapsed = max(time.perf_counter() - started, 1e-9)
            text = f"  {label}: {format_count(done)}/{format_count(total)} ({100 * done // total}%)"
            text += f"  {format_rate(done / elapsed)} msg/s"
            self._stream.write(f"\r{text:<100}" + ("\n" if finished else ""))
        elif finished:
            self._stream.write(f"  {label}: {format_count(done)}/{format_count(total)}\n")
        self._stream.flush()


def _times(ratio: float) -> str:
    """Format a ratio: ``3.92x``, ``1,398x``, ``0.0028x``."""
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    if ratio >= 0.1:
        return f"{ratio:.2f}x"
    return f"{ratio:.2g}x"


def _baseline(report: DemoReport) -> RunResult | None:
    return next((r for r in report.runs if r.api.startswith("put_nowait_batch")), None)


def format_report(report: DemoReport) -> str:
    """Return the throughput table and the summary lines.

    Example:
        >>> runs = (RunResult("klaw Ray channel", "send_batch / recv_batch", 1000, 0.01),
        ...         RunResult("ray.util.queue.Queue", "put_nowait_batch / get_nowait_batch", 1000, 0.05))
        >>> report = DemoReport(runs, 2, 10_000, 1_000, "local", {"ray": "2.60.0"})
        >>> print(format_report(report).splitlines()[-2])
        klaw Ray channel (send_batch / recv_batch): 5.00x ray.util.queue.Queue (put_nowait_batch / get_nowait_batch)
    """
    baseline = _baseline(report)
    rows: list[list[str]] = []
    for r in report.runs:
        relative = "-" if baseline is None else _times(r.rate / baseline.rate)
        rows.append(
            [
                r.transport,
                r.api,
                format_count(r.messages),
                f"{r.seconds:.3f}",
                format_rate(r.rate),
                relative,
            ]
        )
    headers = [
        "transport",
        "API (producer / consumer)",
        "messages",
        "seconds",
        "msg/s",
        "vs Queue batch",
    ]
    lines = [render_table(headers, rows, right=[False, False, True, True, True, True]), ""]
    klaw = report.runs[0]
    for other in report.runs:
        if other.transport != klaw.transport:
            lines.append(
                f"{klaw.transport} ({klaw.api}): {_times(klaw.rate / other.rate)} "
                f"{other.transport} ({other.api})"
            )
    lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the demo and print the table."""
    config = load_config(args.config)
    ray_spec = importlib.util.find_spec("ray")
    if ray_spec is None or ray_spec.origin is None:  # origin None: a leftover directory
        raise CommandError("klaw demo needs Ray: pip install 'klaw-core[ray]'")
    if args.faults:
        from klaw_core.cli._demo_faults import run_with_faults

        return run_with_faults(args, config)
    capacity = (
        "unbounded"
        if config.channels.unbounded
        else f"capacity {format_count(config.channels.capacity)}"
    )
    where = (
        f"Connecting to Ray at {config.ray.address}"
        if config.ray.address
        else "Starting a local Ray"
    )
    print(
        f"klaw demo: {args.producers} producer actor(s) -> klaw Ray channel ({capacity}) -> "
        f"1 consumer; {format_count(args.messages)} DemoEvent messages per run, each one checked.\n"
        f"{where} and the actors (a few seconds)...",
        file=sys.stderr,
        flush=True,
    )
    report = run_demo(
        config,
        messages=args.messages,
        producers=args.producers,
        queue_items=args.queue_items,
        progress=ProgressLine(sys.stderr),
    )
    print(
        f"Throughput: {report.producers} producers -> 1 consumer, {capacity}, "
        f"batches of {format_count(report.batch_size)}; Ray: {report.ray}"
    )
    print(format_report(report))
    return 0

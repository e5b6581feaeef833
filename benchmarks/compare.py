"""Every klaw-core performance figure, measured side by side in one process run.

    python benchmarks/compare.py [--quick] [--json OUT] [--only SECTION ...]

Prints a header (versions, machine, load), then one table: figure, measured
value(s), target, met / NOT MET / - (informational), then detail tables (ns
per call of every case). ``--json OUT`` writes the same results, every repeat
included, as JSON. ``--quick`` uses fewer and shorter repeats and smaller
channel runs; it finishes in under three minutes on a 2-core machine,
Ray start-up included.

Method (see ``_harness.py``): every comparison is a set of cases timed
**interleaved** in rounds (A, B, C, then B, C, A, ...), each repeat long
enough to amortise the timer; a ratio is the median of the per-round ratios,
so a burst of load on this noisy machine hits both sides of a ratio alike.
Absolute times are min and median nanoseconds per operation. Channel figures
are steady-state throughput after warm-up (worker start-up excluded), runs
of each transport alternating.

Sections (``--only`` takes these names): twins, framing, peek, pydantic,
msgpack, codec, optimisations, local, ray. This file is only the runner: each
section is a module of ``sections/`` (how to add one: ``sections/__init__.py``),
timed by ``_harness.py``, its figures collected by ``_report.py`` and shown by
``_render.py`` as text, Markdown and JSON.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _harness import Settings
from _render import header, json_document, markdown, text
from _report import Report
from sections import SECTIONS


def main(argv: list[str] | None = None) -> int:
    """Run the sections asked for (all by default), print the tables, write the files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats (< 3 min)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run these sections")
    parser.add_argument(
        "--markdown", metavar="OUT", help="also write the tables as Markdown to OUT (for the docs)"
    )
    args = parser.parse_args(argv)
    settings = Settings.make(args.quick)
    report = Report()
    started = time.perf_counter()
    head = header(settings)
    print(head, flush=True)
    for name in args.only or list(SECTIONS):
        t0 = time.perf_counter()
        print(f"... {name}", file=sys.stderr, flush=True)
        SECTIONS[name](settings, report)
        report.timings[name] = time.perf_counter() - t0
    elapsed = time.perf_counter() - started
    print(text(report, elapsed))
    if args.markdown:
        Path(args.markdown).write_text(markdown(report, elapsed, head))
    if args.json:
        Path(args.json).write_text(json_document(settings, report, elapsed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

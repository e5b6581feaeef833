"""How a ``compare.py`` run is shown: plain text, Markdown (for the docs), JSON.

Every section's figures and tables go through the same three renderers, so a
new section needs no printing code of its own.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

from _harness import Settings, machine
from _report import VERSIONS, Report

__all__ = ["format_table", "header", "json_document", "markdown", "text"]


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


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def header(s: Settings) -> str:
    """What was measured how, with which versions, on what machine under what load."""
    m = machine()
    load = _load()
    vs = ", ".join(f"{k} {v}" for k, v in VERSIONS.items())
    mode = "quick" if s.quick else "full"
    return (
        f"klaw-core performance figures ({mode}: {s.repeats} interleaved rounds, "
        f"~{s.seconds * 1e3:.0f} ms per case per round)\n"
        f"versions: {vs}\n"
        f"machine: {m['cores']} cores ({m['usable_cores']} usable), {m['cpu']}, {m['platform']}; "
        f"load average {load}"
    )


def _tables(report: Report) -> list[tuple[str, str]]:
    return [(t.title, format_table(t.headers, t.rows)) for t in report.tables]


def text(report: Report, elapsed: float) -> str:
    """The main table, the detail tables and the total time, as plain text."""
    rows = [[f.title, f.measured, f.target or "-", f.status] for f in report.figures]
    parts = ["", format_table(["figure", "measured", "target", "status"], rows)]
    parts += [f"\n{title}\n{table}" for title, table in _tables(report)]
    parts.append(f"\ntotal {elapsed:.0f} s; load average at the end {_load()}")
    return "\n".join(parts)


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(report: Report, elapsed: float, head: str) -> str:
    """The header, the main table and the detail tables, as Markdown."""
    command = " ".join(["python benchmarks/compare.py", *sys.argv[1:]])
    parts = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} with `{command}` ({elapsed:.0f} s).",
        "",
        "```text",
        head,
        f"load average at the end: {_load()}",
        "```",
        "",
        _md_table(
            ["figure", "measured", "target", "status", "key"],
            [
                [f.title, f.measured, f.target or "-", f.status, f"`{f.key}`"]
                for f in report.figures
            ],
        ),
    ]
    for title, table in _tables(report):
        parts += ["", f"**{title}**", "", "```text", table, "```"]
    return "\n".join(parts) + "\n"


def json_document(s: Settings, report: Report, elapsed: float) -> str:
    """Everything, every repeat included, as JSON."""
    out: dict[str, Any] = {
        "versions": VERSIONS,
        "machine": machine(),
        "settings": vars(s),
        "load_average_end": os.getloadavg(),
        "seconds": elapsed,
        "section_seconds": report.timings,
        "figures": [f.as_dict() for f in report.figures],
        "details": report.details,
        "tables": dict(_tables(report)),
    }
    return json.dumps(out, indent=2)

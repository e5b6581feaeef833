"""The sections of ``compare.py``: one module per concern, one ``run`` each.

A section is a module with ``run(settings, report) -> None``. It builds its
workload, times it with the shared harness (``_harness.interleave`` for calls
measured in nanoseconds, ``_harness.rotate_rounds`` for runs that return a
throughput), and adds rows to the report (``_report.ratio_figure`` /
``_report.rate_figure`` / ``Figure``, ``report.samples`` / ``report.table``).
It never prints: ``_render.py`` shows every section the same way.

To add a section: write ``sections/<name>.py`` with its ``run`` and add one
line to :data:`SECTIONS` below (its key is the name ``--only`` takes; the
order is the order of the run and of the tables).
"""

from __future__ import annotations

from collections.abc import Callable

from _harness import Settings
from _report import Report
from sections import (
    codec,
    framing,
    local_channel,
    optimisations,
    peek,
    ray_channel,
    twins,
    vs_msgpack,
    vs_pydantic,
)

#: ``--only`` name -> the section's ``run``, in the order a full run takes them.
SECTIONS: dict[str, Callable[[Settings, Report], None]] = {
    "twins": twins.run,
    "framing": framing.run,
    "peek": peek.run,
    "pydantic": vs_pydantic.run,
    "msgpack": vs_msgpack.run,
    "codec": codec.run,
    "optimisations": optimisations.run,
    "local": local_channel.run,
    "ray": ray_channel.run,
}

__all__ = ["SECTIONS"]

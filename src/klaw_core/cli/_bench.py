"""``klaw bench``: wire-core figures for both twins side by side, and codec vs pydantic.

The measuring lives in :mod:`klaw_core.cli._bench_cases` (installed with the package, so
the command works from a wheel); this module only prints. Both twins are
imported directly, so the table shows the compiled module even when
``KLAW_NO_EXTENSIONS`` makes the library itself use the pure one.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys
import time
from typing import Any

import msgspec

import klaw_core
from klaw_core.cli._bench_cases import (
    BATCH,
    Budget,
    codec_cases,
    pydantic_cases,
    wirecore_cases,
    wirecore_twins,
)
from klaw_core.cli._output import render_table

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Register ``klaw bench``."""
    parser = commands.add_parser(
        "bench",
        help="codec, framing and peek figures; compiled vs pure; vs pydantic",
        description="Measure the wire core (compiled and pure-Python twins side by side) "
        "and the envelope codec against pydantic v2, in this process. About 30 s; "
        "--quick takes a few seconds.",
    )
    parser.add_argument("--quick", action="store_true", help="short runs (a few seconds)")
    parser.set_defaults(handler=run)


def _ns(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _ratio(slow: float | None, fast: float | None) -> str:
    return "-" if slow is None or fast is None or fast <= 0 else f"{slow / fast:.1f}x"


def _progress(text: str) -> None:
    print(f"  measuring {text} ...", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Measure and print the tables."""
    budget = Budget.quick() if args.quick else Budget()
    started = time.perf_counter()
    results: dict[str, dict[str, float]] = {}
    for name, twin in wirecore_twins().items():
        if twin is not None:
            _progress(f"wire core ({name})")
            results[name] = wirecore_cases(twin, budget)
    _progress("envelope codec")
    codec = codec_cases(budget)
    _progress("pydantic")
    pydantic = pydantic_cases(budget)

    cases = list(next(iter(results.values())))
    compiled, pure = results.get("cython", {}), results.get("python", {})
    rows = [
        [
            case,
            _ns(compiled.get(case)),
            _ns(pure.get(case)),
            _ratio(pure.get(case), compiled.get(case)),
        ]
        for case in cases
    ]
    print(f"Wire core, ns per message or call (batches of {BATCH:,} envelopes; lower is better)")
    print(
        render_table(
            ["operation", "cython", "python", "speed-up"], rows, right=[False, True, True, True]
        )
    )
    if "cython" not in results:
        print("(compiled module klaw_core._wirecore_c is not built: cython column empty)")

    print()
    print("One DataMessage[Order] envelope, ns per message (lower is better)")
    headers = ["operation", "msgspec msgpack", "msgspec json", "pydantic json", "pydantic/msgspec"]
    codec_rows: list[list[str]] = []
    for op in ("encode", "decode"):
        label = "encode" if op == "encode" else "decode + validate"
        theirs = None if pydantic is None else pydantic[op]
        codec_rows.append(
            [
                label,
                _ns(codec[op]["msgspec msgpack"]),
                _ns(codec[op]["msgspec json"]),
                _ns(theirs),
                _ratio(theirs, codec[op]["msgspec json"]),
            ]
        )
    print(render_table(headers, codec_rows, right=[False, True, True, True, True]))
    if pydantic is None:
        print("(pydantic v2 is not installed: pip install 'klaw-core[bench]')")
    print()
    versions = (
        f"klaw-core {klaw_core.__version__} (library uses {klaw_core.IMPLEMENTATION}), "
        f"msgspec {msgspec.__version__}, Python {platform.python_version()}"
    )
    if pydantic is not None:
        versions += f", pydantic {importlib.metadata.version('pydantic')}"
    print(f"{versions}; {time.perf_counter() - started:.1f} s")
    return 0

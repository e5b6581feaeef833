"""Shared driver of the atheris targets: one function per wire entry point, both twins.

Each ``fuzz_<name>.py`` calls :func:`main` with its target name. The property
checked is the differential oracle of the hardening tests
(``tests/hardening/wire_oracle.py``): only ``KlawWireError`` may escape an
entry point, and both twins must give the same result or the same exception
class, offset and reason. Anything else is an uncaught exception, which
atheris reports as a crash and saves as an input file; ``fuzz/run.sh`` then
keeps it under ``fuzz/corpus/<name>/``, where ``tests/hardening/test_fuzz_corpus.py``
replays it in every test run.

The pure twin and the oracle are instrumented for coverage feedback; the
compiled twin runs as built (its outcomes are compared to the pure twin's on
every input).
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "hardening"))

with atheris.instrument_imports(include=["klaw_core", "wire_oracle"]):
    import wire_oracle


def main(name: str) -> None:
    """Fuzz target ``name`` of ``wire_oracle.TARGETS`` with libFuzzer's command-line arguments."""
    target = wire_oracle.TARGETS[name]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()

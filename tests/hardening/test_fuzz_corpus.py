"""Replay the fuzz corpus: every seed and every crash input ever found, in every test run.

``fuzz/corpus/<target>/`` holds the seeds of each atheris target
(``seed-*``, written by ``fuzz/make_seeds.py``) and the inputs that once made a
target fail (``crash-*``, ``timeout-*``, kept by ``fuzz/run.sh``). Each file goes
through its target's differential check (``wire_oracle.TARGETS``), so a fixed
bug stays fixed without atheris installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from wire_oracle import TARGETS, run_target

CORPUS = Path(__file__).resolve().parents[2] / "fuzz" / "corpus"


def corpus_files() -> list[tuple[str, Path]]:
    return [
        (target, path)
        for target in sorted(TARGETS)
        for path in sorted((CORPUS / target).glob("*"))
        if path.is_file()
    ]


def test_every_target_has_a_corpus() -> None:
    assert CORPUS.is_dir(), f"no fuzz corpus at {CORPUS}"
    for target in TARGETS:
        assert any((CORPUS / target).glob("seed-*")), f"no seeds for fuzz target {target}"


@pytest.mark.parametrize(
    ("target", "path"), corpus_files(), ids=[f"{t}/{p.name}" for t, p in corpus_files()]
)
def test_corpus_input(target: str, path: Path) -> None:
    run_target(target, path.read_bytes())

"""The public types say what they mean: mypy --strict accepts and rejects the right code.

mypy runs once (in a subprocess, with ``mypy.ini`` of this directory) over the
example files here:

- ``must_pass.py`` must produce no error: ``Sender[Animal]`` where a
  ``Sender[Dog]`` is expected, ``Receiver[Dog]`` where a ``Receiver[Animal]``
  is, ``channel(value_type=int)`` typing its endpoints, ``@result`` keeping
  return and parameter types.
- every ``fail_*.py`` must produce exactly the errors its ``# E: <code>``
  comments announce, line by line: the reverse variance, wrong item types, a
  wrong argument to a ``@result`` function, ... A missing error (the types got
  looser) fails the test as surely as an unexpected one.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

pytest.importorskip("mypy")

HERE = Path(__file__).resolve().parent
EXAMPLES = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name)
FAIL_FILES = [p for p in EXAMPLES if p.name.startswith("fail_")]
EXPECTED_ERROR = re.compile(r"#\s*E:\s*([\w-]+)\s*$")
REPORTED_ERROR = re.compile(r"^(?P<file>[^:\n]+\.py):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")

Errors = dict[str, set[tuple[int, str]]]


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> Errors:
    """Run mypy once over every example; return {file name: {(line, code)}}."""
    cache = tmp_path_factory.mktemp("mypy-cache")
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(HERE / "mypy.ini"),
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            *(p.name for p in EXAMPLES),
        ],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=240,
    )
    errors: Errors = defaultdict(set)
    for line in process.stdout.splitlines():
        found = REPORTED_ERROR.match(line)
        if found:
            errors[Path(found["file"]).name].add((int(found["line"]), found["code"]))
        elif ": note: " not in line:
            pytest.fail(f"unexpected mypy output: {line!r}\n{process.stdout}{process.stderr}")
    if process.returncode not in (0, 1) or process.stderr.strip():
        pytest.fail(f"mypy did not run cleanly ({process.returncode}):\n{process.stderr}")
    return errors


def expected_errors(path: Path) -> set[tuple[int, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {
        (number, found.group(1))
        for number, text in enumerate(lines, start=1)
        if (found := EXPECTED_ERROR.search(text))
    }


def test_there_are_examples_of_both_kinds() -> None:
    assert (HERE / "must_pass.py") in EXAMPLES
    assert len(FAIL_FILES) >= 2
    assert all(expected_errors(p) for p in FAIL_FILES)


def test_correct_code_passes_strict_mypy(mypy_errors: Errors) -> None:
    for path in EXAMPLES:
        if path not in FAIL_FILES:
            assert mypy_errors.get(path.name, set()) == set(), path.name


@pytest.mark.parametrize("path", FAIL_FILES, ids=lambda p: p.name)
def test_wrong_code_fails_with_the_announced_errors(path: Path, mypy_errors: Errors) -> None:
    reported = mypy_errors.get(path.name, set())
    expected = expected_errors(path)
    assert sorted(reported - expected) == [], "errors nobody announced"
    assert sorted(expected - reported) == [], "announced errors mypy did not report"

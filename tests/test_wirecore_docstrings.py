"""The twins document one API: every public docstring of the compiled core equals the pure one.

Both twins carry the docstrings (``help()`` and doctests work on either), and
this test makes them one text: a change to one twin's documentation that is not
made to the other fails here. Cython's ``embedsignature`` puts the signature on
the first line of the compiled docstrings; it is not part of the comparison.
"""

from __future__ import annotations

import inspect
import re
from types import ModuleType
from typing import Any

import pytest

import klaw_core._wirecore_py as pure

_SIGNATURE = re.compile(r"^[\w.]+\(.*\)(?: -> .*)?\n\n")


def _doc(obj: Any) -> str | None:
    doc = inspect.getdoc(obj)
    return _SIGNATURE.sub("", doc, count=1) if doc else doc


def documented() -> list[tuple[str, str | None]]:
    """``(name, attribute)`` of every public function, class and public member of the pure twin."""
    out: list[tuple[str, str | None]] = []
    for name in pure.__all__:
        obj = getattr(pure, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # constants: defined once in klaw_core._wiretypes
        out.append((name, None))
        if inspect.isclass(obj) and obj.__module__ == pure.__name__:
            out += [(name, m) for m in vars(obj) if not m.startswith("_")]
    return out


@pytest.fixture(scope="module")
def compiled() -> ModuleType:
    return pytest.importorskip("klaw_core._wirecore_c")


@pytest.mark.parametrize(("name", "member"), documented())
def test_compiled_docstring_equals_pure(
    compiled: ModuleType, name: str, member: str | None
) -> None:
    ours, theirs = getattr(compiled, name), getattr(pure, name)
    if member is not None:
        ours, theirs = getattr(ours, member), getattr(theirs, member)
    assert _doc(theirs), f"{name}.{member or ''} has no docstring"
    assert _doc(ours) == _doc(theirs)


def test_the_comparison_sees_every_public_callable() -> None:
    names = {n for n, _ in documented()}
    assert {"BufferPool", "FrameDecoder", "decode_frames", "peek_header", "split_frames"} <= names
    assert ("FrameDecoder", "feed") in documented()

"""Fixtures shared by the whole suite.

``wirecore`` is parametrised over both wire-core twins and imports the compiled
module directly, so a missing build fails the compiled cases instead of quietly
testing the pure twin twice (the aio-libs pattern). Only under
``KLAW_NO_EXTENSIONS=1`` with no compiled module present is the compiled case
skipped.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from klaw_core._env import env_flag
from ray_support import HAVE_RAY

TWINS = ("cython", "python")


def import_twin(name: str) -> ModuleType:
    """Import one wire-core twin by implementation name."""
    if name == "python":
        return importlib.import_module("klaw_core._wirecore_py")
    try:
        return importlib.import_module("klaw_core._wirecore_c")
    except ImportError:
        if env_flag("KLAW_NO_EXTENSIONS"):
            pytest.skip("compiled wire core not built (KLAW_NO_EXTENSIONS=1)")
        raise


@pytest.fixture(scope="session", params=TWINS)
def wirecore(request: pytest.FixtureRequest) -> ModuleType:
    """Each wire-core twin in turn: ``klaw_core._wirecore_c``, then ``_wirecore_py``."""
    return import_twin(request.param)


@pytest.fixture(scope="session")
def compiled() -> ModuleType:
    """The compiled twin (fails when it is missing, unless KLAW_NO_EXTENSIONS=1)."""
    return import_twin("cython")


@pytest.fixture(scope="session")
def pure() -> ModuleType:
    """The pure-Python twin."""
    return import_twin("python")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip tests marked ``ray`` where Ray is not installed.

    Ray publishes no wheel for musllinux (nor for macOS x86_64 from Python 3.14):
    those wheels are tested with the ``test-noray`` extra. A test module that
    imports Ray at its top still needs its own ``pytest.importorskip("ray")``.
    """
    if not HAVE_RAY and item.get_closest_marker("ray") is not None:
        pytest.skip("Ray is not installed (no Ray wheel for this platform)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Run ``@pytest.mark.untraced`` tests with the line tracer switched off.

    Allocation and refcount tests count what the code under test does; a
    coverage tracer allocates on every traced line and would be counted too.
    Their lines are then not measured for coverage, which is the price.
    """
    if item.get_closest_marker("untraced") is None:
        return (yield)
    tracer = sys.gettrace()
    sys.settrace(None)
    try:
        return (yield)
    finally:
        sys.settrace(tracer)

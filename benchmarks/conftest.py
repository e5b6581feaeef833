"""Fixtures of the pytest-benchmark suite: ``pytest benchmarks/ --benchmark-only``.

This directory is not under ``testpaths`` (``tests/``), so a plain ``pytest``
never collects it. It needs the ``bench`` extra (pytest-benchmark, pydantic,
msgpack, ormsgpack, anyio, Ray). Each benchmark belongs to a group named after
the operation, and the implementations being compared are parameters of the
same test, so pytest-benchmark's table shows them side by side, e.g.::

    pytest benchmarks/ --benchmark-only --benchmark-columns=min,median,ops
    pytest benchmarks/test_wirecore.py --benchmark-only --benchmark-compare

The workloads are the ones ``compare.py`` uses (``_workloads.py``); ratios
between implementations measured interleaved are ``compare.py``'s job.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import msgspec
import pytest

from _workloads import BATCH, Order, make_envelopes
from klaw_core.runtime.channels.wire import DataMessage


@pytest.fixture(scope="session", params=["cython", "python"])
def twin(request: pytest.FixtureRequest) -> ModuleType:
    """Each wire-core twin: ``klaw_core._wirecore_c`` then ``klaw_core._wirecore_py``."""
    name = "klaw_core._wirecore_c" if request.param == "cython" else "klaw_core._wirecore_py"
    try:
        return importlib.import_module(name)
    except ImportError:
        pytest.skip("compiled wire core not built")


@pytest.fixture(scope="session")
def envelopes() -> list[DataMessage[Order]]:
    """The 1,000 ``DataMessage[Order]`` envelopes every batch benchmark moves."""
    return make_envelopes(BATCH)


@pytest.fixture(scope="session")
def encoder() -> msgspec.msgpack.Encoder:
    """One shared MessagePack encoder."""
    return msgspec.msgpack.Encoder()


@pytest.fixture(scope="session")
def batch(envelopes: list[DataMessage[Order]], encoder: msgspec.msgpack.Encoder) -> bytes:
    """The envelopes as one batch of length-prefixed frames."""
    from klaw_core import _wirecore_py

    return bytes(_wirecore_py.encode_frames(encoder, envelopes))

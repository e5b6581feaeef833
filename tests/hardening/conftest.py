"""Fixtures of the hardening tests.

``ray_cluster`` is the channel tests' own session fixture (defined in
``tests/runtime/channels/conftest.py``), loaded from that file rather than
copied: it starts Ray only if nothing has yet and shuts down only what it
started, so the whole suite runs one local Ray whichever directory needs it first.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

__all__ = ["ray_cluster"]


def _channel_fixture(name: str) -> Any:
    path = Path(__file__).resolve().parents[1] / "runtime" / "channels" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_klaw_channel_test_fixtures", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


ray_cluster = _channel_fixture("ray_cluster")

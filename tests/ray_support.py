"""Whether Ray is really installed, decided without importing it.

``importlib.util.find_spec("ray")`` alone is not enough: ``pip uninstall ray``
leaves files behind, and the leftover directory imports as an empty namespace
package. A real install has ``ray/__init__.py``, so its spec has an origin.
Importing Ray to find out would cost a second and break the tests that check
``import klaw_core`` does not import Ray.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def ray_installed() -> bool:
    """True when an importable Ray distribution (not a leftover directory) is present."""
    spec = importlib.util.find_spec("ray")
    return spec is not None and spec.origin is not None


HAVE_RAY = ray_installed()


def init_test_ray() -> bool:
    """Start the suite's one local Ray unless it runs already; True if this call started it.

    Every fixture that needs Ray starts it here, so whichever runs first starts
    it the same way: 2 CPUs, no dashboard, and the Ray channel tests' helpers
    (``ray_messages.py``, whose types the workers import by module name) on
    the workers' ``PYTHONPATH``.
    """
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    helpers = str(Path(__file__).parent / "runtime" / "channels" / "ray")
    path = os.pathsep.join(p for p in (helpers, os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        namespace="klaw-tests",
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    return True

"""How the demo reaches Ray: through klaw's one Ray start (``channels.ray.connection``).

``ensure_ray`` connects to the configured cluster (checking first that it
answers) or starts a local one; the demo only passes its configuration.
"""

from __future__ import annotations

from typing import Any

from klaw_core.runtime.channels.ray.reach import check_reachable
from klaw_core.runtime.config import KlawConfig

__all__ = ["check_reachable", "start_ray"]


def start_ray(ray: Any, config: KlawConfig) -> bool:
    """Connect to the configured Ray, or start a local one; return whether we started it."""
    del ray  # the caller imported it; klaw's one Ray start does the rest
    from klaw_core.runtime.channels.ray.connection import ensure_ray

    return ensure_ray(config.ray)

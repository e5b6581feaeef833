"""Whether Ray is really installed, decided without importing it.

``importlib.util.find_spec("ray")`` alone is not enough: ``pip uninstall ray``
leaves files behind, and the leftover directory imports as an empty namespace
package. A real install has ``ray/__init__.py``, so its spec has an origin.
Importing Ray to find out would cost a second and break the tests that check
``import klaw_core`` does not import Ray.
"""

from __future__ import annotations

import importlib.util


def ray_installed() -> bool:
    """True when an importable Ray distribution (not a leftover directory) is present."""
    spec = importlib.util.find_spec("ray")
    return spec is not None and spec.origin is not None


HAVE_RAY = ray_installed()

"""The two wire-core twins, and the one the library chose (``CORE``).

``COMPILED`` is ``None`` in a build without the extension; sections comparing
the twins report it as not built rather than failing.
"""

from __future__ import annotations

from types import ModuleType

import klaw_core._wirecore_py as PURE

COMPILED: ModuleType | None
try:
    import klaw_core._wirecore_c as COMPILED
except ImportError:  # pragma: no cover - a build without the extension
    COMPILED = None

#: What ``klaw_core.IMPLEMENTATION`` names: the compiled core when built.
CORE: ModuleType = COMPILED or PURE

__all__ = ["COMPILED", "CORE", "PURE"]

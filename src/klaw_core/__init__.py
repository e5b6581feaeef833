"""klaw-core: typed channels over a versioned MessagePack wire protocol.

``IMPLEMENTATION`` says which wire core this process runs: ``"cython"`` (the
compiled module) or ``"python"`` (the pure twin, under ``KLAW_NO_EXTENSIONS=1``
or when no compiled module is available).
"""

from __future__ import annotations

from klaw_core._wirecore import IMPLEMENTATION

__version__ = "0.1.0"

__all__ = [
    "IMPLEMENTATION",
    "__version__",
]

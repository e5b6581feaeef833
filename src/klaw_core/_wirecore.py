"""Choose the wire core implementation once, at import.

``klaw_core._wirecore_c`` (Cython) is used when it is importable, unless
``KLAW_NO_EXTENSIONS`` is true. ``KLAW_REQUIRE_EXTENSIONS=1`` turns a missing
compiled module into an ``ImportError``: CI and wheel tests set it, so a silent
fallback to the slow twin cannot pass unnoticed. Type checkers always see the
pure-Python twin, which is fully annotated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from klaw_core._env import env_flag

NO_EXTENSIONS: bool = env_flag("KLAW_NO_EXTENSIONS")
REQUIRE_EXTENSIONS: bool = env_flag("KLAW_REQUIRE_EXTENSIONS")

IMPLEMENTATION: Literal["cython", "python"]

if TYPE_CHECKING:
    # The pure twin is fully annotated; both twins export the same __all__
    # (tests/test_wirecore_chooser.py), so this is what the chooser binds.
    from klaw_core import _wirecore_py as _twin
    from klaw_core._wirecore_py import *  # noqa: F403
else:
    if NO_EXTENSIONS and REQUIRE_EXTENSIONS:
        raise ImportError("KLAW_NO_EXTENSIONS and KLAW_REQUIRE_EXTENSIONS are both set")
    _impl = None
    if not NO_EXTENSIONS:
        try:
            from klaw_core import _wirecore_c as _impl
        except ImportError as exc:
            if REQUIRE_EXTENSIONS:
                raise ImportError(
                    "KLAW_REQUIRE_EXTENSIONS=1 but the compiled module klaw_core._wirecore_c "
                    f"cannot be imported ({exc}); rebuild with a C compiler: pip install -e ."
                ) from exc
    if _impl is None:
        from klaw_core import _wirecore_py as _impl

        IMPLEMENTATION = "python"
    else:
        IMPLEMENTATION = "cython"

    # Bind every name the chosen twin exports, and nothing else.
    _twin = _impl
    globals().update({name: getattr(_twin, name) for name in _twin.__all__})
    del _impl

__all__ = ["IMPLEMENTATION"]
__all__ += _twin.__all__

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

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "IMPLEMENTATION",
    "MAX_FRAME_SIZE_LIMIT",
    "PREFIX_SIZE",
    "BufferPool",
    "BufferPoolStats",
    "FrameDecoder",
    "HeaderPeek",
    "decode_frames",
    "encode_frames",
    "encode_into",
    "pack_frame",
    "peek_header",
    "peek_version",
    "split_frames",
]

NO_EXTENSIONS: bool = env_flag("KLAW_NO_EXTENSIONS")
REQUIRE_EXTENSIONS: bool = env_flag("KLAW_REQUIRE_EXTENSIONS")

IMPLEMENTATION: Literal["cython", "python"]

if TYPE_CHECKING:
    from klaw_core._wirecore_py import (
        DEFAULT_MAX_FRAME_SIZE,
        MAX_FRAME_SIZE_LIMIT,
        PREFIX_SIZE,
        BufferPool,
        BufferPoolStats,
        FrameDecoder,
        HeaderPeek,
        decode_frames,
        encode_frames,
        encode_into,
        pack_frame,
        peek_header,
        peek_version,
        split_frames,
    )
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

    DEFAULT_MAX_FRAME_SIZE = _impl.DEFAULT_MAX_FRAME_SIZE
    MAX_FRAME_SIZE_LIMIT = _impl.MAX_FRAME_SIZE_LIMIT
    PREFIX_SIZE = _impl.PREFIX_SIZE
    BufferPool = _impl.BufferPool
    BufferPoolStats = _impl.BufferPoolStats
    FrameDecoder = _impl.FrameDecoder
    HeaderPeek = _impl.HeaderPeek
    decode_frames = _impl.decode_frames
    encode_frames = _impl.encode_frames
    encode_into = _impl.encode_into
    pack_frame = _impl.pack_frame
    peek_header = _impl.peek_header
    peek_version = _impl.peek_version
    split_frames = _impl.split_frames
    del _impl

"""Type stub of the compiled wire core (``ext/_wirecore_c.pyx``).

Kept identical in shape to ``klaw_core._wirecore_py``; checked against the
built module with ``python -m mypy.stubtest klaw_core._wirecore_c``.
"""

from collections.abc import Iterable
from types import TracebackType
from typing import Any, Protocol, final

from klaw_core._wiretypes import DEFAULT_MAX_DEPTH as DEFAULT_MAX_DEPTH
from klaw_core._wiretypes import DEFAULT_MAX_FRAME_SIZE as DEFAULT_MAX_FRAME_SIZE
from klaw_core._wiretypes import MAX_FRAME_SIZE_LIMIT as MAX_FRAME_SIZE_LIMIT
from klaw_core._wiretypes import PREFIX_SIZE as PREFIX_SIZE
from klaw_core._wiretypes import BufferPoolStats as BufferPoolStats
from klaw_core._wiretypes import HeaderPeek as HeaderPeek

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_FRAME_SIZE",
    "MAX_FRAME_SIZE_LIMIT",
    "PREFIX_SIZE",
    "BufferPool",
    "BufferPoolStats",
    "FrameDecoder",
    "HeaderPeek",
    "check_depth",
    "check_envelope",
    "decode_frames",
    "encode_frames",
    "encode_into",
    "pack_frame",
    "peek_header",
    "peek_version",
    "split_frames",
]

class _Encoder(Protocol):
    def encode_into(self, obj: Any, buffer: bytearray, offset: int = 0, /) -> None: ...

class _Decoder(Protocol):
    def decode(self, buf: Any, /) -> Any: ...

@final
class _Lease:
    def __enter__(self) -> bytearray: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

@final
class BufferPool:
    def __init__(self, buffer_size: int = 4096, max_pool: int = 64) -> None: ...
    @property
    def buffer_size(self) -> int: ...
    @property
    def max_pool(self) -> int: ...
    def acquire(self) -> bytearray: ...
    def release(self, buf: bytearray) -> None: ...
    def lease(self) -> _Lease: ...
    def stats(self) -> BufferPoolStats: ...

@final
class FrameDecoder:
    def __init__(self, max_frame_size: int = 16777216) -> None: ...
    @property
    def max_frame_size(self) -> int: ...
    @property
    def pending(self) -> int: ...
    def feed(self, chunk: Any) -> list[bytes]: ...
    def close(self) -> None: ...
    def reset(self) -> None: ...

def pack_frame(payload: Any, max_frame_size: int = 16777216) -> bytes: ...
def encode_frames(
    encoder: _Encoder,
    messages: Iterable[Any],
    buffer: bytearray | None = None,
    max_frame_size: int = 16777216,
) -> bytearray: ...
def encode_into(encoder: _Encoder, message: Any, buffer: bytearray, offset: int = 0) -> int: ...
def split_frames(data: Any, max_frame_size: int = 16777216) -> list[memoryview]: ...
def decode_frames(
    data: Any,
    decoder: _Decoder,
    max_frame_size: int = 16777216,
    max_depth: int | None = 128,
    envelopes: bool = False,
) -> list[Any]: ...
def peek_header(data: Any) -> HeaderPeek: ...
def peek_version(data: Any) -> int: ...
def check_depth(data: Any, max_depth: int | None = 128) -> None: ...
def check_envelope(data: Any, max_depth: int | None = 128) -> int: ...

"""Golden frame vectors: the exact bytes of frames and batches.

Each entry of ``FRAME_VECTORS`` maps a vector name to a builder that takes a
wire-core module (either twin) and returns bytes; the checked-in file is
``tests/vectors/<name>.bin``. ``tests/test_wirecore.py`` runs every builder with
both twins and compares the results with the files, so a change to the framing
shows up as a diff. Adding a vector is one dict entry.

Run ``python tests/vectors/generate.py`` to rewrite the files (it also rewrites
the envelope vectors of ``envelopes.py`` when the package is importable), or
``python tests/vectors/generate.py --check`` to only compare.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec

__all__ = ["FRAME_VECTORS", "VECTORS_DIR", "build_frame_vectors", "main"]

VECTORS_DIR = Path(__file__).resolve().parent

_ENCODER = msgspec.msgpack.Encoder()

#: Integers at every MessagePack width boundary (fixint, uint8..64, int8..64).
EDGE_INTS: list[int] = [
    0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**64 - 1,
    -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**63),
]  # fmt: skip

#: A small header-shaped message, as a channel would send it.
_ENVELOPE_LIKE: list[Any] = [1, [1, 1, "orders", 7, 1_700_000_000_000], {"order_id": 7, "qty": 2}]


def _batch(wirecore: ModuleType, messages: list[Any]) -> bytes:
    return bytes(wirecore.encode_frames(_ENCODER, messages))


FRAME_VECTORS: dict[str, Callable[[ModuleType], bytes]] = {
    # One frame with an empty body: just the 4-byte prefix 00 00 00 00.
    "frame_empty": lambda w: w.pack_frame(b""),
    # One frame around raw bytes.
    "frame_hello": lambda w: w.pack_frame(b"hello"),
    # A 300-byte body: the prefix's second-lowest byte is in use (00 00 01 2c).
    "frame_300": lambda w: w.pack_frame(bytes(range(256)) + bytes(44)),
    # A batch of one frame per edge integer.
    "frame_batch_edge_ints": lambda w: _batch(w, EDGE_INTS),
    # A batch of mixed values, including an empty array and an empty string.
    "frame_batch_mixed": lambda w: _batch(
        w, [None, True, 1.5, "é", b"\x00\xff", [], "", {"k": [1, 2]}]
    ),
    # A batch of three envelope-shaped messages.
    "frame_batch_envelopes": lambda w: _batch(w, [_ENVELOPE_LIKE] * 3),
}


def build_frame_vectors(wirecore: ModuleType) -> dict[str, bytes]:
    """Run every builder with ``wirecore``; return name -> bytes."""
    return {name: build(wirecore) for name, build in FRAME_VECTORS.items()}


def main(argv: list[str]) -> int:
    """Write (or with ``--check`` compare) the vector files; return an exit status."""
    from klaw_core import _wirecore_py

    check = "--check" in argv
    stale = []
    for name, data in build_frame_vectors(_wirecore_py).items():
        path = VECTORS_DIR / f"{name}.bin"
        if check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(path)
        else:
            path.write_bytes(data)
            print(path)
    if not check:
        sys.path.insert(0, str(VECTORS_DIR))
        try:
            import envelopes  # the envelope vectors, kept in their own module
        except ImportError as exc:  # pragma: no cover - only when wire.py is missing
            print(f"envelope vectors skipped: {exc}", file=sys.stderr)
        else:
            for path in envelopes.write_envelope_vectors(VECTORS_DIR):
                print(path)
    for path in stale:
        print(f"stale: {path}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

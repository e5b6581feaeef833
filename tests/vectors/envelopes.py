"""Golden envelope vectors: the exact bytes of each message type.

One vector per type built with explicit values, one per type built with only
its defaults, and one with integers at the edges of MessagePack's widths. They
are checked in as ``tests/vectors/<name>.bin`` (and listed with their hex in
``docs/wire-format.md``), so that any change to the envelope format shows up as
a diff; ``tests/runtime/channels/test_wire.py`` compares them with what the
current code encodes. ``python tests/vectors/generate.py`` regenerates them
with the frame vectors (``python tests/vectors/envelopes.py`` only these).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import msgspec

from klaw_core.runtime.channels.wire import (
    Ack,
    ControlAction,
    ControlMessage,
    DataMessage,
    Heartbeat,
    MessageKind,
    WireError,
    WireHeader,
    to_raw,
)

__all__ = ["VECTORS_DIR", "envelope_messages", "envelope_vectors", "write_envelope_vectors"]

VECTORS_DIR = Path(__file__).resolve().parent

#: A fixed timestamp (2023-11-14T22:13:20Z) so that the vectors never change.
TS = 1_700_000_000_000


def envelope_messages() -> dict[str, Any]:
    """The messages behind the vectors, by vector name."""
    return {
        # A Raw payload: what a WireEnvelope decoder returns, so the vector compares equal.
        "envelope_data": DataMessage.new(
            to_raw({"order_id": 7, "qty": 2}), channel_id="orders", seq=1, ts=TS
        ),
        "envelope_control": ControlMessage.new(
            ControlAction.RESIZE, metadata={"capacity": 64}, channel_id="orders", seq=2, ts=TS + 1
        ),
        "envelope_heartbeat": Heartbeat.new("worker-1", channel_id="orders", seq=3, ts=TS + 2),
        "envelope_ack": Ack.new(1, channel_id="orders", seq=4, ts=TS + 3),
        "envelope_error": WireError.new(
            "E_FULL",
            "channel is full",
            details={"capacity": 64},
            channel_id="orders",
            seq=5,
            ts=TS + 4,
        ),
        "envelope_data_defaults": DataMessage(),
        "envelope_control_defaults": ControlMessage(),
        "envelope_heartbeat_defaults": Heartbeat(),
        "envelope_ack_defaults": Ack(),
        "envelope_error_defaults": WireError(),
        "envelope_ack_wide_ints": Ack(
            WireHeader(2**16, MessageKind.ACK, "é" * 16, 2**64 - 1, -(2**63)), -33, "ok"
        ),
    }


def envelope_vectors() -> dict[str, bytes]:
    """The vectors: name -> the exact MessagePack bytes of one envelope."""
    encoder = msgspec.msgpack.Encoder()
    return {name: encoder.encode(msg) for name, msg in envelope_messages().items()}


def write_envelope_vectors(directory: Path = VECTORS_DIR) -> list[Path]:
    """Write every vector as ``<name>.bin`` into ``directory``; return the paths."""
    paths = []
    for name, data in envelope_vectors().items():
        path = directory / f"{name}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_envelope_vectors(Path(sys.argv[1]) if len(sys.argv) > 1 else VECTORS_DIR):
        print(written)

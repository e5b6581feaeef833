"""Frames and ids shared by the in-process actor tests (``test_ray_actor``, ``test_actor_frames``).

Imported by module name, as ``ray_messages`` is: this directory is on the
tests' path (pytest's prepend import mode), also when the suite runs against
an installed wheel from an unpacked sdist.
"""

from __future__ import annotations

from typing import Any

from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.wire import Ack, DataMessage

CID = "chan-1"
SENDER, READER, STREAM = 11, 21, 31
WAIT = 5.0


def frame(items: list[Any], seq: int = 0, channel_id: str = CID, version: int = 1) -> bytes:
    """One batch frame, as a RaySender builds it."""
    message = DataMessage.new(items, channel_id=channel_id, seq=seq, version=version)
    return bytes(get_codec_pool().encode_frames([message]))


def ack_frame(delivered: int, channel_id: str = CID) -> bytes:
    """An ``Ack`` envelope carrying a receiver's delivered total."""
    return bytes(get_codec_pool().encode_frames([Ack.new(delivered, channel_id=channel_id)]))


def payloads(frames: tuple[bytes, ...]) -> list[Any]:
    """Every value held by ``frames``, in order."""
    out: list[Any] = []
    for data in frames:
        for message in get_codec_pool().decode_frames(data, DataMessage[list[Any]]):
            out.extend(message.payload)
    return out

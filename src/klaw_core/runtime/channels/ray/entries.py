"""What a channel store holds: buffered frames, producer states, receiver holdings.

Why apart from :mod:`.store`: these are plain records, shared by the store's
rules (:mod:`.store`) and its restart protocol (:mod:`.restart`), which would
otherwise import each other. Producer-lost and producer-failed markers are
``WireError`` envelopes encoded as frames (:func:`marker_frame`), so receivers
read them with the same decoder as data, in stream order.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final, Literal, TypeAlias

from klaw_core.runtime.channels.codec import get_codec_pool
from klaw_core.runtime.channels.ray.constants import ReaderInfo
from klaw_core.runtime.channels.wire import WireError

__all__ = [
    "PRODUCER_FAILED",
    "PRODUCER_LOST",
    "Frame",
    "Holding",
    "ProducerState",
    "ProducerStatus",
    "marker_frame",
]

PRODUCER_LOST: Final = "producer_lost"
"""``WireError.code`` of the marker that ends a producer whose lease expired."""

PRODUCER_FAILED: Final = "producer_failed"
"""``WireError.code`` of the marker a producer sends when it closes with an error."""

ProducerStatus: TypeAlias = Literal["open", "closed", "failed", "lost"]


def marker_frame(
    channel_id: str, code: str, producer: int, message: str, details: dict[str, Any]
) -> bytes:
    """Encode a producer's end marker as one length-prefixed ``WireError`` frame.

    Args:
        channel_id: the channel, written in the header.
        code: :data:`PRODUCER_LOST` or :data:`PRODUCER_FAILED`.
        producer: the producer's sender id.
        message: human-readable text.
        details: what receivers turn into the error's fields.

    Returns:
        The frame's bytes.

    Example:
        >>> data = marker_frame("c", PRODUCER_LOST, 7, "lease expired", {"delivered": 3})
        >>> from klaw_core._wirecore import peek_header
        >>> peek_header(data[4:]).kind
        5
    """
    envelope = WireError.new(
        code, message, details={"producer": producer, **details}, channel_id=channel_id
    )
    return bytes(get_codec_pool().encode_frames([envelope]))


class Frame:
    """One buffered entry: a frame of ``count`` messages from one producer stream.

    ``skip`` messages at its start were already delivered (a frame given back
    by a receiver that delivered part of it); receivers drop them. A marker
    (``WireError``) has ``count == 0``. ``values`` caches decoded values for the
    actor's object path; the store never looks at it.

    Example:
        >>> Frame(b"...", producer=1, stream=2, seq=0, count=3).pending
        3
    """

    __slots__ = ("count", "data", "producer", "redelivered", "seq", "skip", "stream", "values")

    def __init__(
        self,
        data: bytes | None,
        *,
        producer: int,
        stream: int,
        seq: int,
        count: int,
        values: list[Any] | None = None,
    ) -> None:
        self.data = data
        self.producer = producer
        self.stream = stream
        self.seq = seq
        self.count = count
        self.skip = 0
        self.redelivered = False
        self.values = values

    @property
    def pending(self) -> int:
        """Messages of this frame not yet delivered."""
        return self.count - self.skip


class ProducerState:
    """What the store knows about one sender: its lease and how it ended.

    Attributes:
        status: ``"open"``, ``"closed"``, ``"failed"`` or ``"lost"``.
        deadline: when its lease expires (store clock).
        stored: messages of it that reached the channel.

    Example:
        >>> ProducerState(deadline=5.0).status
        'open'
    """

    __slots__ = ("deadline", "status", "stored")

    def __init__(self, deadline: float) -> None:
        self.status: ProducerStatus = "open"
        self.deadline = deadline
        self.stored = 0


class Holding:
    """What one receiver was handed and has not acknowledged.

    Example:
        >>> Holding(ReaderInfo(7), deadline=5.0).held
        0
    """

    __slots__ = ("acked", "deadline", "frames", "handed", "info", "session")

    def __init__(self, info: ReaderInfo, deadline: float) -> None:
        self.info = info
        self.deadline = deadline
        self.session = 0  # the receiver instance fetching (a moved endpoint starts a new one)
        self.frames: deque[Frame] = deque()
        self.handed = 0  # messages handed to this session in all
        self.acked = 0  # of which delivered (running total reported)

    @property
    def held(self) -> int:
        return self.handed - self.acked

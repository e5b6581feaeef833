"""The packed form of the frame path's calls: arguments and replies as ``bytes``.

Why: Ray serializes each argument and reply of an actor call on its own, and
moves ``bytes`` on a fast path (no pickling). On the 2-core CI machine, six
numeric arguments cost about 0.2 ms more per call than one ``bytes`` holding
them, a second ``bytes`` argument about 0.08 ms, and a Struct reply about
0.2 ms more than its MessagePack encoding; one message's latency pays them all
(``benchmarks/bench_ray_channel.py``). So the endpoints put with
:func:`put_arguments` (a small batch travels inside its packed :class:`PutCall`,
one argument; a large one beside it, so that it is not copied once more) and
fetch with :meth:`~.actor_frames.FrameCalls.get_frames_packed`; the actor
replies with the :class:`~.constants.PutAck` / :class:`~.constants.FrameBatch`
encoded. The unpacked ``put_frames`` / ``get_frames`` stay for readers and tests.
"""

from __future__ import annotations

from typing import Final, TypeVar

import msgspec

from klaw_core.runtime.channels.ray.constants import FrameBatch, PutAck
from klaw_core.runtime.errors import MalformedPayload

__all__ = [
    "INLINE_PUT_BYTES",
    "INLINE_REPLY_BYTES",
    "GetCall",
    "PutCall",
    "frame_batch",
    "pack",
    "put_ack",
    "put_arguments",
    "unpack",
]

T = TypeVar("T")


class PutCall(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """A ``put_frames`` call's arguments, packed as one argument.

    The fields are ``put_frames``'s, in order; ``frames`` holds the frames
    themselves for a batch of at most :data:`INLINE_PUT_BYTES` (``None`` when
    they travel as an argument of their own).

    Example:
        >>> unpack(pack(PutCall(1, 7, 8, 0.0, 0, -1)), PutCall)
        PutCall(count=1, sender_id=7, session=8, timeout=0.0, epoch=0, oldest=-1, frames=None)
    """

    count: int
    sender_id: int
    session: int
    timeout: float | None
    epoch: int | None
    oldest: int
    frames: bytes | None = None


class GetCall(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """A ``get_frames`` call's arguments, packed as one argument (fields in order).

    Example:
        >>> GetCall(3, 4, 100, 1.0, 0, -1, -1, 0, None, False).max_messages
        100
    """

    reader_id: int
    stream: int
    max_messages: int
    timeout: float | None
    generation: int
    delivered: int
    received: int
    epoch: int | None
    report: dict[int, list[tuple[int, int]]] | None
    exclusive: bool


INLINE_REPLY_BYTES: Final = 64 * 1024
"""Largest reply frames that travel MessagePack-encoded as ``bytes``, not as a Struct.

Ray moves ``bytes`` on a fast path (no pickling; a Struct reply costs about
0.2 ms more on a 2-core machine), which matters for one message's latency;
above this size the extra copy of encoding would cost more than it saves.
"""


INLINE_PUT_BYTES: Final = 64 * 1024
"""Largest batch that travels inside its packed :class:`PutCall` (one call argument).

Each argument of an actor call costs about 0.08 ms on a 2-core machine; above
this size the copy into the packed call would cost more than that.
"""


pack = msgspec.msgpack.Encoder().encode
"""Encode a call's arguments or an actor's reply (MessagePack)."""

_put_call = msgspec.msgpack.Decoder(PutCall)
_get_call = msgspec.msgpack.Decoder(GetCall)
_put_ack = msgspec.msgpack.Decoder(PutAck)
_frame_batch = msgspec.msgpack.Decoder(FrameBatch)


def unpack(call: bytes, kind: type[T]) -> T:
    """Decode a packed call at the actor; anything else is refused in klaw's words.

    Args:
        call: the packed arguments, from any caller holding the actor handle.
        kind: :class:`PutCall` or :class:`GetCall`.

    Returns:
        The arguments.

    Raises:
        MalformedPayload: ``call`` is not an encoded ``kind``.

    Example:
        >>> unpack(pack(PutCall(1, 7, 8, None, None, -1)), PutCall).sender_id
        7
        >>> unpack(b"\\xc1", PutCall)
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.MalformedPayload: PutCall call is not valid MessagePack: ...
    """
    decoder = _put_call if kind is PutCall else _get_call
    try:
        return decoder.decode(call)  # type: ignore[return-value]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedPayload.from_decode(exc, None, f"{kind.__name__} call") from exc


def put_arguments(call: PutCall) -> tuple[str, tuple[bytes, ...]]:
    """The channel actor's method and the arguments that make the put ``call``.

    ``call.frames`` holds the batch. A small one travels inside the packed
    call (``put_frames_inline``, one argument); a larger one beside it
    (``put_frames_packed``), so that it is not copied into the packed call.

    Args:
        call: the put's arguments, frames included.

    Returns:
        The method's name and its arguments (the reply of either: a packed
        :class:`~.constants.PutAck`).

    Example:
        >>> name, args = put_arguments(PutCall(1, 7, 8, 0.0, 0, -1, b"frames"))
        >>> name, unpack(args[0], PutCall).frames
        ('put_frames_inline', b'frames')
        >>> name, args = put_arguments(PutCall(1, 7, 8, 0.0, 0, -1, bytes(INLINE_PUT_BYTES + 1)))
        >>> name, len(args[0]), unpack(args[1], PutCall).frames
        ('put_frames_packed', 65537, None)
    """
    data = call.frames
    if data is None or len(data) <= INLINE_PUT_BYTES:
        return "put_frames_inline", (pack(call),)
    return "put_frames_packed", (data, pack(msgspec.structs.replace(call, frames=None)))


def put_ack(reply: bytes) -> PutAck:
    """Decode the actor's packed reply to a put.

    Args:
        reply: what ``put_frames_packed`` returned.

    Returns:
        The :class:`~.constants.PutAck`.

    Example:
        >>> put_ack(pack(PutAck("ok", room=3))).room
        3
    """
    return _put_ack.decode(reply)


def frame_batch(reply: bytes | FrameBatch) -> FrameBatch:
    """Decode the actor's reply to a fetch (a large one arrives as the Struct itself).

    Args:
        reply: what ``get_frames_packed`` returned.

    Returns:
        The :class:`~.constants.FrameBatch`.

    Example:
        >>> frame_batch(pack(FrameBatch("empty"))).status
        'empty'
    """
    if isinstance(reply, FrameBatch):
        return reply
    return _frame_batch.decode(reply)

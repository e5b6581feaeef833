"""A hostile peer talking to a Ray channel actor directly, with frames no klaw sender would make.

Anyone holding the actor handle can call ``put_frames`` with any bytes. The
actor checks each frame's header by peeking (never decoding payloads): bad
framing or a bad header is refused with a wire error and stores nothing. A
frame with a good header and a hostile payload (a nesting bomb, a huge
declared array, values of the wrong type) is stored; the receiver must then
raise ``InvalidMessageError`` for it, in its turn, and go on delivering the
messages after it. Either way the channel keeps working.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

import klaw_core._wirecore_py as P
from klaw_core.runtime.channels import ChannelClosedError, InvalidMessageError
from klaw_core.runtime.channels.wire import DataMessage
from klaw_core.runtime.errors import KlawWireError

pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("ray_cluster")]

PEER = 777_001  # sender id the hostile peer registers
STREAM = 555


def batch(channel_id: str, values: list[Any], seq: int = 0) -> bytes:
    return P.pack_frame(
        msgspec.msgpack.encode(DataMessage.new(values, channel_id=channel_id, seq=seq, ts=0))
    )


def hostile_payload(channel_id: str, payload: bytes, seq: int) -> bytes:
    """A frame whose header is fine and whose payload is ``payload`` (raw MessagePack)."""
    header = msgspec.msgpack.encode([1, 1, channel_id, seq, 0])
    return P.pack_frame(b"\x93\x01" + header + payload)


@pytest.fixture
async def chan() -> Any:
    from klaw_core.runtime.channels.ray import RayChannel  # imports Ray: only here

    channel = RayChannel.create(64, value_type=int)
    assert (await channel.actor.register_sender.remote(PEER)).status == "ok"
    yield channel
    channel.destroy()


def refused_frames(channel_id: str) -> dict[str, bytes]:
    good = batch(channel_id, [1])
    return {
        "tls-opener": bytes.fromhex("1603010200010001fc0303") + bytes(32),
        "http": b"GET / HTTP/1.1\r\n\r\n",
        "truncated": good[:-1],
        "trailing-junk": good + b"\x00\x00",
        "empty": b"",
        "map-header": P.pack_frame(msgspec.msgpack.encode([1, {"version": 1}, [1]])),
        "kind-not-tag": P.pack_frame(msgspec.msgpack.encode([1, [1, 3, channel_id, 0, 0], [1]])),
        "heartbeat": P.pack_frame(msgspec.msgpack.encode([3, [1, 3, channel_id, 0, 0], "w"])),
        "other-channel": batch("not-" + channel_id, [1]),
        "unknown-version": P.pack_frame(msgspec.msgpack.encode([1, [9, 1, channel_id, 0, 0], [1]])),
        "bomb-in-header": P.pack_frame(b"\x93\x01" + b"\x91" * 100_000),
    }


async def test_bad_frames_are_refused_and_store_nothing(chan: Any) -> None:
    for name, data in refused_frames(chan.channel_id).items():
        with pytest.raises(KlawWireError):
            await chan.actor.put_frames.remote(data, 1, PEER, STREAM, 0.0)
        assert (await chan.stats()).buffered == 0, name
    # The channel still works.
    tx, rx = chan.sender(), chan.receiver()
    assert (await chan.actor.close_sender.remote(PEER)) is not None
    async with tx:
        await tx.send_batch([1, 2, 3])
    async with asyncio.timeout(60):
        assert [x async for x in rx] == [1, 2, 3]


HOSTILE_PAYLOADS = {
    "nesting-bomb": b"\x91" * 100_000 + b"\xc0",
    "map-bomb": b"\x81\x00" * 50_000 + b"\xc0",
    "huge-array": b"\xdd\xff\xff\xff\xff\x01\x02",
    "huge-string": b"\xdb\xff\xff\xff\xff",
    "wrong-types": msgspec.msgpack.encode(["one", 2.5, None]),
    "not-a-list": msgspec.msgpack.encode({"a": 1}),
    "invalid-utf8": b"\x91\xa2\xff\xfe",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_PAYLOADS))
async def test_hostile_payload_raises_in_turn_and_the_rest_arrives(chan: Any, name: str) -> None:
    cid = chan.channel_id
    put = chan.actor.put_frames.remote
    assert (await put(batch(cid, [1, 2], seq=0), 2, PEER, STREAM, 0.0)).status == "ok"
    # The peer numbers and counts its messages as a sender does (0-1, the
    # hostile ones, then the rest); its payload is the only lie.
    count = 3 if name == "wrong-types" else 1
    bad = hostile_payload(cid, HOSTILE_PAYLOADS[name], seq=2)
    assert (await put(bad, count, PEER, STREAM, 0.0)).status == "ok"
    assert (await put(batch(cid, [5, 6], seq=2 + count), 2, PEER, STREAM, 0.0)).status == "ok"
    assert (await chan.actor.close_sender.remote(PEER)) is not None
    rx = chan.receiver()
    received: list[int] = []
    errors: list[InvalidMessageError] = []
    async with rx, asyncio.timeout(60):
        while True:
            try:
                received.append(await rx.recv())
            except InvalidMessageError as exc:
                errors.append(exc)
            except ChannelClosedError:  # end of channel
                break
    assert received[:2] == [1, 2]
    assert received[-2:] == [5, 6]
    assert errors, "the hostile message must be reported"
    assert all(e.channel == cid for e in errors)

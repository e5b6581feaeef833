"""The public framing API: the wire core's objects, applied to envelopes, in both twins."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import msgspec
import pytest

from klaw_core import _wirecore
from klaw_core.runtime.channels import framing
from klaw_core.runtime.channels.codec import CodecPool, encode
from klaw_core.runtime.channels.wire import (
    Ack,
    ControlMessage,
    DataMessage,
    Heartbeat,
    WireEnvelope,
    WireError,
)
from klaw_core.runtime.errors import FrameTooLarge, MalformedPayload, TruncatedFrame
from vectors.envelopes import envelope_messages, envelope_vectors

MESSAGES: list[Any] = [
    DataMessage.new(msgspec.Raw(b"\x92\x01\x02"), channel_id="c", seq=1, ts=1),
    ControlMessage.new("pause", channel_id="c", seq=2, ts=2),
    Heartbeat.new("w" * 300, channel_id="c", seq=3, ts=3),
    Ack.new(3, channel_id="c", seq=4, ts=4),
    WireError.new("E", "m", details={"k": b"v"}, channel_id="c", seq=5, ts=5),
    DataMessage(),
    WireError(),
]

envelope_decoder = msgspec.msgpack.Decoder(WireEnvelope)


def test_names_are_the_wire_cores_objects() -> None:
    for name in framing.__all__:
        assert getattr(framing, name) is getattr(_wirecore, name)
    assert framing.PREFIX_SIZE == 4
    assert framing.DEFAULT_MAX_FRAME_SIZE == 16 * 1024 * 1024


def test_frame_is_big_endian_length_then_body() -> None:
    body = encode(Heartbeat())
    assert framing.pack_frame(body) == len(body).to_bytes(4, "big") + body
    body = encode(MESSAGES[2])
    assert len(body) > 255  # a length that needs two bytes of the prefix
    assert framing.pack_frame(body)[:4] == b"\x00\x00" + len(body).to_bytes(2, "big")


def test_envelope_batches_in_each_twin(wirecore: ModuleType) -> None:
    encoder = msgspec.msgpack.Encoder()
    batch = wirecore.encode_frames(encoder, MESSAGES)
    assert bytes(batch) == b"".join(framing.pack_frame(encode(m)) for m in MESSAGES)
    assert bytes(batch) == bytes(CodecPool().encode_frames(MESSAGES))
    assert [bytes(v) for v in wirecore.split_frames(batch)] == [encode(m) for m in MESSAGES]
    assert wirecore.decode_frames(batch, envelope_decoder) == MESSAGES
    assert wirecore.decode_frames(bytes(batch), envelope_decoder) == MESSAGES


def test_stream_cut_anywhere_in_each_twin(wirecore: ModuleType) -> None:
    batch = bytes(CodecPool().encode_frames(MESSAGES))
    for step in (1, 3, 7, 64, len(batch)):
        stream = wirecore.FrameDecoder()
        frames: list[bytes] = []
        for i in range(0, len(batch), step):
            frames += stream.feed(batch[i : i + step])
        stream.close()
        assert stream.pending == 0
        assert [envelope_decoder.decode(f) for f in frames] == MESSAGES


def test_errors_in_each_twin(wirecore: ModuleType) -> None:
    frame = framing.pack_frame(encode(Heartbeat.new("x" * 40, ts=0)))
    with pytest.raises(FrameTooLarge) as info:
        wirecore.decode_frames(frame, envelope_decoder, max_frame_size=16)
    assert info.value.offset == 0
    with pytest.raises(TruncatedFrame):
        wirecore.split_frames(frame + frame[:-1])
    with pytest.raises(MalformedPayload) as bad:
        wirecore.decode_frames(frame + framing.pack_frame(b"\x91\xc1"), envelope_decoder)
    assert bad.value.offset == len(frame)
    stream = wirecore.FrameDecoder(max_frame_size=1024)
    with pytest.raises(FrameTooLarge):
        stream.feed(b"\x00\x10\x00\x00")  # rejected from the 4 prefix bytes alone
    assert stream.pending == 0


def test_golden_vectors_peek_and_split_in_each_twin(wirecore: ModuleType) -> None:
    messages = envelope_messages()
    vectors = envelope_vectors()
    batch = b"".join(framing.pack_frame(data) for data in vectors.values())
    assert [bytes(v) for v in wirecore.split_frames(batch)] == list(vectors.values())
    for name, data in vectors.items():
        h = messages[name].header
        assert wirecore.peek_header(data) == wirecore.HeaderPeek(
            h.kind, h.version, h.kind, h.channel_id, h.seq, h.ts
        )

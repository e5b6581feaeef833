"""View structs and their decoders (FR-3.2): decode only the fields needed."""

from __future__ import annotations

from typing import Any

import msgpack
import msgspec
import pytest

from klaw_core import _wirecore
from klaw_core.runtime.channels import views
from klaw_core.runtime.channels.codec import decode, encode
from klaw_core.runtime.channels.views import (
    EnvelopeView,
    RunSummaryView,
    TaskEventView,
    decode_envelope_view,
    decode_run_summary_view,
    decode_task_view,
    peek_header,
)
from klaw_core.runtime.channels.wire import (
    Ack,
    ControlMessage,
    DataMessage,
    Heartbeat,
    MessageKind,
    WireError,
    WireHeader,
)
from klaw_core.runtime.errors import (
    MalformedHeader,
    MalformedPayload,
    NestingTooDeep,
    PayloadValidationError,
    TruncatedFrame,
)

MESSAGES: list[Any] = [
    DataMessage.new({"rows": list(range(1000))}, channel_id="jobs", seq=1, ts=5),
    ControlMessage.new("close", metadata={"why": "done"}, channel_id="jobs", seq=2, ts=6),
    Heartbeat.new("w1", channel_id="jobs", seq=2**63, ts=7),
    Ack.new(1, channel_id="jobs", seq=-3, ts=8),
    WireError.new("E", "bad", details=[None], channel_id="jöbs", seq=4, ts=9),
    DataMessage(),
    ControlMessage(),
    Heartbeat(),
    Ack(),
    WireError(),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_envelope_view_reads_every_envelope(msg: Any) -> None:
    data = encode(msg)
    view = decode_envelope_view(data)
    assert view == EnvelopeView(MessageKind(type(msg).__struct_config__.tag), msg.header)
    assert view.kind == view.header.kind
    assert (view.version, view.channel_id, view.seq, view.ts) == (
        msg.header.version,
        msg.header.channel_id,
        msg.header.seq,
        msg.header.ts,
    )
    # The wire core's peek reads the same header from the first bytes only.
    peek = peek_header(data)
    assert (peek.tag, peek.version, peek.kind, peek.channel_id, peek.seq, peek.ts) == (
        view.kind,
        *msgspec.structs.astuple(view.header),
    )
    # ...and needs nothing past the header: the first n bytes are enough.
    n = len(msgspec.msgpack.encode([view.kind, msg.header]))
    assert peek_header(data[:n]) == peek
    with pytest.raises(TruncatedFrame):
        peek_header(data[: n - 1])


# klaw's own words that start a wire error's message; msgspec's message follows.
NOT_MESSAGEPACK = "payload is not valid MessagePack: "
WRONG_TYPE = "payload does not match the expected type: "


def test_envelope_view_skips_the_fields_it_does_not_name() -> None:
    """The trailing fields are not validated: a frame whose body would fail the
    full envelope decoder still yields its header."""
    data = msgpack.packb([3, [1, 3, "c", 1, 2], 12345, {"extra": [1, 2, 3]}])
    with pytest.raises(PayloadValidationError, match=f"^{WRONG_TYPE}"):
        decode(data)
    assert decode_envelope_view(data) == EnvelopeView(
        MessageKind.HEARTBEAT, WireHeader(1, MessageKind.HEARTBEAT, "c", 1, 2)
    )


@pytest.mark.parametrize(
    ("data", "cls", "words"),
    [
        pytest.param(
            msgpack.packb([7, [1, 7, "", 0, 0]]), PayloadValidationError, WRONG_TYPE, id="kind"
        ),
        # The header rules of every decode path (peek_header's), before msgspec:
        (msgpack.packb([1, [1, 1, "", "x", 0]]), MalformedHeader, "seq must be an integer"),
        (msgpack.packb([1]), MalformedHeader, "envelope array has 1 elements, need at least 2"),
        (msgpack.packb([1, [1, 1, "", 0]]), MalformedHeader, "header array has 4 elements"),
        (msgpack.packb([1, [1, 3, "", 0, 0]]), MalformedHeader, "kind 3 does not match tag 1"),
        (b"\x92\x01", TruncatedFrame, "input ends inside the envelope header"),
        (b"\xc1", MalformedHeader, "envelope must be a MessagePack array"),
        (b"\x93\x01\x95\x01\x01\xa0\x00\x00" + b"\x91" * 200 + b"\xc0", NestingTooDeep, "128"),
    ],
)
def test_envelope_view_errors(data: bytes, cls: type[Exception], words: str) -> None:
    with pytest.raises(cls) as info:
        decode_envelope_view(data)
    assert type(info.value) is cls
    cause = info.value.__cause__
    if cause is None:  # refused by klaw's own header and depth rules
        assert words in str(info.value)
    else:  # klaw's words, then msgspec's message (its wording is not asserted)
        assert str(info.value) == f"{words}{cause}"


def test_peek_header_is_the_wire_cores() -> None:
    assert views.peek_header is _wirecore.peek_header
    assert views.HeaderPeek is _wirecore.HeaderPeek


class TaskEvent(msgspec.Struct, frozen=True):
    """The memo's task event: a payload the listing never needs."""

    id: str
    run_id: str
    status: str
    payload: msgspec.Raw
    attempt: int = 0


def test_task_view_from_a_full_event() -> None:
    event = TaskEvent(
        "e1", "r1", "running", msgspec.Raw(msgspec.msgpack.encode(list(range(500)))), 2
    )
    view = decode_task_view(msgspec.msgpack.encode(event))
    assert view == TaskEventView(id="e1", run_id="r1", status="running")
    # The PRD's shape: id, ts, kind.
    prd = msgspec.msgpack.encode({"id": "e2", "ts": 99, "kind": "started", "blob": b"x" * 100})
    assert decode_task_view(prd) == TaskEventView(id="e2", kind="started", ts=99)
    assert hash(view) == hash(TaskEventView("e1", "r1", "running"))


def test_task_view_errors() -> None:
    with pytest.raises(PayloadValidationError, match=f"^{WRONG_TYPE}"):
        decode_task_view(msgspec.msgpack.encode({"run_id": "r"}))
    with pytest.raises(PayloadValidationError, match=f"^{WRONG_TYPE}"):
        decode_task_view(msgspec.msgpack.encode({"id": "e", "ts": "now"}))
    with pytest.raises(MalformedPayload):
        decode_task_view(b"\x81\xa2id")


def test_run_summary_view() -> None:
    run = {
        "id": "r1",
        "name": "nightly-etl",
        "status": "succeeded",
        "created_at": 1_700_000_000_000,
        "updated_at": 1_700_000_360_000,
        "tasks": [{"id": f"t{i}"} for i in range(100)],
    }
    view = decode_run_summary_view(msgspec.msgpack.encode(run))
    assert view == RunSummaryView(
        "r1", "nightly-etl", "succeeded", 1_700_000_000_000, 1_700_000_360_000
    )
    del run["updated_at"]
    with pytest.raises(PayloadValidationError, match=f"^{WRONG_TYPE}"):
        decode_run_summary_view(msgspec.msgpack.encode(run))


def test_views_are_frozen() -> None:
    view = decode_envelope_view(encode(Heartbeat()))
    with pytest.raises(AttributeError):
        view.kind = MessageKind.ACK
    with pytest.raises(AttributeError):
        TaskEventView("x").id = "y"
    with pytest.raises(AttributeError):
        RunSummaryView("a", "b", "c", 1, 2).id = "y"

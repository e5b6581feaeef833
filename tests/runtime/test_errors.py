"""The error hierarchy: struct <-> exception twins, pickling, wire offsets.

Every channel error struct of ``klaw_core.runtime.errors`` must have examples
below (a new one without them fails ``test_every_struct_twin_has_examples``):
each converts to its exception and back without loss, and every exception
survives pickling (Ray ships exceptions between processes by pickle).
"""

from __future__ import annotations

import inspect
import pickle
from typing import Any

import msgspec
import pytest

from klaw_core.runtime import errors
from klaw_core.runtime.errors import (
    ChannelClosed,
    ChannelClosedError,
    ChannelEmpty,
    ChannelEmptyError,
    ChannelEnded,
    ChannelEndedError,
    ChannelError,
    ChannelFull,
    ChannelFullError,
    ChannelLost,
    ChannelLostError,
    ChannelTimeout,
    ChannelTimeoutError,
    ConfigError,
    EndpointClosed,
    EndpointClosedError,
    FrameTooLarge,
    InvalidMessage,
    InvalidMessageError,
    KlawError,
    KlawWireError,
    MalformedHeader,
    MalformedPayload,
    PayloadValidationError,
    ProducerFailed,
    ProducerFailedError,
    ProducerLost,
    ProducerLostError,
    ReceiversClosed,
    ReceiversClosedError,
    TruncatedFrame,
    UnknownSchemaVersion,
    UnwrapError,
)

STRUCT_EXAMPLES: dict[type[msgspec.Struct], list[Any]] = {
    ChannelClosed: [ChannelClosed(), ChannelClosed("all senders closed")],
    ChannelFull: [ChannelFull(), ChannelFull(1024)],
    ChannelEmpty: [ChannelEmpty()],
    ChannelTimeout: [ChannelTimeout(), ChannelTimeout(0.25)],
    InvalidMessage: [InvalidMessage("jobs", 17, "expected int, got str - at `$[2]`")],
    ChannelLost: [
        ChannelLost("jobs", "actor died"),
        ChannelLost("", ""),
        ChannelLost("jobs", "actor died", ((3, 7), (9, 9))),
    ],
    ChannelEnded: [ChannelEnded(), ChannelEnded("every sender closed")],
    EndpointClosed: [EndpointClosed(), EndpointClosed("receiver closed")],
    ReceiversClosed: [ReceiversClosed(), ReceiversClosed("all receivers closed")],
    ProducerLost: [
        ProducerLost(channel="jobs", producer="p-1", delivered=0),
        ProducerLost(
            channel="jobs", producer="p-1", delivered=12, lost=((12, 19),), reason="lease 5s"
        ),
    ],
    ProducerFailed: [
        ProducerFailed(channel="jobs", producer="p-1", error_type="ValueError", error_message=""),
        ProducerFailed(
            channel="", producer="p", error_type="KeyError", error_message="'x'", reason="r"
        ),
    ],
}
TWINS: dict[type[msgspec.Struct], type[ChannelError]] = {
    ChannelClosed: ChannelClosedError,
    ChannelFull: ChannelFullError,
    ChannelEmpty: ChannelEmptyError,
    ChannelTimeout: ChannelTimeoutError,
    InvalidMessage: InvalidMessageError,
    ChannelLost: ChannelLostError,
    ChannelEnded: ChannelEndedError,
    EndpointClosed: EndpointClosedError,
    ReceiversClosed: ReceiversClosedError,
    ProducerLost: ProducerLostError,
    ProducerFailed: ProducerFailedError,
}
STRUCTS = [s for cls, examples in STRUCT_EXAMPLES.items() for s in examples]
WIRE_ERRORS = [
    KlawWireError,
    FrameTooLarge,
    TruncatedFrame,
    MalformedHeader,
    MalformedPayload,
    PayloadValidationError,
    UnknownSchemaVersion,
]


def _fields(obj: msgspec.Struct) -> tuple[Any, ...]:
    return tuple(getattr(obj, f) for f in obj.__struct_fields__)


def test_every_struct_twin_has_examples() -> None:
    structs = {
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, msgspec.Struct) and obj.__module__ == errors.__name__
    }
    assert structs == set(STRUCT_EXAMPLES) == set(TWINS)


@pytest.mark.parametrize("struct", STRUCTS, ids=repr)
def test_struct_to_exception_to_struct(struct: msgspec.Struct) -> None:
    exc = struct.to_exception()  # type: ignore[attr-defined]
    assert type(exc) is TWINS[type(struct)]
    assert isinstance(exc, ChannelError)
    assert isinstance(exc, KlawError)
    back = exc.to_struct()
    assert back == struct
    assert type(back) is type(struct)


@pytest.mark.parametrize("struct", STRUCTS, ids=repr)
def test_exception_pickles_with_its_fields(struct: msgspec.Struct) -> None:
    exc = struct.to_exception()  # type: ignore[attr-defined]
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is type(exc)
    assert str(again) == str(exc)
    assert again.to_struct() == struct


@pytest.mark.parametrize("struct", STRUCTS, ids=repr)
def test_struct_pickles_and_encodes(struct: msgspec.Struct) -> None:
    assert pickle.loads(pickle.dumps(struct)) == struct
    encoded = msgspec.msgpack.encode(struct)
    assert msgspec.msgpack.decode(encoded, type=type(struct)) == struct
    assert _fields(struct) == _fields(msgspec.msgpack.decode(encoded, type=type(struct)))


def test_messages_say_what_happened() -> None:
    assert str(ChannelClosedError()) == "channel closed"
    assert str(ChannelClosedError("all receivers closed")) == "all receivers closed"
    assert str(ChannelFullError(8)) == "channel full (capacity 8)"
    assert str(ChannelFullError()) == "channel full"
    assert str(ChannelEmptyError()) == "channel empty"
    assert str(ChannelTimeoutError(1.5)) == "channel operation timed out after 1.5s"
    assert "seq 17" in str(InvalidMessageError("jobs", 17, "bad"))
    assert "'jobs' lost: actor died" in str(ChannelLostError("jobs", "actor died"))


def test_timeout_is_also_a_builtin_timeout_error() -> None:
    assert isinstance(ChannelTimeoutError(1.0), TimeoutError)


@pytest.mark.parametrize("cls", WIRE_ERRORS)
@pytest.mark.parametrize("offset", [None, 0, 4, 1 << 40])
def test_wire_errors_keep_reason_and_offset_through_pickle(
    cls: type[KlawWireError], offset: int | None
) -> None:
    exc = cls("frame declares 10 bytes, 3 present", offset)
    assert isinstance(exc, ValueError)
    assert isinstance(exc, KlawError)
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is cls
    assert (again.reason, again.offset) == (exc.reason, offset)
    assert str(again) == str(exc)
    if offset is not None:
        assert str(exc).endswith(f"(at byte {offset})")


def test_payload_validation_is_a_malformed_payload() -> None:
    assert issubclass(PayloadValidationError, MalformedPayload)


def test_config_error_keeps_problems_through_pickle() -> None:
    exc = ConfigError("klaw.toml is invalid", ("channels.capacity: must be >= 1 (from file)",))
    again = pickle.loads(pickle.dumps(exc))
    assert (again.message, again.problems) == (exc.message, exc.problems)
    assert str(again) == str(exc)
    assert isinstance(again, ValueError)


def test_unwrap_error_keeps_result_through_pickle() -> None:
    from klaw_core.result import Err

    exc = UnwrapError(Err("boom"), "called unwrap() on Err(error='boom')")
    again = pickle.loads(pickle.dumps(exc))
    assert (again.result, again.message, str(again)) == (Err("boom"), exc.message, str(exc))


@pytest.mark.parametrize(
    "cls",
    [
        ChannelEndedError,
        EndpointClosedError,
        ReceiversClosedError,
        ProducerLostError,
        ProducerFailedError,
    ],
)
def test_closed_cases_are_told_apart_by_class(cls: type[ChannelClosedError]) -> None:
    """Every closed case is a ChannelClosedError, and no case is another's subclass."""
    assert issubclass(cls, ChannelClosedError)
    others = {
        ChannelEndedError,
        EndpointClosedError,
        ReceiversClosedError,
        ProducerLostError,
        ProducerFailedError,
    } - {cls}
    assert not any(issubclass(cls, other) for other in others)


def test_invalid_message_is_a_value_error() -> None:
    assert issubclass(InvalidMessageError, ValueError)


def test_lost_ranges_are_named_in_the_message() -> None:
    assert "seq 3-7, 9" in str(ChannelLostError("jobs", "actor died", ((3, 7), (9, 9))))
    assert "seq 12-19" in str(ProducerLostError("jobs", "p-1", 12, ((12, 19),)))

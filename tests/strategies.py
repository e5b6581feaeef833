"""Hypothesis strategies for the wire protocol.

Strings never contain lone surrogates (they cannot be encoded as UTF-8), and
integers cover every MessagePack width, signed and unsigned. ``raw_values`` are
``msgspec.Raw`` objects holding exactly one valid MessagePack value.
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st

from klaw_core.runtime.channels.wire import (
    Ack,
    ControlMessage,
    DataMessage,
    Heartbeat,
    MessageKind,
    WireError,
    WireHeader,
)

__all__ = [
    "acks",
    "control_messages",
    "data_messages",
    "envelopes",
    "headers",
    "heartbeats",
    "msgpack_ints",
    "msgpack_values",
    "raw_values",
    "texts",
    "wire_errors",
]

#: Every integer MessagePack can carry (int64 to uint64).
msgpack_ints = st.integers(min_value=-(2**63), max_value=2**64 - 1)

#: Unicode text that UTF-8 can encode.
texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)


def msgpack_values(*, allow_nan: bool = True) -> st.SearchStrategy[Any]:
    """Python values that encode to MessagePack and decode back to an equal value.

    With ``allow_nan=False`` every value compares equal to its own round trip.
    """
    scalars = (
        st.none()
        | st.booleans()
        | msgpack_ints
        | st.floats(allow_nan=allow_nan)
        | texts
        | st.binary(max_size=40)
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(texts, children, max_size=5)
        ),
        max_leaves=20,
    )


def raw_values(*, allow_nan: bool = True) -> st.SearchStrategy[msgspec.Raw]:
    """``msgspec.Raw`` objects holding one complete, valid MessagePack value."""
    return msgpack_values(allow_nan=allow_nan).map(lambda v: msgspec.Raw(msgspec.msgpack.encode(v)))


def headers(
    kind: MessageKind | None = None,
    version: st.SearchStrategy[int] | None = None,
) -> st.SearchStrategy[WireHeader]:
    """Headers of the given kind (any kind when ``None``) and version (any int by default)."""
    return st.builds(
        WireHeader,
        version=msgpack_ints if version is None else version,
        kind=st.sampled_from(MessageKind) if kind is None else st.just(kind),
        channel_id=texts,
        seq=msgpack_ints,
        ts=msgpack_ints,
    )


def data_messages(
    payloads: st.SearchStrategy[Any] | None = None,
    version: st.SearchStrategy[int] | None = None,
) -> st.SearchStrategy[DataMessage[Any]]:
    """``DataMessage`` with a correct header; ``Raw`` payloads unless ``payloads`` is given."""
    return st.builds(
        DataMessage,
        header=headers(MessageKind.DATA, version),
        payload=raw_values() if payloads is None else payloads,
    )


def control_messages(
    version: st.SearchStrategy[int] | None = None,
) -> st.SearchStrategy[ControlMessage]:
    """``ControlMessage`` with any action string and Raw metadata."""
    return st.builds(
        ControlMessage,
        header=headers(MessageKind.CONTROL, version),
        action=texts,
        metadata=raw_values(),
    )


def heartbeats(version: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[Heartbeat]:
    """``Heartbeat`` with any sender id."""
    return st.builds(Heartbeat, header=headers(MessageKind.HEARTBEAT, version), sender_id=texts)


def acks(version: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[Ack]:
    """``Ack`` with any acknowledged sequence number and status."""
    return st.builds(
        Ack, header=headers(MessageKind.ACK, version), acked_seq=msgpack_ints, status=texts
    )


def wire_errors(version: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[WireError]:
    """``WireError`` with any code, message and Raw details."""
    return st.builds(
        WireError,
        header=headers(MessageKind.ERROR, version),
        code=texts,
        message=texts,
        details=raw_values(),
    )


def envelopes(version: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[Any]:
    """Any member of ``WireEnvelope`` (``DataMessage`` with a Raw payload)."""
    return (
        data_messages(version=version)
        | control_messages(version)
        | heartbeats(version)
        | acks(version)
        | wire_errors(version)
    )

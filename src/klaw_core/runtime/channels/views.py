"""Views: decode only the part of a message you need.

A view is a struct with a subset of another type's fields. msgspec skips what
the view does not name without building Python objects for it, so a router, a
monitor or a listing page pays for the header or the few fields it reads, not
for the payload.

Two ways to look at an envelope without decoding it:

- :func:`peek_header` (from the wire core) reads the first bytes only, in time
  independent of the payload size, and does not validate the rest. Use it on the
  hot path (routing by version or channel).
- :func:`decode_envelope_view` decodes ``[tag, header]`` into an
  :class:`EnvelopeView` with full type checks and skips the remaining fields.
  Use it when the header must be a valid :class:`WireHeader`.

:class:`TaskEventView` and :class:`RunSummaryView` are views of orchestrator
records (encoded as MessagePack maps), for listings that must not decode
payloads. Unknown fields are ignored, so they also read newer records.

Example:
    >>> from klaw_core.runtime.channels.codec import encode
    >>> from klaw_core.runtime.channels.wire import DataMessage
    >>> data = encode(DataMessage.new(b"x" * 10_000, channel_id="jobs", seq=9, ts=0))
    >>> view = decode_envelope_view(data)
    >>> view.kind, view.channel_id, view.seq
    (<MessageKind.DATA: 1>, 'jobs', 9)
    >>> peek_header(data).seq
    9
"""

from __future__ import annotations

import msgspec

from klaw_core._wirecore import HeaderPeek, check_envelope, peek_header
from klaw_core.runtime.channels.codec import Buffer, decode_with
from klaw_core.runtime.channels.wire import MessageKind, WireHeader

__all__ = [
    "EnvelopeView",
    "HeaderPeek",
    "RunSummaryView",
    "TaskEventView",
    "decode_envelope_view",
    "decode_run_summary_view",
    "decode_task_view",
    "peek_header",
]


class EnvelopeView(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """The tag and header of any envelope, ``[tag, header, ...]``; the rest is skipped.

    Untagged on purpose: the envelope's tag is decoded into :attr:`kind`, so one
    view reads all five message types. Decoding rejects an unknown tag or a
    malformed header.

    Attributes:
        kind: the envelope's tag (equal to ``header.kind``).
        header: the envelope's header; ``version``, ``channel_id``, ``seq`` and
            ``ts`` are also properties of the view.

    Example:
        >>> from klaw_core.runtime.channels.codec import encode
        >>> from klaw_core.runtime.channels.wire import Ack
        >>> decode_envelope_view(encode(Ack.new(3, channel_id="c", ts=0)))
        EnvelopeView(kind=<MessageKind.ACK: 4>, header=WireHeader(version=1, kind=<MessageKind.ACK: 4>, channel_id='c', seq=0, ts=0))
    """

    kind: MessageKind
    header: WireHeader

    # The memo's flat view (version, kind, channel_id, seq, ts), as properties.
    @property
    def version(self) -> int:
        """The header's schema version."""
        return self.header.version

    @property
    def channel_id(self) -> str:
        """The header's channel id."""
        return self.header.channel_id

    @property
    def seq(self) -> int:
        """The header's sequence number."""
        return self.header.seq

    @property
    def ts(self) -> int:
        """The header's timestamp, Unix milliseconds."""
        return self.header.ts


class TaskEventView(msgspec.Struct, frozen=True, gc=False):
    """A task event without its payload, for listing and filtering.

    Reads any map-encoded task event that has an ``id``; the other fields
    default when the record lacks them (the memo's events carry ``run_id`` and
    ``status``, the PRD's carry ``ts`` and ``kind``).

    Attributes:
        id: the event's id.
        run_id: the run it belongs to.
        status: the task's status.
        kind: the event kind.
        ts: when it happened, Unix milliseconds.

    Example:
        >>> event = {"id": "e1", "run_id": "r1", "status": "ok", "payload": [1] * 1000}
        >>> decode_task_view(msgspec.msgpack.encode(event))
        TaskEventView(id='e1', run_id='r1', status='ok', kind='', ts=0)
    """

    id: str
    run_id: str = ""
    status: str = ""
    kind: str = ""
    ts: int = 0


class RunSummaryView(msgspec.Struct, frozen=True, gc=False):
    """A run's summary fields, for run listings (the memo's view).

    Attributes:
        id: the run's id.
        name: the run's name.
        status: the run's status.
        created_at: creation time, Unix milliseconds.
        updated_at: last update time, Unix milliseconds.

    Example:
        >>> run = {"id": "r1", "name": "etl", "status": "done", "created_at": 1,
        ...        "updated_at": 2, "steps": ["a", "b"]}
        >>> decode_run_summary_view(msgspec.msgpack.encode(run)).name
        'etl'
    """

    id: str
    name: str
    status: str
    created_at: int
    updated_at: int


_envelope_view_decoder = msgspec.msgpack.Decoder(EnvelopeView)
_task_view_decoder = msgspec.msgpack.Decoder(TaskEventView)
_run_summary_view_decoder = msgspec.msgpack.Decoder(RunSummaryView)


def decode_envelope_view(data: Buffer) -> EnvelopeView:
    """Decode an envelope's tag and header, skipping its other fields.

    The header rules are those of every decode path (``peek_header``'s: exactly
    5 fields, ``kind`` equal to the tag, ...), and the nesting bound too.

    Args:
        data: one envelope (no length prefix).

    Returns:
        The :class:`EnvelopeView`.

    Raises:
        TruncatedFrame: ``data`` ends inside the header.
        MalformedHeader: the header is not ``[version, kind, channel_id, seq,
            ts]`` with ``kind`` equal to the tag.
        NestingTooDeep: ``data`` nests deeper than ``DEFAULT_MAX_DEPTH``.
        MalformedPayload: ``data`` is not valid MessagePack.
        PayloadValidationError: ``data`` is not ``[tag, header, ...]`` with a
            known tag and a valid header.

    Example:
        >>> from klaw_core.runtime.channels.codec import encode
        >>> from klaw_core.runtime.channels.wire import Heartbeat
        >>> view = decode_envelope_view(encode(Heartbeat.new("w1", ts=5)))
        >>> view.kind, view.version, view.ts
        (<MessageKind.HEARTBEAT: 3>, 1, 5)
        >>> decode_envelope_view(b"\\x92\\x09\\x95\\x01\\x09\\xa0\\x00\\x00")  # no kind 9
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.PayloadValidationError: payload does not match the expected type: ...
    """
    check_envelope(data)
    return decode_with(_envelope_view_decoder, data, max_depth=None)


def decode_task_view(data: Buffer) -> TaskEventView:
    """Decode a map-encoded task event into a :class:`TaskEventView`.

    Args:
        data: one MessagePack map.

    Returns:
        The view.

    Raises:
        MalformedPayload: ``data`` is not valid MessagePack.
        PayloadValidationError: no ``id``, or a field of the wrong type.

    Example:
        >>> record = {"id": "e7", "kind": "retry", "ts": 1_700_000_000_000, "payload": b"..."}
        >>> decode_task_view(msgspec.msgpack.encode(record))
        TaskEventView(id='e7', run_id='', status='', kind='retry', ts=1700000000000)
        >>> decode_task_view(msgspec.msgpack.encode({"run_id": "r1"}))
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.PayloadValidationError: payload does not match the expected type: ...
    """
    return decode_with(_task_view_decoder, data)


def decode_run_summary_view(data: Buffer) -> RunSummaryView:
    """Decode a map-encoded run record into a :class:`RunSummaryView`.

    Args:
        data: one MessagePack map.

    Returns:
        The view.

    Raises:
        MalformedPayload: ``data`` is not valid MessagePack.
        PayloadValidationError: a summary field is missing or of the wrong type.

    Example:
        >>> run = {"id": "r1", "name": "etl", "status": "running", "created_at": 1,
        ...        "updated_at": 2, "owner": "ops", "tasks": list(range(1000))}
        >>> decode_run_summary_view(msgspec.msgpack.encode(run)).status
        'running'
        >>> decode_run_summary_view(msgspec.msgpack.encode({**run, "created_at": "today"}))
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.PayloadValidationError: payload does not match the expected type: ...
    """
    return decode_with(_run_summary_view_decoder, data)

"""Schema versions: how old and new peers keep talking while the envelope evolves.

Every header starts with a schema version. A :class:`SchemaRegistry` maps each
version to the envelope type of that version and decodes a message with the
decoder of *its* version, found by peeking at the header (the wire core reads a
few bytes; nothing is decoded twice). A batch may mix versions: each frame is
routed on its own.

How to evolve the format: add a version whose structs keep every existing field
in place and append new fields *with defaults* at the end. ``array_like``
structs decode shorter arrays by filling trailing defaults, so the new types
also read old messages, and old peers skip the trailing fields they do not know.

Example:
    >>> from klaw_core.runtime.channels.codec import encode
    >>> from klaw_core.runtime.channels.wire import Heartbeat
    >>> registry = get_schema_registry()
    >>> registry.versions
    (1,)
    >>> registry.decode(encode(Heartbeat.new("w1", ts=0))).sender_id
    'w1'
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import msgspec

from klaw_core._wirecore import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_FRAME_SIZE,
    PREFIX_SIZE,
    check_envelope,
    split_frames,
)
from klaw_core._wiretypes import max_depth_error
from klaw_core.runtime.channels.codec import Buffer, wire_error_from
from klaw_core.runtime.channels.wire import WIRE_SCHEMA_VERSION, WireEnvelope
from klaw_core.runtime.errors import KlawWireError, UnknownSchemaVersion

__all__ = [
    "SchemaRegistry",
    "get_schema_registry",
    "register_schema",
]

T = TypeVar("T")

_DECODE_ERRORS = (ValueError, RecursionError)


class SchemaRegistry:
    """Envelope types by schema version, with decoding routed by the peeked version.

    Args:
        max_frame_size: largest frame :meth:`decode_frames` accepts.
        max_depth: most arrays and maps an envelope may nest; ``None``: no bound.

    Raises:
        ValueError: ``max_depth`` is below 1.

    Thread-safe: registration takes a lock and publishes a new immutable
    mapping, so decoding reads it without locking.

    Example:
        >>> from klaw_core.runtime.channels.wire import WireEnvelope
        >>> registry = SchemaRegistry()
        >>> registry.register(1, WireEnvelope)
        >>> registry.decode(b"\\x94\\x04\\x95\\x01\\x04\\xa0\\x00\\x00\\x07\\xa2ok").acked_seq
        7
        >>> registry.decode(b"\\x94\\x04\\x95\\x09\\x04\\xa0\\x00\\x00\\x07\\xa2ok")
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.UnknownSchemaVersion: schema version 9 is not registered (known: 1) (at byte 0)
    """

    __slots__ = ("_decoders", "_lock", "_max_depth", "_max_frame_size", "_types")

    def __init__(
        self,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_depth: int | None = DEFAULT_MAX_DEPTH,
    ) -> None:
        if max_depth is not None and max_depth < 1:
            raise max_depth_error(max_depth)
        self._lock = threading.Lock()
        self._max_frame_size = max_frame_size
        self._max_depth = max_depth
        self._types: Mapping[int, Any] = MappingProxyType({})
        self._decoders: Mapping[int, msgspec.msgpack.Decoder[Any]] = MappingProxyType({})

    def register(self, version: int, envelope_type: Any, *, replace: bool = False) -> None:
        """Register the envelope type of one schema version.

        Args:
            version: the schema version (the header's first element), >= 0.
            envelope_type: a tagged struct or a union of tagged structs.
            replace: allow replacing a version that is already registered.

        Raises:
            ValueError: ``version`` is negative, or already registered with a
                different type and ``replace`` is false.
            TypeError: msgspec cannot decode ``envelope_type``.
        """
        if isinstance(version, bool) or version < 0:
            raise ValueError(f"schema version must be an int >= 0, got {version!r}")
        decoder = msgspec.msgpack.Decoder(envelope_type)  # TypeError before any change
        with self._lock:
            current = self._types.get(version)
            if current is not None and current != envelope_type and not replace:
                raise ValueError(
                    f"schema version {version} is already registered as {current!r}; "
                    "pass replace=True to replace it"
                )
            self._types = MappingProxyType({**self._types, version: envelope_type})
            self._decoders = MappingProxyType({**self._decoders, version: decoder})

    @property
    def versions(self) -> tuple[int, ...]:
        """The registered versions, ascending."""
        return tuple(sorted(self._types))

    @property
    def latest(self) -> int:
        """The highest registered version.

        Raises:
            LookupError: nothing is registered.
        """
        if not self._types:
            raise LookupError("no schema version is registered")
        return max(self._types)

    def envelope_type(self, version: int) -> Any:
        """Return the envelope type registered for ``version``.

        Args:
            version: a schema version.

        Returns:
            The type given to :meth:`register` for it.

        Raises:
            UnknownSchemaVersion: ``version`` is not registered.
        """
        try:
            return self._types[version]
        except KeyError:
            raise self._unknown(version, None) from None

    def get_decoder(self, version: int) -> msgspec.msgpack.Decoder[Any]:
        """Return the (thread-safe, shared) decoder of ``version``.

        Args:
            version: a schema version.

        Returns:
            The ``msgspec.msgpack.Decoder`` of its envelope type.

        Raises:
            UnknownSchemaVersion: ``version`` is not registered.
        """
        try:
            return self._decoders[version]
        except KeyError:
            raise self._unknown(version, None) from None

    def decode(self, data: Buffer) -> Any:
        """Decode one envelope with the decoder of the version in its header.

        Args:
            data: one envelope (no length prefix).

        Returns:
            The envelope, as the type registered for its version.

        Raises:
            TruncatedFrame: ``data`` ends inside the header.
            MalformedHeader: ``data`` does not start with a readable header.
            UnknownSchemaVersion: the version is not registered.
            NestingTooDeep: ``data`` nests deeper than ``max_depth``.
            MalformedPayload: ``data`` is not valid MessagePack.
            PayloadValidationError: ``data`` does not match its version's type.
        """
        return self._decode_at(data, None)

    def decode_frames(self, data: Buffer) -> list[Any]:
        """Decode a batch of frames, each with the decoder of its own version.

        Every error names the offset of the failing frame's length prefix in
        ``data`` (a header error: the offending byte), as the wire core does.

        Args:
            data: frames concatenated (each a 4-byte big-endian length and an envelope).

        Returns:
            The envelopes, in order.

        Raises:
            FrameTooLarge: a frame declares more than ``max_frame_size``.
            TruncatedFrame: ``data`` ends inside a frame.
            MalformedHeader: a frame does not start with a readable header.
            UnknownSchemaVersion: a frame's version is not registered.
            NestingTooDeep: a frame nests deeper than ``max_depth``.
            MalformedPayload: a frame is not valid MessagePack.
            PayloadValidationError: a frame does not match its version's type.
        """
        frames = split_frames(data, max_frame_size=self._max_frame_size)
        out: list[Any] = []
        frame_at = 0
        for frame in frames:
            out.append(self._decode_at(frame, frame_at))
            frame_at += PREFIX_SIZE + len(frame)
        return out

    def json_schema(self) -> dict[str, Any]:
        """Return a JSON Schema document describing every registered version.

        Returns:
            ``{"$defs": {...}, "versions": {"1": <schema>, ...}}``: the struct
            definitions shared by all versions, and per version the schema of its
            envelope type (usually a ``$ref`` union into ``$defs``).
        """
        types = self._types
        ordered = sorted(types)
        schemas, components = msgspec.json.schema_components(
            [types[v] for v in ordered], ref_template="#/$defs/{name}"
        )
        return {
            "$defs": dict(sorted(components.items())),
            "versions": {str(v): schema for v, schema in zip(ordered, schemas, strict=True)},
        }

    def _decode_at(self, data: Buffer, frame_at: int | None) -> Any:
        # ``frame_at`` is where this envelope's frame starts in a batch (None for
        # a lone envelope). Like the wire core, errors then name the frame's
        # offset, and header and nesting errors the exact byte. The header rules
        # and the nesting bound are those of every decode path (check_envelope).
        try:
            version = check_envelope(data, self._max_depth)
        except KlawWireError as exc:
            if frame_at is None:
                raise
            at = frame_at + PREFIX_SIZE + (exc.offset or 0)
            raise type(exc)(exc.reason, at) from exc
        decoder = self._decoders.get(version)
        if decoder is None:
            raise self._unknown(version, frame_at or 0)
        try:
            return decoder.decode(data)
        except _DECODE_ERRORS as exc:
            error = wire_error_from(exc)
            raise type(error)(error.reason, frame_at) from exc

    def _unknown(self, version: int, offset: int | None) -> KlawWireError:
        known = ", ".join(map(str, self.versions)) or "none"
        return UnknownSchemaVersion(
            f"schema version {version} is not registered (known: {known})", offset
        )

    def __repr__(self) -> str:
        return f"SchemaRegistry(versions={self.versions!r})"


_default_registry: SchemaRegistry | None = None
_default_lock = threading.Lock()


def get_schema_registry() -> SchemaRegistry:
    """Return the process-wide registry; version 1 is :data:`WireEnvelope`.

    Returns:
        The shared :class:`SchemaRegistry`, created on first use with
        :data:`WireEnvelope` registered as ``WIRE_SCHEMA_VERSION``; what
        :func:`register_schema` adds to it is visible to every caller.

    Example:
        >>> get_schema_registry().versions[0]
        1
    """
    global _default_registry
    registry = _default_registry
    if registry is None:
        with _default_lock:
            registry = _default_registry
            if registry is None:
                registry = SchemaRegistry()
                registry.register(WIRE_SCHEMA_VERSION, WireEnvelope)
                _default_registry = registry
    return registry


def register_schema(
    version: int, *, registry: SchemaRegistry | None = None, replace: bool = False
) -> Callable[[type[T]], type[T]]:
    """Class decorator: register the decorated envelope struct as ``version``.

    Args:
        version: the schema version.
        registry: where to register; the default registry when ``None``.
        replace: allow replacing an existing registration.

    Returns:
        A decorator that registers its class and returns it unchanged.

    Example:
        >>> from klaw_core.runtime.channels.wire import Heartbeat, WireHeader
        >>> registry = SchemaRegistry()
        >>> @register_schema(2, registry=registry)
        ... class HeartbeatV2(Heartbeat, tag=3):
        ...     load: float = 0.0
        >>> header = WireHeader(version=2, kind=3)
        >>> registry.decode(msgspec.msgpack.encode(HeartbeatV2(header, "w1", 0.5))).load
        0.5
    """

    def decorate(cls: type[T]) -> type[T]:
        (registry or get_schema_registry()).register(version, cls, replace=replace)
        return cls

    return decorate

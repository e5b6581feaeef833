"""``klaw inspect FILE``: decode a stream of frames and print one envelope per line.

The file is read in chunks through a :class:`~klaw_core.runtime.channels.framing.FrameDecoder`,
so a large capture streams instead of being loaded whole, and envelopes before a
corrupt frame are printed before the error. Each frame is decoded by the
process-wide :class:`~klaw_core.runtime.channels.schema.SchemaRegistry`, routed by
the version in its header, exactly as a receiver would. Errors name the byte
offset in the file.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterator
from typing import Any, cast

import msgspec

from klaw_core.cli._output import format_count, int_at_least
from klaw_core.runtime.channels.framing import PREFIX_SIZE, FrameDecoder
from klaw_core.runtime.channels.schema import SchemaRegistry, get_schema_registry
from klaw_core.runtime.config import load_config
from klaw_core.runtime.errors import KlawWireError

__all__ = ["Record", "add_parser", "iter_records", "run"]

_CHUNK = 1 << 16
_SUMMARY_WIDTH = 72


def add_parser(commands: Any) -> None:
    """Register ``klaw inspect``."""
    parser = commands.add_parser(
        "inspect",
        help="decode a file of frames, one envelope per line",
        description="Decode a stream of length-prefixed frames (a batch as written by "
        "encode_frames) and print one envelope per line: offset, type, header, fields. "
        "Exit code 2, naming the byte offset, at the first corrupt frame.",
    )
    parser.add_argument("file", metavar="FILE", help="the frames; '-' reads stdin")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--max-frame-size",
        type=int_at_least(1),
        metavar="BYTES",
        help="largest frame accepted (default: codec.max_frame_size of the config)",
    )
    parser.set_defaults(handler=run)


class Record(msgspec.Struct, frozen=True):
    """One decoded frame: where it starts in the stream, its size, its envelope."""

    offset: int
    size: int
    envelope: Any


def iter_records(
    stream: io.BufferedIOBase, registry: SchemaRegistry, max_frame_size: int
) -> Iterator[Record]:
    """Yield every envelope of ``stream`` with its offset.

    Raises:
        KlawWireError: a frame is corrupt, truncated, too large or of an
            unknown version; the message gives the offset in the stream.

    Example:
        >>> import io
        >>> from klaw_core.runtime.channels.codec import get_codec_pool
        >>> from klaw_core.runtime.channels.wire import Heartbeat
        >>> data = bytes(get_codec_pool().encode_frames([Heartbeat.new("a", ts=0)] * 2))
        >>> [r.offset for r in iter_records(io.BytesIO(data), get_schema_registry(), 1024)]
        [0, 14]
    """
    frames = FrameDecoder(max_frame_size)
    offset = 0
    while chunk := stream.read1(_CHUNK):  # read1: hand over what arrived (stdin, pipes)
        for frame in frames.feed(chunk):
            try:
                envelope = registry.decode(frame)
            except KlawWireError as exc:
                at = offset + PREFIX_SIZE + (exc.offset or 0)
                raise type(exc)(exc.reason, at) from exc
            yield Record(offset, PREFIX_SIZE + len(frame), envelope)
            offset += PREFIX_SIZE + len(frame)
    frames.close()


def _tag(envelope: Any) -> Any:
    config = getattr(envelope, "__struct_config__", None)
    return None if config is None else config.tag


def _fields(envelope: Any) -> dict[str, Any]:
    if not isinstance(envelope, msgspec.Struct):
        return {"value": envelope}
    return {
        name: getattr(envelope, name) for name in envelope.__struct_fields__ if name != "header"
    }


def _raw_value(raw: msgspec.Raw) -> Any:
    return msgspec.msgpack.decode(raw)  # a Raw of a decoded envelope is one valid value


def _repr(value: Any) -> str:
    if isinstance(value, msgspec.msgpack.Ext):
        return f"Ext({value.code}, {value.data!r})"
    return repr(value)


def _short(value: Any) -> str:
    text = _repr(_raw_value(value)) if isinstance(value, msgspec.Raw) else _repr(value)
    if len(text) > _SUMMARY_WIDTH:
        text = text[: _SUMMARY_WIDTH - 3] + "..."
    if isinstance(value, msgspec.Raw):
        text += f" ({len(value)} B)"
    return text


def _header_text(envelope: Any, tag: Any) -> str:
    header = getattr(envelope, "header", None)
    if header is None:
        return ""
    fields = msgspec.structs.asdict(header)
    kind = fields.pop("kind", None)
    version = fields.pop("version", "?")
    parts = [f"v{version}"]
    if kind is not None and int(kind) != tag:
        parts.append(f"kind={int(kind)}(!=tag)")
    parts += [f"{name}={value!r}" for name, value in fields.items()]
    return " ".join(parts)


def _line(record: Record) -> str:
    envelope = record.envelope
    tag = _tag(envelope)
    name = type(envelope).__name__
    fields = "  ".join(f"{key}={_short(value)}" for key, value in _fields(envelope).items())
    return f"{record.offset:>10}  {name:<14} {_header_text(envelope, tag)}  {fields}".rstrip()


def _json_value(value: Any) -> Any:
    if isinstance(value, msgspec.Raw):
        decoded = _raw_value(value)
        try:
            msgspec.json.encode(decoded)
        except (TypeError, ValueError):  # ext types, non-string keys JSON cannot hold
            return {"msgpack_hex": bytes(value).hex()}
        return decoded
    return value


def _json(record: Record) -> bytes:
    envelope = record.envelope
    header = getattr(envelope, "header", None)
    document = {
        "offset": record.offset,
        "size": record.size,
        "type": type(envelope).__name__,
        "tag": _tag(envelope),
        "header": msgspec.structs.asdict(header) if header is not None else None,
        "fields": {key: _json_value(value) for key, value in _fields(envelope).items()},
    }
    return msgspec.json.encode(document)


def _open(path: str) -> io.BufferedIOBase:
    if path == "-":
        return cast("io.BufferedIOBase", sys.stdin.buffer)
    return open(path, "rb")


def run(args: argparse.Namespace) -> int:
    """Print the envelopes; a :class:`KlawWireError` reaches ``main`` as exit code 2."""
    max_frame_size = args.max_frame_size or load_config().codec.max_frame_size
    registry = get_schema_registry()
    stream = _open(args.file)
    name = "<stdin>" if args.file == "-" else args.file
    count = 0
    out = sys.stdout
    try:
        for record in iter_records(stream, registry, max_frame_size):
            if args.json:
                out.write(_json(record).decode() + "\n")
            else:
                out.write(_line(record) + "\n")
            count += 1
    except KlawWireError as exc:
        out.flush()
        raise type(exc)(f"{name}: {exc.reason}", exc.offset) from exc
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    out.flush()
    print(f"{name}: {format_count(count)} envelope(s)", file=sys.stderr)
    return 0

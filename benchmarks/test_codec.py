"""Envelope encode/decode: msgspec vs pydantic v2, msgpack-python and ormsgpack.

Each group is one operation on the same data; the implementations are the
parameters. The pydantic models are the five envelopes as a discriminated
union (``_workloads.py``), read and written as the same JSON document the
map-encoded msgspec twins produce.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack
import msgspec
import ormsgpack
import pytest

from _workloads import (
    BATCH,
    MAP_UNION,
    PYDANTIC_LIST,
    PYDANTIC_UNION,
    TYPED_UNION,
    MapData,
    Order,
    make_envelopes,
    map_twin,
    pydantic_twin,
)
from klaw_core.runtime.channels.codec import CodecPool
from klaw_core.runtime.channels.wire import DataMessage, WireEnvelope

MESSAGE = make_envelopes(1)[0]
MAP_MESSAGE = map_twin(MESSAGE)
MODEL = pydantic_twin(MESSAGE)
JSON_DOC = msgspec.json.encode(MAP_MESSAGE)
WIRE_JSON = msgspec.json.encode(MESSAGE)
WIRE_MP = msgspec.msgpack.encode(MESSAGE)
BUILTINS = msgspec.to_builtins(MESSAGE)

_js = msgspec.json.Encoder()
_mp = msgspec.msgpack.Encoder()

ENCODERS: dict[str, Callable[[], object]] = {
    "pydantic model_dump_json": MODEL.model_dump_json,
    "msgspec json (same document)": lambda: _js.encode(MAP_MESSAGE),
    "msgspec json (wire structs)": lambda: _js.encode(MESSAGE),
    "msgspec msgpack (wire structs)": lambda: _mp.encode(MESSAGE),
    "msgpack.packb (untyped)": lambda: msgpack.packb(BUILTINS),
    "ormsgpack.packb (untyped)": lambda: ormsgpack.packb(BUILTINS),
}

_map_dec = msgspec.json.Decoder(MAP_UNION)
_wire_json_dec = msgspec.json.Decoder(TYPED_UNION)
_wire_mp_dec = msgspec.msgpack.Decoder(TYPED_UNION)

DECODERS: dict[str, Callable[[], object]] = {
    "pydantic TypeAdapter.validate_json": lambda: PYDANTIC_UNION.validate_json(JSON_DOC),
    "msgspec json (same document)": lambda: _map_dec.decode(JSON_DOC),
    "msgspec json (wire structs)": lambda: _wire_json_dec.decode(WIRE_JSON),
    "msgspec msgpack (wire structs)": lambda: _wire_mp_dec.decode(WIRE_MP),
    "msgpack.unpackb (untyped)": lambda: msgpack.unpackb(WIRE_MP),
    "ormsgpack.unpackb (untyped)": lambda: ormsgpack.unpackb(WIRE_MP),
}


@pytest.mark.benchmark(group="envelope encode (one DataMessage[Order])")
@pytest.mark.parametrize("impl", list(ENCODERS))
def test_encode(benchmark, impl: str) -> None:
    out = benchmark(ENCODERS[impl])
    assert len(out) > 50


@pytest.mark.benchmark(group="envelope decode (one DataMessage[Order], union of 5 types)")
@pytest.mark.parametrize("impl", list(DECODERS))
def test_decode(benchmark, impl: str) -> None:
    out: Any = benchmark(DECODERS[impl])
    assert out is not None


_envelopes = make_envelopes(BATCH)
_LIST_DOC = msgspec.json.encode([map_twin(e) for e in _envelopes])
_LIST_MP = msgspec.msgpack.encode(_envelopes)
_map_list = msgspec.json.Decoder(list[MAP_UNION])
_mp_list = msgspec.msgpack.Decoder(list[TYPED_UNION])

BATCH_DECODERS: dict[str, Callable[[], list[Any]]] = {
    "pydantic validate_json(list)": lambda: PYDANTIC_LIST.validate_json(_LIST_DOC),
    "msgspec json (same document)": lambda: _map_list.decode(_LIST_DOC),
    "msgspec msgpack (wire structs)": lambda: _mp_list.decode(_LIST_MP),
}


@pytest.mark.benchmark(group="batch decode (1,000 envelopes)")
@pytest.mark.parametrize("impl", list(BATCH_DECODERS))
def test_batch_decode(benchmark, impl: str) -> None:
    assert len(benchmark(BATCH_DECODERS[impl])) == BATCH


_codec: CodecPool[Any] = CodecPool()


@pytest.mark.benchmark(group="encoder reuse")
@pytest.mark.parametrize("impl", ["CodecPool.encode", "new Encoder per call"])
def test_encoder_reuse(benchmark, impl: str) -> None:
    if impl == "CodecPool.encode":
        out = benchmark(_codec.encode, MESSAGE)
    else:
        out = benchmark(lambda: msgspec.msgpack.Encoder().encode(MESSAGE))
    assert out == WIRE_MP


@pytest.mark.benchmark(group="decoder reuse")
@pytest.mark.parametrize("impl", ["CodecPool.decode", "new Decoder per call"])
def test_decoder_reuse(benchmark, impl: str) -> None:
    if impl == "CodecPool.decode":
        out = benchmark(_codec.decode, WIRE_MP)
    else:
        out = benchmark(lambda: msgspec.msgpack.Decoder(WireEnvelope).decode(WIRE_MP))
    assert out.header == MESSAGE.header


_array_dec = msgspec.msgpack.Decoder(DataMessage[Order])
_map_dec_mp = msgspec.msgpack.Decoder(MapData)
_MAP_MP = msgspec.msgpack.encode(MAP_MESSAGE)


@pytest.mark.benchmark(group="array_like vs map struct (decode)")
@pytest.mark.parametrize("impl", ["array_like", "map"])
def test_array_like_decode(benchmark, impl: str) -> None:
    if impl == "array_like":
        out: Any = benchmark(_array_dec.decode, WIRE_MP)
    else:
        out = benchmark(_map_dec_mp.decode, _MAP_MP)
    assert out.payload == MESSAGE.payload

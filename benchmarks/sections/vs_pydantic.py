"""Typed envelopes: msgspec (JSON and MessagePack) vs pydantic v2 (JSON) (``pydantic.*``)."""

from __future__ import annotations

import msgspec

from _harness import Case, Settings, interleave
from _report import VERSIONS, Report, ratio_figure
from _workloads import (
    BATCH,
    MAP_UNION,
    PYDANTIC_LIST,
    PYDANTIC_UNION,
    TYPED_UNION,
    make_envelopes,
    map_twin,
    pydantic_twin,
)


def run(s: Settings, report: Report) -> None:
    """Typed envelopes: msgspec (JSON and MessagePack) vs pydantic v2 (JSON)."""
    envelopes = make_envelopes(BATCH)
    message = envelopes[0]
    map_msg = map_twin(message)
    model = pydantic_twin(message)
    maps = [map_twin(e) for e in envelopes]
    models = [pydantic_twin(e) for e in envelopes]
    js_enc, mp_enc = msgspec.json.Encoder(), msgspec.msgpack.Encoder()
    doc = js_enc.encode(map_msg)
    if model.model_dump_json().encode() != doc:
        raise SystemExit("pydantic and msgspec disagree on the JSON document")
    wire_json = js_enc.encode(message)
    wire_mp = mp_enc.encode(message)
    list_doc = js_enc.encode(maps)
    g = {
        "model": model,
        "models": models,
        "msg": message,
        "map_msg": map_msg,
        "maps": maps,
        "envs": envelopes,
        "js": js_enc.encode,
        "mp": mp_enc.encode,
        "doc": doc,
        "wire_json": wire_json,
        "wire_mp": wire_mp,
        "list_doc": list_doc,
        "list_wire_mp": mp_enc.encode(envelopes),
        "list_wire_json": js_enc.encode(envelopes),
        "P1": PYDANTIC_UNION.validate_json,
        "PL": PYDANTIC_LIST.validate_json,
        "PLD": PYDANTIC_LIST.dump_json,
        "map_dec": msgspec.json.Decoder(MAP_UNION).decode,
        "map_list_dec": msgspec.json.Decoder(list[MAP_UNION]).decode,
        "wire_json_dec": msgspec.json.Decoder(TYPED_UNION).decode,
        "wire_json_list_dec": msgspec.json.Decoder(list[TYPED_UNION]).decode,
        "wire_mp_dec": msgspec.msgpack.Decoder(TYPED_UNION).decode,
        "wire_mp_list_dec": msgspec.msgpack.Decoder(list[TYPED_UNION]).decode,
    }
    results = interleave(
        [
            Case("encode: pydantic model_dump_json", "model.model_dump_json()", 1, g),
            Case("encode: msgspec json, same document", "js(map_msg)", 1, g),
            Case("encode: msgspec json, wire structs", "js(msg)", 1, g),
            Case("encode: msgspec msgpack, wire structs", "mp(msg)", 1, g),
            Case("decode: pydantic TypeAdapter.validate_json", "P1(doc)", 1, g),
            Case("decode: msgspec json, same document", "map_dec(doc)", 1, g),
            Case("decode: msgspec json, wire structs", "wire_json_dec(wire_json)", 1, g),
            Case("decode: msgspec msgpack, wire structs", "wire_mp_dec(wire_mp)", 1, g),
            Case("batch encode: pydantic dump_json(list)", "PLD(models)", BATCH, g),
            Case("batch encode: msgspec json, same document", "js(maps)", BATCH, g),
            Case("batch decode: pydantic validate_json(list)", "PL(list_doc)", BATCH, g),
            Case("batch decode: msgspec json, same document", "map_list_dec(list_doc)", BATCH, g),
            Case(
                "batch decode: msgspec json, wire structs",
                "wire_json_list_dec(list_wire_json)",
                BATCH,
                g,
            ),
            Case(
                "batch decode: msgspec msgpack, wire structs",
                "wire_mp_list_dec(list_wire_mp)",
                BATCH,
                g,
            ),
        ],
        repeats=s.repeats,
        seconds=s.seconds,
    )
    report.samples(
        f"DataMessage[Order] vs pydantic {VERSIONS['pydantic']} (ns per message; union of 5 envelope types)",
        results,
    )
    pyd = f"pydantic {VERSIONS['pydantic']}"
    for op, slow, at_least in (
        ("encode", "encode: pydantic model_dump_json", 5.0),
        ("decode", "decode: pydantic TypeAdapter.validate_json", 5.0),
        ("batch encode", "batch encode: pydantic dump_json(list)", None),
        ("batch decode", "batch decode: pydantic validate_json(list)", 5.0),
    ):
        report.add(
            ratio_figure(
                f"pydantic.{op.replace(' ', '_')}.json",
                f"{op}: msgspec JSON vs {pyd} JSON (same document)",
                results,
                slow,
                f"{op}: msgspec json, same document",
                at_least=at_least,
                unit="ns/msg",
            )
        )
        if op == "batch encode":
            continue
        report.add(
            ratio_figure(
                f"pydantic.{op.replace(' ', '_')}.msgpack",
                f"{op}: msgspec MessagePack wire structs vs {pyd} JSON",
                results,
                slow,
                f"{op}: msgspec msgpack, wire structs",
                unit="ns/msg",
            )
        )

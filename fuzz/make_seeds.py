"""Write the seed inputs of every fuzz target into ``fuzz/corpus/<target>/seed-*``.

Seeds give libFuzzer a head start: valid batches of every envelope type, the
hostile shapes the hardening tests name (edge length prefixes, other protocols'
openers, huge declared sizes, nesting bombs, odd headers). Crash inputs found
by ``run.sh`` sit next to them as ``crash-*`` files. Re-run after changing the
wire format: ``python fuzz/make_seeds.py``.

The ``nesting`` target (``check_depth``/``check_envelope``) takes raw bytes,
like ``peek_header``. The first two bytes of a framed target's input choose its parameters (see
``wire_oracle._params``): byte 0 the maximum frame size (index 0: the 16 MiB
default), byte 1 the stream cuts and the decoder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "hardening"))

import wire_oracle  # noqa: E402

from klaw_core._wirecore_py import pack_frame  # noqa: E402
from klaw_core.runtime.channels.wire import (  # noqa: E402
    Ack,
    ControlMessage,
    DataMessage,
    Heartbeat,
    WireError,
)


def bodies() -> dict[str, bytes]:
    encode = msgspec.msgpack.encode
    head = b"\x93\x01\x95\x01\x01\xa1c\x00\x00"
    return {
        "data": encode(DataMessage.new([1, 2, 3], channel_id="jobs", seq=5, ts=1)),
        "control": encode(ControlMessage.new("close", metadata={"why": "done"}, ts=0)),
        "heartbeat": encode(Heartbeat.new("w1", channel_id="c", ts=2**40)),
        "ack": encode(Ack.new(2**64 - 1, channel_id="c" * 40, ts=0)),
        "error": encode(WireError.new("E", "m", details=[None, 1.5], ts=0)),
        "header4": encode([1, [1, 1, "c", 0], None]),
        "header-map": encode([1, {"version": 1, "kind": 1}, None]),
        "kind-tag": encode([1, [1, 3, "c", 0, 0], None]),
        "version9": encode([1, [9, 1, "c", 0, 0], None]),
        "array32": head + b"\xdd\xff\xff\xff\xff\x00",
        "str32": head + b"\xdb\xff\xff\xff\xff\x00",
        "bomb-array": head + b"\x91" * 2000 + b"\xc0",
        "bomb-map": head + b"\x81\x00" * 1500 + b"\xc0",
        "nest-128": head[:-1] + b"\x91" * 126 + b"\xc0",  # exactly DEFAULT_MAX_DEPTH
        "nest-129": head[:-1] + b"\x91" * 127 + b"\xc0",
        "nest-map16": head + b"\xde\x00\x01\xa1k" * 200 + b"\xc0",
        "nest-ext-skipped": head + b"\x92\xc7\x03\x01\x91\x91\x91\xc0",
    }


def framed() -> dict[str, bytes]:
    out = {name: pack_frame(body) for name, body in bodies().items()}
    out["batch"] = b"".join(pack_frame(b) for b in list(bodies().values())[:5])
    for size in (0, 1, 2**24, 2**24 + 1, 2**31 - 1, 2**31, 2**32 - 1):
        out[f"prefix-{size}"] = size.to_bytes(4, "big") + b"ab"
    out["tls"] = bytes.fromhex("16030102000100 01fc0303") + bytes(8)
    out["http"] = b"GET / HTTP/1.1\r\n\r\n"
    out["http2"] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    return out


def main() -> None:
    params = bytes([0, 3])  # default maximum, cut in 3 places, envelope decoder
    seeds: dict[str, dict[str, bytes]] = {
        "peek_header": bodies(),
        "schema_decode": bodies(),
        "nesting": bodies(),
    }
    for target in ("split_frames", "frame_decoder", "decode_frames"):
        seeds[target] = {name: params + data for name, data in framed().items()}
    assert set(seeds) == set(wire_oracle.TARGETS)
    for target, inputs in seeds.items():
        folder = HERE / "corpus" / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in inputs.items():
            (folder / f"seed-{name}").write_bytes(data)
            wire_oracle.run_target(target, data)  # every seed passes today
        print(f"{target}: {len(inputs)} seeds")


if __name__ == "__main__":
    main()

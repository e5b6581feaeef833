"""Measurements behind ``klaw bench`` (and reusable by ``benchmarks/``).

Every figure is nanoseconds per message (or per call) measured in this process,
the best of several repeats of a loop sized to a time budget, so the two
wire-core twins, msgspec and pydantic are compared side by side on the same
machine in the same run. Nothing here asserts a number: a benchmark reports.

The workload is the one a channel moves: ``DataMessage[Order]`` envelopes
(a small typed payload with a header) in batches of frames.
"""

from __future__ import annotations

import importlib
import importlib.util
import timeit
from collections.abc import Callable
from types import ModuleType
from typing import Any

import msgspec

from klaw_core.runtime.channels.wire import DataMessage

__all__ = [
    "BATCH",
    "Budget",
    "Order",
    "codec_cases",
    "make_envelopes",
    "ns_per_op",
    "pydantic_cases",
    "wirecore_cases",
    "wirecore_twins",
]

#: Messages per batch in the batch cases.
BATCH = 1000


class Order(msgspec.Struct, frozen=True, gc=False):
    """The payload of the benchmark messages: a small, typical record."""

    order_id: int
    symbol: str
    side: str
    quantity: int
    price: float
    tags: list[str]


class Budget(msgspec.Struct, frozen=True):
    """How long to measure each case.

    Attributes:
        seconds: target duration of one repeat.
        repeat: repeats per case; the fastest is reported.
    """

    seconds: float = 0.2
    repeat: int = 5

    @classmethod
    def quick(cls) -> Budget:
        """A budget for a smoke run of a few seconds in total."""
        return cls(seconds=0.02, repeat=3)


def ns_per_op(fn: Callable[[], object], ops: int, budget: Budget) -> float:
    """Return the best time of ``fn`` in nanoseconds per operation.

    Args:
        fn: the code to time; one call performs ``ops`` operations.
        ops: operations per call (e.g. messages in a batch).
        budget: how long each repeat should last, and how many repeats.

    Example:
        >>> ns_per_op(lambda: sum(range(10)), 10, Budget(0.001, 2)) > 0
        True
    """
    timer = timeit.Timer(fn)
    number = 1
    while (elapsed := timer.timeit(number)) < budget.seconds / 10:
        number *= 10
    number = max(1, round(number * budget.seconds / max(elapsed, 1e-9)))
    best = min(timer.repeat(budget.repeat, number))
    return best / number / ops * 1e9


def make_envelopes(count: int = BATCH) -> list[DataMessage[Order]]:
    """Return ``count`` data envelopes with distinct small payloads.

    Example:
        >>> make_envelopes(2)[1].header.seq
        1
    """
    return [
        DataMessage.new(
            Order(i, "KLAW", "buy" if i % 2 else "sell", 100 + i % 7, 101.25 + i, ["ray", "demo"]),
            channel_id="bench",
            seq=i,
            ts=1_700_000_000_000 + i,
        )
        for i in range(count)
    ]


def wirecore_twins() -> dict[str, ModuleType | None]:
    """Return both wire-core modules by name; ``None`` for a compiled one that is not built.

    Example:
        >>> wirecore_twins()["python"].__name__
        'klaw_core._wirecore_py'
    """
    twins: dict[str, ModuleType | None] = {}
    for name, module in (("cython", "klaw_core._wirecore_c"), ("python", "klaw_core._wirecore_py")):
        twins[name] = importlib.import_module(module) if importlib.util.find_spec(module) else None
    return twins


def wirecore_cases(twin: ModuleType, budget: Budget) -> dict[str, float]:
    """Measure the wire-core hot paths of one twin, in ns per message or call.

    Cases: ``encode_frames``/``split_frames``/``decode_frames`` and
    ``FrameDecoder.feed`` (4 KiB chunks) over a batch of :data:`BATCH` envelopes
    (ns per message); ``peek_header`` on a small envelope and on one with a
    1 MiB payload (O(1): the two should be equal), ``peek_version``, and a
    ``BufferPool`` acquire → encode → release cycle (ns per call).

    Example:
        >>> sorted(wirecore_cases(wirecore_twins()["python"], Budget(0.001, 1)))[:2]
        ['BufferPool acquire+encode+release', 'FrameDecoder.feed (4 KiB chunks)']
    """
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(DataMessage[Order])
    envelopes = make_envelopes()
    batch = bytes(twin.encode_frames(encoder, envelopes))
    buffer = bytearray()
    chunks = [batch[i : i + 4096] for i in range(0, len(batch), 4096)]
    small = encoder.encode(envelopes[0])
    large = encoder.encode(DataMessage.new(b"x" * (1 << 20), channel_id="bench", seq=1, ts=0))
    pool = twin.BufferPool(buffer_size=4096, max_pool=8)
    one = envelopes[0]

    def encode_batch() -> None:
        buffer.clear()
        twin.encode_frames(encoder, envelopes, buffer)

    def feed() -> None:
        frames = twin.FrameDecoder()
        for chunk in chunks:
            frames.feed(chunk)

    def pool_cycle() -> None:
        buf = pool.acquire()
        encoder.encode_into(one, buf)
        pool.release(buf)

    peek_header, peek_version = twin.peek_header, twin.peek_version
    return {
        "encode_frames (per message)": ns_per_op(encode_batch, BATCH, budget),
        "split_frames (per frame)": ns_per_op(lambda: twin.split_frames(batch), BATCH, budget),
        "decode_frames (per message)": ns_per_op(
            lambda: twin.decode_frames(batch, decoder), BATCH, budget
        ),
        "FrameDecoder.feed (4 KiB chunks)": ns_per_op(feed, BATCH, budget),
        f"peek_header, {len(small)} B envelope": ns_per_op(lambda: peek_header(small), 1, budget),
        "peek_header, 1 MiB envelope": ns_per_op(lambda: peek_header(large), 1, budget),
        "peek_version": ns_per_op(lambda: peek_version(small), 1, budget),
        "BufferPool acquire+encode+release": ns_per_op(pool_cycle, 1, budget),
    }


def codec_cases(budget: Budget) -> dict[str, dict[str, float]]:
    """Measure one envelope's encode and decode+validate with msgspec, MessagePack and JSON.

    Returns:
        ``{"encode": {"msgspec msgpack": ns, "msgspec json": ns}, "decode": {...}}``.

    Example:
        >>> sorted(codec_cases(Budget(0.001, 1))["decode"])
        ['msgspec json', 'msgspec msgpack']
    """
    envelope = make_envelopes(1)[0]
    mp_enc, js_enc = msgspec.msgpack.Encoder(), msgspec.json.Encoder()
    mp_dec = msgspec.msgpack.Decoder(DataMessage[Order])
    js_dec = msgspec.json.Decoder(DataMessage[Order])
    mp, js = mp_enc.encode(envelope), js_enc.encode(envelope)
    return {
        "encode": {
            "msgspec msgpack": ns_per_op(lambda: mp_enc.encode(envelope), 1, budget),
            "msgspec json": ns_per_op(lambda: js_enc.encode(envelope), 1, budget),
        },
        "decode": {
            "msgspec msgpack": ns_per_op(lambda: mp_dec.decode(mp), 1, budget),
            "msgspec json": ns_per_op(lambda: js_dec.decode(js), 1, budget),
        },
    }


def pydantic_cases(budget: Budget) -> dict[str, float] | None:
    """Measure the same envelope with pydantic v2 (JSON), or ``None`` when it is missing.

    The pydantic models mirror ``DataMessage[Order]`` field for field (a header
    model inside an envelope model), validated from the same JSON document
    msgspec decodes.

    Returns:
        ``{"encode": ns, "decode": ns}`` per envelope.
    """
    if importlib.util.find_spec("pydantic") is None:
        return None
    pydantic: Any = importlib.import_module("pydantic")
    if not str(getattr(pydantic, "VERSION", "1")).startswith("2"):
        return None

    header_model = pydantic.create_model(
        "Header",
        version=(int, ...),
        kind=(int, ...),
        channel_id=(str, ...),
        seq=(int, ...),
        ts=(int, ...),
    )
    order_model = pydantic.create_model(
        "OrderModel",
        order_id=(int, ...),
        symbol=(str, ...),
        side=(str, ...),
        quantity=(int, ...),
        price=(float, ...),
        tags=(list[str], ...),
    )
    envelope_model = pydantic.create_model(
        "Envelope", tag=(int, ...), header=(header_model, ...), payload=(order_model, ...)
    )
    envelope = make_envelopes(1)[0]
    document = msgspec.json.encode(
        {
            "tag": 1,
            "header": msgspec.structs.asdict(envelope.header),
            "payload": msgspec.structs.asdict(envelope.payload),
        }
    )
    model = envelope_model.model_validate_json(document)
    return {
        "encode": ns_per_op(model.model_dump_json, 1, budget),
        "decode": ns_per_op(lambda: envelope_model.model_validate_json(document), 1, budget),
    }

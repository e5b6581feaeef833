"""Header peek vs decoding the header with msgspec, payloads from 64 B to 1 MiB.

``peek_header`` reads only the first bytes; ``EnvelopeView`` is a msgspec
struct of ``[tag, header]`` that skips the rest, which for a structured
payload still means walking every item of it. One group per payload size.
"""

from __future__ import annotations

import msgspec
import pytest

from _workloads import envelope_with_payload
from klaw_core import _wirecore
from klaw_core.runtime.channels.views import EnvelopeView

SIZES = {"64 B": 64, "1 KiB": 1024, "64 KiB": 64 * 1024, "1 MiB": 1024 * 1024}
VIEW = msgspec.msgpack.Decoder(EnvelopeView)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("impl", ["peek_header", "EnvelopeView decode"])
def test_peek_vs_view(benchmark, size: str, impl: str) -> None:
    benchmark.group = f"header of an envelope with a {size} payload of records"
    data = envelope_with_payload(SIZES[size], "records")
    fn = _wirecore.peek_header if impl == "peek_header" else VIEW.decode
    out = benchmark(fn, data)
    assert out is not None
    assert _wirecore.peek_header(data).seq == 7

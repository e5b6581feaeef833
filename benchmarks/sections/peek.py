"""``peek_header`` against decoding the header with msgspec, payload 64 B to 1 MiB (``peek.*``)."""

from __future__ import annotations

import msgspec

import klaw_core
from _harness import Case, Settings, interleave, paired_ratio
from _report import Figure, Report, ratio_figure
from _workloads import envelope_with_payload
from klaw_core.runtime.channels.views import EnvelopeView
from klaw_core.runtime.channels.wire import WireEnvelope
from sections._cores import CORE, PURE

PEEK_SIZES = (64, 1024, 16 * 1024, 64 * 1024, 1024 * 1024)


def _size(n: int) -> str:
    return (
        f"{n // (1024 * 1024)} MiB"
        if n >= 1024 * 1024
        else (f"{n // 1024} KiB" if n >= 1024 else f"{n} B")
    )


def run(s: Settings, report: Report) -> None:
    """peek_header against decoding the header with msgspec, payload 64 B to 1 MiB."""
    view_decode = msgspec.msgpack.Decoder(EnvelopeView).decode
    wire_decode = msgspec.msgpack.Decoder(WireEnvelope).decode
    for kind in ("records", "bytes"):
        cases: list[Case] = []
        for n in PEEK_SIZES:
            g = {
                "C": CORE,
                "P": PURE,
                "data": envelope_with_payload(n, kind),
                "view": view_decode,
                "wire": wire_decode,
            }
            tag = _size(n)
            cases += [
                Case(f"peek_header {tag}", "C.peek_header(data)", 1, g),
                Case(f"pure peek_header {tag}", "P.peek_header(data)", 1, g),
                Case(f"EnvelopeView decode {tag}", "view(data)", 1, g),
                Case(f"WireEnvelope decode {tag}", "wire(data)", 1, g),
            ]
        results = interleave(cases, repeats=s.repeats, seconds=s.seconds)
        report.details.setdefault(f"peek.{kind}", {}).update(
            {k: v.as_dict() for k, v in results.items()}
        )
        columns = ["peek_header", "pure peek_header", "EnvelopeView decode", "WireEnvelope decode"]
        rows = [
            [_size(n)]
            + [f"{results[f'{c} {_size(n)}'].median:,.0f}" for c in columns]
            + [
                f"{paired_ratio(results[f'EnvelopeView decode {_size(n)}'], results[f'peek_header {_size(n)}']):,.1f}x"
            ]
            for n in PEEK_SIZES
        ]
        what = "a list of Order-like maps" if kind == "records" else "one opaque bytes (bin) value"
        report.table(
            f"peek vs decode, payload = {what} (median ns per call, {klaw_core.IMPLEMENTATION} peek)",
            ["payload", *columns, "view/peek"],
            rows,
        )
        first, last = f"peek_header {_size(PEEK_SIZES[0])}", f"peek_header {_size(PEEK_SIZES[-1])}"
        flat = max(
            paired_ratio(results[first], results[last]), paired_ratio(results[last], results[first])
        )
        report.add(
            Figure(
                f"peek.flat.{kind}",
                f"peek_header cost, 1 MiB vs 64 B payload ({kind})",
                f"{flat:.2f}x apart ({results[first].median:,.0f} vs {results[last].median:,.0f} ns)",
                "independent of size (<= 1.25x apart)",
                flat <= 1.25,
                {"ratio": flat},
            )
        )
        at = f"{_size(64 * 1024)}"
        fig = ratio_figure(
            f"peek.vs_view.{kind}",
            f"peek_header vs EnvelopeView decode, 64 KiB payload ({kind})",
            results,
            f"EnvelopeView decode {at}",
            f"peek_header {at}",
            at_least=200.0 if kind == "records" else None,
            unit="ns",
        )
        report.add(fig)

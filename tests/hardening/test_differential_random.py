"""Seeded random inputs through every wire entry point of both twins (see ``wire_oracle``).

Half of the inputs are random bytes (often behind a small length prefix, so the
body is read), half are valid framed envelopes with one to four edits: bit
flips, planted MessagePack markers, truncations, edited length prefixes,
inserted huge-container declarations, deletions, duplications. Each input goes
through ``split_frames``, ``FrameDecoder`` (cut at random points),
``decode_frames`` (three decoders), ``peek_header``/``peek_version``,
``CodecPool.decode``/``decode_frames`` and ``SchemaRegistry.decode``/``decode_frames``.

Required: no exception outside ``KlawWireError``, identical outcomes in both
twins (result, or class + offset + reason), and every input handled in under
50 ms (a slow input is timed again, so a scheduling hiccup on a loaded machine
does not count, a real quadratic path does). The default run checks 5,000
inputs; ``-m slow`` checks 200,000.
"""

from __future__ import annotations

import pytest
from wire_oracle import SEEN, check_input, generate

LIMIT_SECONDS = 0.050

#: Every kind of ending the inputs must reach, so the run cannot quietly test
#: only one path (say, every input rejected at its first length prefix).
MUST_SEE = (
    "split_frames:ok",
    "split_frames:FrameTooLarge",
    "split_frames:TruncatedFrame",
    "FrameDecoder:ok",
    "FrameDecoder:FrameTooLarge",
    "FrameDecoder:TruncatedFrame",
    "decode_frames:ok",
    "decode_frames:MalformedPayload",
    "decode_frames:PayloadValidationError",
    "peek_header:ok",
    "peek_header:MalformedHeader",
    "peek_header:TruncatedFrame",
    "CodecPool.decode:ok",
    "CodecPool.decode:MalformedPayload",
    "SchemaRegistry.decode:ok",
    "SchemaRegistry.decode:UnknownSchemaVersion",
    "SchemaRegistry.decode_frames:ok",
    "SchemaRegistry.decode_frames:MalformedHeader",
)


def run(seed: int, count: int) -> None:
    SEEN.clear()
    slow: list[tuple[float, bytes]] = []
    for case in generate(seed, count):
        elapsed = check_input(case)
        if elapsed > LIMIT_SECONDS:
            # Timed again: only an input that is slow every time is a finding.
            elapsed = min(check_input(case) for _ in range(3))
            if elapsed > LIMIT_SECONDS:
                slow.append((elapsed, case.data))
    assert not slow, (
        f"inputs over {LIMIT_SECONDS * 1000:.0f} ms: {[(t, d.hex()) for t, d in slow[:5]]}"
    )
    missing = [name for name in MUST_SEE if not SEEN[name]]
    assert not missing, f"the generated inputs never reached: {missing}"


def test_random_and_mutated_inputs_agree() -> None:
    run(seed=20240601, count=5_000)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_and_mutated_inputs_agree_200k(seed: int) -> None:
    run(seed=seed, count=50_000)  # 4 x 50,000 = 200,000 inputs

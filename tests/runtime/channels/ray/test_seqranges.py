"""SeqRanges against a plain set of ints, over random adds (no Ray)."""

from __future__ import annotations

import random

import pytest

from klaw_core.runtime.channels.ray.seqranges import SeqRanges


@pytest.mark.parametrize("seed", range(200))
def test_spans_hold_exactly_the_added_seqs_and_stay_disjoint(seed: int) -> None:
    rng = random.Random(seed)
    ranges, reference = SeqRanges(), set()
    for _ in range(12):
        start = rng.randint(0, 40)
        end = start + rng.randint(0, 7)
        ranges.add(start, end)
        reference |= set(range(start, end))
    assert {seq for a, b in ranges.spans for seq in range(a, b)} == reference
    assert all(a[1] < b[0] for a, b in zip(ranges.spans, ranges.spans[1:], strict=False))
    start = rng.randint(0, 45)
    end = start + rng.randint(0, 10)
    prefix = 0
    while start + prefix < end and start + prefix in reference:
        prefix += 1
    assert ranges.covered_prefix(start, end) == prefix
    assert len(SeqRanges(list(ranges.spans))) == len(ranges)

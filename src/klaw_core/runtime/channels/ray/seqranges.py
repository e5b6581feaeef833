"""Sets of sequence numbers kept as sorted, disjoint, half-open spans.

Why: what was delivered from one producer stream is a few spans (one when a
single receiver reads it in order), never a set of every seq; the channel
actor and the receivers exchange them after an actor restart so that nothing
delivered before it is delivered again.
"""

from __future__ import annotations

from bisect import bisect_right

__all__ = ["SeqRanges"]


class SeqRanges:
    """Seqs as sorted, disjoint, non-adjacent ``[start, end)`` spans.

    Example:
        >>> seqs = SeqRanges()
        >>> seqs.add(0, 3); seqs.add(5, 7); seqs.add(3, 5)
        >>> seqs.spans, seqs.covered_prefix(4, 9), seqs.through(2)
        ([(0, 7)], 3, 7)
    """

    __slots__ = ("spans",)

    def __init__(self, spans: list[tuple[int, int]] | None = None) -> None:
        self.spans: list[tuple[int, int]] = []
        for start, end in spans or ():
            self.add(start, end)

    def add(self, start: int, end: int) -> None:
        """Add ``[start, end)`` (nothing when empty), merging touching spans.

        Args:
            start: first seq.
            end: one past the last seq.
        """
        if end <= start:
            return
        spans = self.spans
        index = bisect_right(spans, (start, end))
        if index and spans[index - 1][1] >= start:
            index -= 1
        stop = index
        while stop < len(spans) and spans[stop][0] <= end:
            start = min(start, spans[stop][0])
            end = max(end, spans[stop][1])
            stop += 1
        spans[index:stop] = [(start, end)]

    def covered_prefix(self, start: int, end: int) -> int:
        """How many seqs from ``start`` on, up to ``end``, are in the set without a gap.

        Args:
            start: first seq asked about.
            end: one past the last.

        Returns:
            A count between 0 and ``end - start``.
        """
        index = bisect_right(self.spans, (start, float("inf"))) - 1
        if index < 0 or self.spans[index][1] <= start:
            return 0
        return max(0, min(end, self.spans[index][1]) - start)

    def through(self, start: int) -> int:
        """The first seq from ``start`` on that is not in the set.

        Args:
            start: where to look from.

        Returns:
            ``start`` itself when it is not in the set.
        """
        return start + self.covered_prefix(start, 1 << 62)

    def __len__(self) -> int:
        return len(self.spans)

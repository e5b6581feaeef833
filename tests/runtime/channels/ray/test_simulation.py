"""Deterministic simulation of the channel protocol core over a faulty network.

Each seed runs real ``ChannelStore``/``Outbox``/``Inbox`` instances with
several producers and receivers, drops/duplicates/delays calls, kills and
re-runs producers, kills receivers, then checks the promise: nothing lost,
nothing duplicated outside a dead receiver's marked window, per-producer
order, capacity never exceeded, and the run ends. ``KLAW_SIM_SEED=N`` replays
one seed; ``KLAW_SIM_SEEDS=N`` changes how many the default run covers.
"""

from __future__ import annotations

import os

import pytest
from chansim import check, run

DEFAULT_SEEDS = int(os.environ.get("KLAW_SIM_SEEDS", "2000"))
CHUNK = 250


def _run_seeds(seeds: range) -> None:
    only = os.environ.get("KLAW_SIM_SEED")
    if only is not None:
        seeds = range(int(only), int(only) + 1)
    for seed in seeds:
        check(run(seed))


@pytest.mark.parametrize("start", range(0, DEFAULT_SEEDS, CHUNK))
def test_promise_holds_for_seeds(start: int) -> None:
    _run_seeds(range(start, min(start + CHUNK, DEFAULT_SEEDS)))


@pytest.mark.slow
@pytest.mark.parametrize("start", range(DEFAULT_SEEDS, DEFAULT_SEEDS + 50_000, 5000))
def test_promise_holds_for_many_more_seeds(start: int) -> None:
    _run_seeds(range(start, start + 5000))


def test_a_run_is_replayed_exactly_by_its_seed() -> None:
    first, second = run(7), run(7)
    assert list(first.world.trace) == list(second.world.trace)
    assert [d.seq for log in first.logs.values() for d in log.deliveries] == [
        d.seq for log in second.logs.values() for d in log.deliveries
    ]

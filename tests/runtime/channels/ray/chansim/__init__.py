"""A deterministic simulator of the Ray channel protocol core (VOPR-style).

One seed fixes everything: the workload (producers, receivers, messages,
capacity), the faults (dropped calls and replies, duplicated and delayed
calls, producers killed and re-run, receivers killed) and every timing. Real
:class:`ChannelStore`, :class:`Outbox` and :class:`Inbox` instances run over
the simulated network of :mod:`chansim.world`; :func:`check` then asserts the
promise of DESIGN §6.1 and the Failure semantics page. A failing seed raises
:class:`SimulationFailure` with the last events and the command replaying it.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from klaw_core.runtime.errors import ProducerLostError

from .nodes import LEASE, ReceiverLog, StoreNode, beater, producer_body, receiver_body
from .world import Faults, Process, World

__all__ = ["Outcome", "SimulationFailure", "check", "run"]

REPLAY = "KLAW_SIM_SEED={seed} .venv/bin/python -m pytest -q tests/runtime/channels/ray/test_simulation.py"


class SimulationFailure(AssertionError):
    """The promise broke for one seed (the message holds the trace and the replay command)."""


@dataclass
class Outcome:
    """What one simulated run did."""

    seed: int
    world: World
    store: StoreNode
    totals: dict[int, int]
    logs: dict[int, ReceiverLog]
    killed_receivers: set[int] = field(default_factory=set)
    silent: set[int] = field(default_factory=set)
    finished: bool = False


def run(seed: int) -> Outcome:
    """Simulate one seed's workload under its faults (no checking)."""
    rng = random.Random(seed)
    producers = list(range(1, rng.randint(1, 3) + 1))
    readers = [100 + i for i in range(rng.randint(1, 3))]
    totals = {pid: rng.randint(1, 40) for pid in producers}
    limit = rng.randint(1, 6)
    capacity = rng.randint(limit, 3 * limit)
    faults = Faults.draw(rng)
    node: StoreNode | None = None

    def handle(op: str, args: tuple[object, ...]) -> object:
        assert node is not None
        return node.handle(op, args)

    world = World(seed, faults, handle)
    node = StoreNode(world, capacity, producers, readers)
    world.log(
        f"seed {seed}: producers {totals} receivers {readers} capacity {capacity} "
        f"batch<={limit} {faults}"
    )
    outcome = Outcome(seed, world, node, totals, {rid: ReceiverLog() for rid in readers})
    procs: dict[str, Process] = {}

    def spawn(name: str, body_factory: object, endpoint: int) -> Process:
        epoch = [node.epoch]  # the epoch this process knows, shared with its heartbeat thread
        process = Process(name, body_factory(epoch))  # type: ignore[operator]
        procs[name] = process
        world.start(process)
        world.start(Process(f"{name}.beat", beater(world, endpoint, process, epoch)))
        return process

    def spawn_producer(pid: int) -> Process:
        return spawn(
            f"P{pid}", lambda epoch: producer_body(world, pid, totals[pid], limit, epoch), pid
        )

    for pid in producers:
        spawn_producer(pid)
    for rid in readers:
        spawn(
            f"R{rid}",
            lambda epoch, rid=rid: receiver_body(world, rid, outcome.logs[rid], limit * 2, epoch),
            rid,
        )

    for pid in producers:
        for _ in range(faults.producer_kills):
            world.at(
                rng.uniform(0.0, 20.0),
                lambda pid=pid: _kill_producer(world, procs, pid, spawn_producer),
            )

    def restart() -> None:
        # Receivers already gone (killed, or ended) cannot tell the new epoch
        # what they delivered: what they got may come again, marked.
        outcome.silent.update(
            rid for rid in readers if procs[f"R{rid}"].done or not procs[f"R{rid}"].alive
        )
        node.restart()

    for _ in range(faults.store_restarts):
        world.at(rng.uniform(0.0, 25.0), restart)
    victims = rng.sample(readers[1:], min(faults.receiver_kills, len(readers) - 1))
    for rid in victims:
        world.at(rng.uniform(0.0, 20.0), lambda rid=rid: _kill_receiver(world, procs, outcome, rid))

    def done() -> bool:
        return all(procs[f"P{pid}"].done for pid in producers) and all(
            outcome.logs[rid].ended or rid in outcome.killed_receivers for rid in readers
        )

    outcome.finished = world.run_until(done, limit=2000.0)
    return outcome


def _kill_producer(world: World, procs: dict[str, Process], pid: int, respawn: object) -> None:
    process = procs[f"P{pid}"]
    if process.done or not process.alive:
        return
    world.kill(process)
    # Ray re-runs the task from the start, well within the producer's lease.
    world.at(world.rng.uniform(0.1, LEASE / 3), lambda: respawn(pid))  # type: ignore[operator]


def _kill_receiver(world: World, procs: dict[str, Process], outcome: Outcome, rid: int) -> None:
    process = procs[f"R{rid}"]
    if process.done or not process.alive:
        return
    world.kill(process)
    outcome.killed_receivers.add(rid)


def check(outcome: Outcome) -> None:
    """Assert the promise for one run; raise :class:`SimulationFailure` naming what broke."""
    problems: list[str] = []
    if not outcome.finished:
        problems.append("the run did not finish (stuck: liveness)")
    deliveries = [d for log in outcome.logs.values() for d in log.deliveries]
    seen: dict[tuple[int, int], list[object]] = defaultdict(list)
    for delivery in deliveries:
        seen[(delivery.producer, delivery.seq)].append(delivery)
    for pid, total in outcome.totals.items():
        missing = [seq for seq in range(total) if (pid, seq) not in seen]
        if missing and outcome.finished:
            problems.append(f"lost: producer {pid} seqs {missing[:10]}")
    for key, copies in seen.items():
        if len(copies) < 2:
            continue
        first, *later = sorted(copies, key=lambda d: d.at)  # type: ignore[attr-defined]
        ended = {rid for rid, log in outcome.logs.items() if log.ended}
        gone = outcome.killed_receivers | outcome.silent
        if outcome.store.epoch:  # an ended receiver cannot tell a later epoch either
            gone |= ended
        allowed = first.receiver in gone and all(  # type: ignore[attr-defined]
            d.redelivered
            for d in later  # type: ignore[attr-defined]
        )
        if not allowed:
            problems.append(f"duplicated: {key} delivered {len(copies)} times: {copies}")
    # Competing receivers may get a producer's replayed messages after later
    # ones once the store restarted; one receiver alone always sees its order.
    ordered = outcome.store.epoch == 0 or len(outcome.logs) == 1
    for rid, log in outcome.logs.items():
        last: dict[int, int] = {}
        for delivery in log.deliveries:
            if delivery.redelivered or not ordered:
                continue
            if delivery.seq <= last.get(delivery.producer, -1):
                problems.append(
                    f"order: receiver {rid} got {delivery.producer}:{delivery.seq} after {last[delivery.producer]}"
                )
            last[delivery.producer] = delivery.seq
        problems.extend(
            f"receiver {rid} raised {exc!r}"
            for exc in log.errors
            # A receiver died and the store restarted before its report: a
            # producer that closed meanwhile cannot be told from a lost one.
            if not (isinstance(exc, ProducerLostError) and outcome.store.uncertain)
        )
    capacity = outcome.store.capacity
    if outcome.store.max_used > capacity + 0:
        problems.append(f"capacity {capacity} exceeded: {outcome.store.max_used} held")
    counts = Counter(d.receiver for d in deliveries)
    if problems:
        trace = "\n".join(outcome.world.trace)
        raise SimulationFailure(
            f"seed {outcome.seed}: "
            + "; ".join(problems[:5])
            + f"\ndeliveries per receiver: {dict(counts)}\nlast events:\n{trace}\n"
            + "replay: "
            + REPLAY.format(seed=outcome.seed)
        )

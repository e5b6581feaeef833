"""The simulated world: a fake clock, an event queue and an unreliable network.

Everything random comes from one ``random.Random(seed)``, and events at the
same time run in the order they were scheduled, so a seed replays exactly.
Processes are generators: they yield :class:`Call` (an RPC to the store, with
a timeout) or :class:`Sleep`, and are resumed with the reply (``None`` on
timeout). Killing a process drops its generator; replies addressed to it are
then thrown away, like a dead worker's.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Call", "Faults", "Process", "Sleep", "World"]


@dataclass(frozen=True)
class Faults:
    """How unreliable the simulated network and processes are (probabilities per call)."""

    drop_call: float = 0.05
    drop_reply: float = 0.05
    duplicate: float = 0.05
    max_delay: float = 0.3
    producer_kills: int = 1
    receiver_kills: int = 1
    store_restarts: int = 0

    @classmethod
    def draw(cls, rng: random.Random) -> Faults:
        """A random mix of faults, none of them at times."""
        return cls(
            drop_call=rng.choice([0.0, 0.02, 0.1]),
            drop_reply=rng.choice([0.0, 0.02, 0.1]),
            duplicate=rng.choice([0.0, 0.05, 0.2]),
            max_delay=rng.choice([0.01, 0.2, 1.0]),
            producer_kills=rng.choice([0, 1, 2]),
            receiver_kills=rng.choice([0, 0, 1]),
            store_restarts=rng.choice([0, 0, 1, 2]),
        )


@dataclass(frozen=True)
class Call:
    """An RPC to the store: ``op(*args)``, answered within ``timeout`` or not at all."""

    op: str
    args: tuple[Any, ...]
    timeout: float = 2.0


@dataclass(frozen=True)
class Sleep:
    """Resume after ``seconds`` of simulated time."""

    seconds: float


ProcessBody = Generator[Call | Sleep, Any, None]


@dataclass
class Process:
    """A running generator and the call it waits for."""

    name: str
    body: ProcessBody
    incarnation: int = 0
    waiting: int | None = None  # id of the call whose reply resumes it
    alive: bool = True
    done: bool = False


@dataclass
class World:
    """The scheduler and the network (see the module docstring)."""

    seed: int
    faults: Faults
    handler: Callable[[str, tuple[Any, ...]], Any]
    now: float = 0.0
    rng: random.Random = field(init=False)
    trace: deque[str] = field(default_factory=lambda: deque(maxlen=60))
    _queue: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)
    _counter: int = 0
    _calls: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def log(self, text: str) -> None:
        """Remember ``text`` for the failure trace."""
        self.trace.append(f"{self.now:9.3f} {text}")

    def at(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` after ``delay`` simulated seconds."""
        self._counter += 1
        heapq.heappush(self._queue, (self.now + delay, self._counter, action))

    def run_until(self, done: Callable[[], bool], limit: float) -> bool:
        """Run events until ``done()`` or the clock passes ``limit``; whether it is done."""
        while self._queue and not done():
            when, _, action = heapq.heappop(self._queue)
            if when > limit:
                return False
            self.now = when
            action()
        return done()

    # ------------------------------------------------------------ processes

    def start(self, process: Process) -> None:
        """Run ``process`` until its first yield."""
        self._resume(process, process.incarnation, None)

    def kill(self, process: Process) -> None:
        """Drop the process: replies to it are thrown away from now on."""
        process.alive = False
        process.incarnation += 1
        process.waiting = None
        process.body.close()
        self.log(f"KILL {process.name}")

    def _resume(self, process: Process, incarnation: int, value: Any) -> None:
        if not process.alive or process.incarnation != incarnation:
            return
        process.waiting = None
        try:
            request = process.body.send(value)
        except StopIteration:
            process.done = True
            return
        if isinstance(request, Sleep):
            self.at(request.seconds, lambda: self._resume(process, incarnation, None))
            return
        self._calls += 1
        call_id = self._calls
        process.waiting = call_id
        self._send(process, incarnation, call_id, request)
        self.at(request.timeout, lambda: self._timeout(process, incarnation, call_id))

    def _timeout(self, process: Process, incarnation: int, call_id: int) -> None:
        if process.waiting == call_id:
            self._resume(process, incarnation, None)

    # ------------------------------------------------------------ network

    def _delay(self) -> float:
        return self.rng.uniform(0.0, self.faults.max_delay)

    def _send(self, process: Process, incarnation: int, call_id: int, call: Call) -> None:
        faults = self.faults
        if self.rng.random() < faults.drop_call:
            if call.op != "beat":
                self.log(f"drop call {process.name} {call.op}")
            return
        copies = 2 if self.rng.random() < faults.duplicate else 1
        for _ in range(copies):
            self.at(self._delay(), lambda: self._deliver(process, incarnation, call_id, call))

    def _deliver(self, process: Process, incarnation: int, call_id: int, call: Call) -> None:
        reply = self.handler(call.op, call.args)
        if self.rng.random() < self.faults.drop_reply:
            if call.op != "beat":
                self.log(f"drop reply {process.name} {call.op}")
            return

        def answer() -> None:
            if process.waiting == call_id:
                self._resume(process, incarnation, reply)

        self.at(self._delay(), answer)

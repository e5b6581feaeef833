"""Buffer pool soak: seeded random acquire/release with retained views, canaries and an exact model.

Each acquired buffer gets a canary (bytes unique to that acquisition) and is
checked when released: nobody else wrote into it while it was held. Some
releases keep a ``memoryview`` of the buffer alive; those buffers must never be
handed out again (a reissued buffer would be resized, raising ``BufferError``,
or overwritten in place, corrupting the retained view, which is checked until
it is dropped). Bad releases (twice, foreign, wrong type) are mixed in and must
change nothing. A model of the pool predicts every counter of ``stats()``
after every step that changes it: created, reused, released, dropped,
in_pool, outstanding.

Default: 50,000 operations per twin; ``-m slow``: 1,000,000.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from types import ModuleType

import pytest


@dataclass
class Model:
    """What the pool's counters must be."""

    max_pool: int
    created: int = 0
    reused: int = 0
    released: int = 0
    dropped: int = 0
    in_pool: int = 0
    held: dict[int, tuple[bytearray, bytes]] = field(default_factory=dict)

    def acquired(self) -> None:
        if self.in_pool:
            self.in_pool -= 1
            self.reused += 1
        else:
            self.created += 1

    def released_one(self, exported: bool) -> None:
        self.released += 1
        if exported or self.in_pool >= self.max_pool:
            self.dropped += 1
        else:
            self.in_pool += 1

    def check(self, pool: object) -> None:
        s = pool.stats()  # type: ignore[attr-defined]
        assert (s.created, s.reused, s.released, s.dropped, s.in_pool, s.outstanding) == (
            self.created,
            self.reused,
            self.released,
            self.dropped,
            self.in_pool,
            len(self.held),
        )


def soak(twin: ModuleType, seed: int, operations: int) -> Model:
    rng = random.Random(seed)
    max_pool = rng.choice([1, 4, 16])
    pool = twin.BufferPool(buffer_size=rng.choice([0, 16, 4096]), max_pool=max_pool)
    model = Model(max_pool)
    views: list[tuple[memoryview, bytes]] = []
    released_buffers: list[bytearray] = []  # for double-release attempts

    for step in range(operations):
        roll = rng.random()
        if roll < 0.42 or not model.held:
            lease = rng.random() < 0.05
            buf = pool.acquire()
            model.acquired()
            assert len(buf) == 0
            assert id(buf) not in model.held, "a buffer was lent to two holders at once"
            canary = struct.pack(">Q", step) * rng.randint(1, 40)
            buf += canary  # resizes: BufferError if a view of it were still alive
            buf[:8] = canary[:8]  # an in-place write a live view would see
            if lease:  # the same through lease(), released on an exception
                pool.release(buf)
                model.released_one(exported=False)
                with pytest.raises(KeyError), pool.lease() as leased:
                    model.acquired()
                    model.held[id(leased)] = (leased, b"")
                    assert len(leased) == 0
                    leased += canary
                    raise KeyError
                model.held.pop(id(leased))
                model.released_one(exported=False)
            else:
                model.held[id(buf)] = (buf, canary)
        elif roll < 0.84:
            key = rng.choice(list(model.held))
            buf, canary = model.held.pop(key)
            assert bytes(buf) == canary, "a held buffer was written by someone else"
            exported = rng.random() < 0.25
            if exported:
                views.append((memoryview(buf)[rng.randrange(len(buf)) :], canary))
            pool.release(buf)
            model.released_one(exported)
            if len(released_buffers) < 8:
                released_buffers.append(buf)
        elif roll < 0.94:
            # Retained views still show exactly what their holder wrote; drop some.
            for view, canary in views:
                assert bytes(view) == canary[len(canary) - len(view) :], (
                    "a retained view was overwritten"
                )
            keep = rng.randint(0, len(views))
            for view, _ in views[keep:]:
                view.release()
            del views[keep:]
        else:
            # Bad releases change nothing.
            bad = rng.randrange(3)
            if bad == 0 and released_buffers:
                victim = released_buffers.pop()
                if id(victim) not in model.held:
                    with pytest.raises(ValueError, match="already released"):
                        pool.release(victim)
            elif bad == 1:
                with pytest.raises(ValueError, match="not acquired from this pool"):
                    pool.release(bytearray(b"foreign"))
            else:
                with pytest.raises(TypeError):
                    pool.release(b"bytes")  # type: ignore[arg-type]
        if step % 97 == 0:
            model.check(pool)
    model.check(pool)
    for buf, canary in model.held.values():
        assert bytes(buf) == canary
        pool.release(buf)
        model.released_one(exported=False)
    model.held.clear()
    model.check(pool)
    return model


@pytest.mark.parametrize("seed", [11, 12])
def test_pool_soak(wirecore: ModuleType, seed: int) -> None:
    model = soak(wirecore, seed, 25_000)
    assert model.reused > 1000, "the run must exercise reuse"
    assert model.dropped > 1000, "the run must exercise drops"


@pytest.mark.slow
def test_pool_soak_1m(wirecore: ModuleType) -> None:
    soak(wirecore, 7, 1_000_000)

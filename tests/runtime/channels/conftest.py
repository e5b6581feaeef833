"""Fixtures of the channel tests: which backend, and how to make a channel on it.

The semantics suite (``test_channel_semantics.py``) is written only against the
``Sender``/``Receiver`` protocols and ``channel()``, and runs once per entry of
``BACKENDS``. Adding a transport is one ``pytest.param`` in ``BACKENDS`` (with
its marks), plus, if it needs a running service, the name of a fixture that
provides it in ``BACKEND_FIXTURES`` (requested only when that backend runs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import pytest

from klaw_core.runtime.channels import Receiver, Sender, channel
from ray_support import init_test_ray

BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("ray", id="ray", marks=pytest.mark.ray),
]

# backend name -> fixture that must be set up before a channel of it is made
BACKEND_FIXTURES: dict[str, str] = {"ray": "ray_cluster"}


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """One real local Ray for the whole session (started on first use, ~3 s), shut down at the end."""
    ray = pytest.importorskip("ray")
    started = init_test_ray()
    yield
    if started:
        ray.shutdown()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the channel backend under test."""
    name: str = request.param
    if name in BACKEND_FIXTURES:
        request.getfixturevalue(BACKEND_FIXTURES[name])
    return name


class MakeChannel(Protocol):
    """Signature of the ``make_channel`` fixture."""

    def __call__(
        self,
        capacity: int | None = None,
        *,
        unbounded: bool = False,
        value_type: object = int,
    ) -> tuple[Sender[Any], Receiver[Any]]: ...


@pytest.fixture
async def make_channel(backend: str) -> AsyncIterator[MakeChannel]:
    """Make channels on the backend under test; closes their first endpoints afterwards."""
    made: list[tuple[Sender[Any], Receiver[Any]]] = []

    def make(
        capacity: int | None = None,
        *,
        unbounded: bool = False,
        value_type: object = int,
    ) -> tuple[Sender[Any], Receiver[Any]]:
        pair = channel(capacity, backend=backend, value_type=value_type, unbounded=unbounded)
        made.append(pair)
        return pair

    yield make
    for tx, rx in made:
        await tx.close()
        await rx.close()

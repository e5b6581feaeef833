"""Uses of the public types that mypy --strict must accept, with no ignores."""

from __future__ import annotations

from animals import Animal, Dog

from klaw_core import Err, Nothing, Ok, Option, Result, Some, result
from klaw_core.runtime.channels import (
    LocalReceiver,
    LocalSender,
    Receiver,
    Sender,
    channel,
    local_channel,
)
from klaw_core.runtime.errors import ChannelClosed, ChannelEmpty, ChannelFull


async def feed_dogs(tx: Sender[Dog]) -> None:
    await tx.send(Dog())


async def first_animal(rx: Receiver[Animal]) -> Animal:
    return await rx.recv()


async def variance() -> None:
    animal_tx, animal_rx = channel(value_type=Animal)
    dog_tx, dog_rx = channel(value_type=Dog)
    # A sender of animals accepts dogs: Sender is contravariant.
    await feed_dogs(animal_tx)
    # A receiver of dogs yields animals: Receiver is covariant.
    await first_animal(dog_rx)
    # The same holds for the concrete local endpoints.
    animals: tuple[LocalSender[Animal], LocalReceiver[Animal]] = local_channel(4)
    dogs: tuple[LocalSender[Dog], LocalReceiver[Dog]] = local_channel(4)
    await feed_dogs(animals[0])
    await first_animal(dogs[1])
    await dog_tx.close()
    await animal_rx.close()


async def typed_endpoints() -> None:
    tx, rx = channel(8, value_type=int)
    await tx.send(1)
    await tx.send_batch(range(3))
    sent: Result[None, ChannelFull | ChannelClosed] = await tx.try_send(2)
    got: int = await rx.recv()
    maybe: Result[int, ChannelEmpty | ChannelClosed] = await rx.try_recv()
    batch = await rx.recv_batch(10, timeout=0.1)
    total: int = sum(batch) + got
    async for item in rx:
        total += item
    match maybe:
        case Ok(value):
            total += value
        case Err(ChannelEmpty()):
            pass
        case Err(ChannelClosed(reason)):
            print(reason, sent)
        case Err(other):
            print(other)
    clone: Sender[int] = tx.clone()
    await clone.close()


def parse(text: str) -> Result[int, str]:
    return Ok(int(text)) if text.isdigit() else Err(text)


@result
def add(a: str, b: str) -> Result[int, str]:
    return Ok(parse(a).bail() + parse(b).bail())


@result
async def add_later(a: str, b: str = "0") -> Result[int, str]:
    return Ok(parse(a).bail() + parse(b).bail())


@result
def halve(value: int) -> Option[int]:
    even = (Some(value) if value % 2 == 0 else Nothing()).bail()
    return Some(even // 2)


async def decorated() -> None:
    sync: Result[int, str] = add("1", "2")
    later: Result[int, str] = await add_later("1", b="2")
    half: Option[int] = halve(4)
    text: Result[str, str] = sync.map(str)
    number: int = later.unwrap_or(0) + half.unwrap_or(0)
    chained: Result[int, str] = sync.and_then(lambda v: parse(str(v)))
    as_option: Option[int] = sync.ok()
    print(text, number, chained, as_option)

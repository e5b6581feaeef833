"""Variance violations mypy must reject; each `# E: code` line must error with that code."""

from __future__ import annotations

from animals import Animal, Dog

from klaw_core.runtime.channels import Receiver, Sender, channel


async def feed_animals(tx: Sender[Animal]) -> None:
    await tx.send(Animal())


async def first_dog(rx: Receiver[Dog]) -> Dog:
    return await rx.recv()


async def variance() -> None:
    dog_tx, dog_rx = channel(value_type=Dog)
    animal_tx, animal_rx = channel(value_type=Animal)
    await feed_animals(dog_tx)  # E: arg-type
    await first_dog(animal_rx)  # E: arg-type
    await dog_tx.send(Animal())  # E: arg-type
    await animal_tx.close()
    await dog_rx.close()


async def wrong_item_type() -> None:
    tx, rx = channel(4, value_type=int)
    await tx.send("one")  # E: arg-type
    await tx.send_batch(["one"])  # E: list-item
    text: str = await rx.recv()  # E: assignment
    print(text)

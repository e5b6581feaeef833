"""Constrained types: each bound accepted at its edge, rejected one step past it,
with a message naming the field (FR-1.3, FR-5.3). The bounds themselves are
checked on the annotations and in the JSON Schema; the wording of the message
is msgspec's and is not asserted (it changes between msgspec releases)."""

from __future__ import annotations

import math
import typing
from typing import Any

import msgspec
import pytest

from klaw_core.runtime import types as ktypes
from klaw_core.runtime.types import (
    ChannelCapacity,
    Identifier,
    TimeoutSeconds,
)

# (alias name, JSON-compatible values that pass at each edge, values one step past it)
CASES: list[tuple[str, list[Any], list[Any]]] = [
    ("PositiveInt", [1, 2**63], [0, -1]),
    ("NonNegativeInt", [0, 7], [-1]),
    (
        "ChannelCapacity",
        [1, 500_000, 1_000_000],
        [0, 1_000_001],
    ),
    (
        "TimeoutSeconds",
        [0.0, 0, 30.0, 86_400.0, 86_400],
        [
            -5e-324,
            -1.0,
            math.nextafter(86_400.0, math.inf),
            86_401,
        ],
    ),
    (
        "ConcurrencyLimit",
        [1, 100, 10_000],
        [0, 10_001],
    ),
    (
        "Identifier",
        ["a", "_", "foo_bar", "Foo-123", "x" * 255],
        [
            "",
            "x" * 256,
            "123foo",
            "foo bar",
            "foo.bar",
            "foo\n",
        ],
    ),
    (
        "Namespace",
        ["k", "klaw", "my-namespace", "a1", "n" * 63],
        [
            "",
            "n" * 64,
            "MyNamespace",
            "123ns",
            "-ns",
            "ns\n",
        ],
    ),
    (
        "PositiveFloat",
        [5e-324, 1.0, 1],
        [0.0, -1],
    ),
    (
        "Percentage",
        [0.0, 50, 100.0],
        [
            -5e-324,
            math.nextafter(100.0, math.inf),
        ],
    ),
    (
        "Ratio",
        [0.0, 0.5, 1.0, 1],
        [
            -5e-324,
            math.nextafter(1.0, 2.0),
        ],
    ),
    (
        "BatchSize",
        [1, 100_000],
        [0, 100_001],
    ),
    (
        "ChannelName",
        ["a", "jobs/eu-west.1", "_x/y", "c" * 512],
        [
            "",
            "c" * 513,
            "/abs",
            "a b",
        ],
    ),
    (
        "NodeId",
        ["n", "10.0.0.1:6379", "z" * 128],
        ["", "z" * 129],
    ),
    (
        "SchemaVersion",
        [1, 1000],
        [0, 1001],
    ),
    ("Port", [1, 65_535], [0, 65_536]),
    (
        "FrameSize",
        [1, 2**32 - 1],
        [0, 2**32],
    ),
]


def holder(alias: Any) -> type[msgspec.Struct]:
    """A struct with one required field ``value`` of the given type."""
    return msgspec.defstruct("Holder", [("value", alias)])


@pytest.mark.parametrize(("name", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_bounds(name: str, good: list[Any], bad: list[Any]) -> None:
    alias = getattr(ktypes, name)
    cls = holder(alias)
    for value in good:
        # Both decode boundaries: JSON bytes and already-parsed data (TOML, env).
        assert msgspec.json.decode(msgspec.json.encode({"value": value}), type=cls).value == value
        assert msgspec.convert({"value": value}, cls).value == value
    for value in bad:
        # The message (msgspec's wording, not asserted) names the field.
        with pytest.raises(msgspec.ValidationError, match="value"):
            msgspec.convert({"value": value}, cls)
        with pytest.raises(msgspec.ValidationError, match="value"):
            msgspec.msgpack.decode(msgspec.msgpack.encode({"value": value}), type=cls)


def test_every_type_is_tested_and_described() -> None:
    assert sorted(c[0] for c in CASES) == sorted(ktypes.__all__)
    for name in ktypes.__all__:
        base, meta = typing.get_args(getattr(ktypes, name))
        assert base in (int, float, str)
        assert isinstance(meta, msgspec.Meta)
        assert meta.description
        assert meta.description.endswith(".")


class Channel(msgspec.Struct):
    capacity: ChannelCapacity = 10_000
    timeout: TimeoutSeconds = 30.0
    name: Identifier = "c"


class Config(msgspec.Struct):
    name: Identifier
    channels: list[Channel] = []


def test_message_names_the_field_path() -> None:
    """The message names the real field, nested structs included (the words are msgspec's)."""
    msgspec.json.decode(b'{"name": "etl", "channels": [{"capacity": 1}]}', type=Config)
    with pytest.raises(msgspec.ValidationError, match=r"channels\[1\]\.capacity"):
        msgspec.json.decode(b'{"name": "etl", "channels": [{}, {"capacity": 0}]}', type=Config)
    with pytest.raises(msgspec.ValidationError, match=r"channels\[0\]\.timeout"):
        msgspec.json.decode(b'{"name": "etl", "channels": [{"timeout": 1e6}]}', type=Config)


def test_wrong_kind_of_value_is_rejected() -> None:
    cls = holder(ChannelCapacity)
    with pytest.raises(msgspec.ValidationError, match="value"):
        msgspec.json.decode(b'{"value": "10"}', type=cls)
    with pytest.raises(msgspec.ValidationError, match="value"):
        msgspec.json.decode(b'{"value": true}', type=cls)
    # TOML and environment values arrive as strings; strict=False coerces them,
    # and the bound still applies.
    assert msgspec.convert({"value": "10"}, cls, strict=False).value == 10
    with pytest.raises(msgspec.ValidationError, match="value"):
        msgspec.convert({"value": "0"}, cls, strict=False)


def test_nan_is_not_in_any_float_range() -> None:
    for name in ("TimeoutSeconds", "Percentage", "Ratio"):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({"value": math.nan}, holder(getattr(ktypes, name)))


def test_prd_ranges_win_over_the_memo() -> None:
    """ChannelCapacity tops out at 1,000,000 (memo: 10,000,000); a timeout of 0 is
    allowed (memo: > 0); Identifier has no dots and at most 255 characters."""
    assert typing.get_args(ChannelCapacity)[1].le == 1_000_000
    assert typing.get_args(TimeoutSeconds)[1].ge == 0.0
    meta = typing.get_args(Identifier)[1]
    assert (meta.min_length, meta.max_length) == (1, 255)


def test_json_schema_carries_bounds_and_descriptions() -> None:
    props = msgspec.json.schema(Channel)["$defs"]["Channel"]["properties"]
    assert props["capacity"] == {
        "default": 10_000,
        "type": "integer",
        "minimum": 1,
        "maximum": 1_000_000,
        "description": "Channel buffer size, 1 to 1,000,000 items.",
    }
    assert props["name"]["pattern"] == "^[a-zA-Z_][a-zA-Z0-9_-]*$(?!\n)"
    assert props["name"]["maxLength"] == 255


def test_direct_construction_does_not_validate() -> None:
    """Documented behaviour: constraints apply at decode/convert, not in __init__."""
    assert Channel(capacity=0).capacity == 0
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(msgspec.to_builtins(Channel(capacity=0)), Channel)

"""``klaw schema``: JSON Schema of the wire envelopes (every registered version) or the config.

The wire schema comes from the process-wide
:class:`~klaw_core.runtime.channels.schema.SchemaRegistry`, so versions a program
registers are exported the same way as the built-in one. The config schema lets
an editor (e.g. Taplo for TOML) check ``klaw.toml`` as it is typed.
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any, cast

import msgspec

from klaw_core.cli._output import int_at_least
from klaw_core.runtime.channels.schema import get_schema_registry
from klaw_core.runtime.config import KlawConfig

__all__ = ["add_parser", "document", "run"]


def add_parser(commands: Any) -> None:
    """Register ``klaw schema``."""
    parser = commands.add_parser(
        "schema",
        help="JSON Schema of the wire envelopes or the config",
        description="Print the JSON Schema of every registered wire schema version "
        "(default) or of the configuration file.",
    )
    parser.add_argument(
        "what", nargs="?", choices=("wire", "config"), default="wire", help="default: wire"
    )
    parser.add_argument(
        "--indent", type=int_at_least(0), default=2, metavar="N", help="indentation, 0 for one line"
    )
    parser.set_defaults(handler=run)


def _without_examples(node: object) -> object:
    """Drop docstring ``Example:`` sections from descriptions: doctests are noise in a schema."""
    if isinstance(node, dict):
        out: dict[str, object] = {}
        for key, value in cast("dict[str, object]", node).items():
            if key == "description" and isinstance(value, str):
                value = inspect.cleandoc(value).split("\nExample:", 1)[0].rstrip()
            out[key] = _without_examples(value)
        return out
    if isinstance(node, list):
        return [_without_examples(item) for item in cast("list[object]", node)]
    return node


def document(what: str) -> dict[str, Any]:
    """Return the schema document for ``"wire"`` or ``"config"``.

    Example:
        >>> sorted(document("wire"))
        ['$defs', 'versions']
        >>> document("config")["$ref"]
        '#/$defs/KlawConfig'
    """
    if what == "config":
        schema: dict[str, Any] = msgspec.json.schema(KlawConfig)
    else:
        schema = get_schema_registry().json_schema()
    return cast("dict[str, Any]", _without_examples(schema))


def run(args: argparse.Namespace) -> int:
    """Print the schema as JSON."""
    encoded = msgspec.json.encode(document(args.what))
    text = msgspec.json.format(encoded, indent=args.indent) if args.indent else encoded
    print(text.decode())
    return 0

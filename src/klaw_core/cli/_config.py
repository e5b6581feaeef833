"""``klaw config check|show``: validate a config, or print every value and its origin.

Both read exactly what a program calling :func:`~klaw_core.runtime.config.load_config`
would read (the file, then ``KLAW_*`` variables), so what ``show`` prints is what
the library uses.
"""

from __future__ import annotations

import argparse
from typing import Any

import msgspec

from klaw_core.cli._output import render_table
from klaw_core.runtime.config import (
    env_var_name,
    iter_values,
    load_config_with_origins,
    resolve_config_path,
)

__all__ = ["add_parser", "format_value", "run_check", "run_show"]


def add_parser(commands: Any) -> None:
    """Register ``klaw config check`` and ``klaw config show``."""
    config = commands.add_parser(
        "config",
        help="check or show the configuration",
        description="Validate the configuration, or show every value and where it comes "
        "from. PATH defaults to $KLAW_CONFIG, else ./klaw.toml if present; KLAW_<SECTION>_"
        "<FIELD> variables override the file.",
    )
    actions = config.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help="validate; exit 0 when valid, 2 with every problem listed"
    )
    check.add_argument("path", nargs="?", metavar="PATH", help="TOML file to check")
    check.set_defaults(handler=run_check)
    show = actions.add_parser("show", help="print the effective value of every key and its origin")
    show.add_argument("path", nargs="?", metavar="PATH", help="TOML file to read")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=run_show)


def format_value(value: object) -> str:
    """Format a config value as it would be written in TOML (``None`` as ``(not set)``).

    Example:
        >>> format_value("klaw"), format_value(True), format_value(None), format_value(0.5)
        ('"klaw"', 'true', '(not set)', '0.5')
    """
    if value is None:
        return "(not set)"
    if isinstance(value, bool | str):
        return msgspec.json.encode(value).decode()
    return repr(value)


def _source(path: str | None) -> str:
    file = resolve_config_path(path)
    return str(file) if file is not None else "no file (defaults and KLAW_* variables)"


def run_check(args: argparse.Namespace) -> int:
    """Validate; a :class:`ConfigError` reaches ``main`` and becomes exit code 2."""
    source = _source(args.path)
    _, origins = load_config_with_origins(args.path)
    from_file = sum(origin.kind == "file" for origin in origins.values())
    from_env = sum(origin.kind == "env" for origin in origins.values())
    print(f"ok: {source}: {from_file} value(s) from the file, {from_env} from the environment")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print every key, its value and its origin."""
    source = _source(args.path)
    config, origins = load_config_with_origins(args.path)
    values = list(iter_values(config))
    if args.json:
        document = {
            "source": source,
            "values": {
                key: {"value": value, "origin": str(origins[key]), "env": env_var_name(key)}
                for key, value in values
            },
        }
        print(msgspec.json.encode(document).decode())
        return 0
    print(f"# config: {source}")
    rows = [[key, format_value(value), str(origins[key])] for key, value in values]
    print(render_table(["key", "value", "origin"], rows))
    return 0

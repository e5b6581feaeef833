"""``klaw info``: what is installed and which wire core this process runs.

Ray's version comes from the installed distribution's metadata: importing Ray
takes seconds and starts threads, which a version report must not do.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import platform
import sys
from typing import Any

import msgspec

import klaw_core
from klaw_core._env import env_flag
from klaw_core.cli._output import render_table
from klaw_core.runtime.config import resolve_config_path
from klaw_core.runtime.errors import ConfigError

__all__ = ["add_parser", "collect", "run"]


def add_parser(commands: Any) -> None:
    """Register ``klaw info``."""
    parser = commands.add_parser(
        "info",
        help="versions, wire core implementation, Ray",
        description="Print the versions of klaw-core, msgspec, Python and Ray, and whether "
        "the compiled wire core is in use.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def _distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _wire_core() -> str:
    if klaw_core.IMPLEMENTATION == "cython":
        return "cython (compiled klaw_core._wirecore_c)"
    if env_flag("KLAW_NO_EXTENSIONS"):
        return "python (pure twin: KLAW_NO_EXTENSIONS is set)"
    if importlib.util.find_spec("klaw_core._wirecore_c") is None:
        return "python (pure twin: the compiled module is not built; pip install -e . needs a C compiler)"
    return "python (pure twin)"


def _config_file() -> str:
    try:
        path = resolve_config_path()
    except ConfigError as exc:
        return f"invalid: {exc.message}"
    return "none (defaults and KLAW_* variables)" if path is None else str(path)


def collect() -> dict[str, str]:
    """Return the facts ``klaw info`` prints, in order.

    Example:
        >>> sorted(collect())[:3]
        ['Python', 'Ray', 'config file']
    """
    ray = _distribution_version("ray")
    tomli_w = _distribution_version("tomli_w") or _distribution_version("tomli-w")
    return {
        "klaw-core": klaw_core.__version__,
        "wire core": _wire_core(),
        "msgspec": msgspec.__version__,
        "Python": f"{platform.python_version()} ({platform.python_implementation()}, {sys.executable})",
        "Ray": ray or "not installed (pip install 'klaw-core[ray]')",
        "tomli_w": tomli_w or "not installed (saving config needs 'klaw-core[toml]')",
        "config file": _config_file(),
    }


def run(args: argparse.Namespace) -> int:
    """Print the report."""
    if args.json:
        data = {
            "klaw_core": klaw_core.__version__,
            "implementation": klaw_core.IMPLEMENTATION,
            "msgspec": msgspec.__version__,
            "python": platform.python_version(),
            "ray": _distribution_version("ray"),
            "config_file": _config_file(),
        }
        print(msgspec.json.encode(data).decode())
        return 0
    facts = collect()
    table = render_table(["component", "version"], [list(item) for item in facts.items()])
    print(table)
    return 0

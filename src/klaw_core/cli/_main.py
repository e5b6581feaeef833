"""Argument parsing, dispatch, and the exit-code contract of the ``klaw`` command.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and a
``run(args) -> int``; this module only wires them together and turns the errors a
user can cause into one line on stderr and exit code 2. Anything else (a bug)
keeps its traceback, on purpose.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from klaw_core import __version__
from klaw_core.cli import _bench, _config, _demo, _info, _inspect, _schema
from klaw_core.cli._output import describe_error, error
from klaw_core.runtime.errors import KlawError

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error: ``klaw demo: error: ... (see klaw demo --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the ``klaw`` argument parser with every subcommand.

    Example:
        >>> build_parser().parse_args(["inspect", "frames.bin", "--json"]).json
        True
    """
    parser = _Parser(
        prog="klaw",
        description="klaw-core: typed channels over a versioned MessagePack wire protocol.",
        epilog="Exit codes: 0 ok, 2 usage error or bad input, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"klaw-core {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    for module in (_info, _demo, _bench, _inspect, _schema, _config):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``klaw`` command and return its exit code.

    Args:
        argv: the arguments after ``klaw`` (``sys.argv[1:]`` by default).

    Returns:
        0 on success, 2 for a usage error or bad input (reported on stderr in
        one line), 130 when interrupted.

    Example:
        >>> main(["config", "check", "/nonexistent/klaw.toml"])
        2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``klaw inspect big.bin | head``): not an error of
        # ours. Point stdout at /dev/null so the interpreter's final flush is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except (KlawError, OSError) as exc:
        error(describe_error(exc))
        return EXIT_USAGE

"""What the ``klaw`` subcommands print: error lines, aligned tables, numbers.

Plain text only (no colours, no terminal control beyond ``\\r`` in the progress
line), so the output reads the same in a terminal, a CI log and a file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from klaw_core.runtime.errors import ConfigError, KlawError

__all__ = [
    "CommandError",
    "describe_error",
    "error",
    "format_count",
    "format_rate",
    "int_at_least",
    "render_table",
]


class CommandError(KlawError):
    """A user error found by a subcommand itself (e.g. Ray missing for ``klaw demo``)."""


def error(message: str) -> None:
    """Print ``klaw: error: <message>`` on stderr."""
    print(f"klaw: error: {message}", file=sys.stderr, flush=True)


def describe_error(exc: BaseException) -> str:
    """Return the text a user sees for an error they caused.

    A :class:`ConfigError` keeps its list of problems (one per line, that is the
    point of collecting them); everything else is one line. An ``OSError`` names
    the file and the system's reason, without Python's ``[Errno 2]`` prefix.

    Example:
        >>> describe_error(FileNotFoundError(2, "No such file or directory", "x.bin"))
        "cannot open 'x.bin': No such file or directory"
    """
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        if exc.filename is not None:
            return f"cannot open {str(exc.filename)!r}: {exc.strerror}"
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


def format_count(value: int) -> str:
    """Format an integer with thousands separators.

    Example:
        >>> format_count(200000)
        '200,000'
    """
    return f"{value:,}"


def format_rate(per_second: float) -> str:
    """Format a rate with thousands separators and no decimals.

    Example:
        >>> format_rate(123456.7)
        '123,457'
    """
    return f"{per_second:,.0f}"


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[bool] = ()
) -> str:
    """Render rows as an aligned plain-text table with a rule under the headers.

    Args:
        headers: column titles.
        rows: cells, already formatted as strings.
        right: per column, whether to right-align (numbers); left by default.

    Returns:
        The table, lines joined by ``\\n``, no trailing newline.

    Example:
        >>> print(render_table(["name", "n"], [["a", "1"], ["bb", "22"]], right=[False, True]))
        name   n
        ----  --
        a      1
        bb    22
    """
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    align = list(right) + [False] * (len(headers) - len(right))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if is_right else cell.ljust(width)
            for cell, width, is_right in zip(cells, widths, align, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def int_at_least(minimum: int) -> Callable[[str], int]:
    """Return an argparse ``type`` accepting integers >= ``minimum`` (``_`` separators allowed).

    Example:
        >>> int_at_least(1)("200_000")
        200000
        >>> int_at_least(1)("0")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be an integer >= 1, got '0'
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    return parse

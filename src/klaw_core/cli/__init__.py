"""The ``klaw`` command: ``info``, ``demo``, ``bench``, ``inspect``, ``schema`` and ``config``.

Installed as the ``klaw`` console script and runnable as ``python -m klaw_core``.
Every subcommand follows one exit-code contract, so scripts can rely on it:

- ``0``: success;
- ``2``: a usage error or bad input (a missing or corrupt file, an invalid
  config), with a one-line reason on stderr and never a traceback;
- ``130``: interrupted with Ctrl-C.

Results go to stdout, progress and errors to stderr, so ``klaw inspect f.bin
--json | jq`` and ``klaw demo > table.txt`` work as expected.

Example:
    >>> main(["config", "check", "/nonexistent/klaw.toml"])
    2
"""

from __future__ import annotations

from klaw_core.cli._main import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, build_parser, main

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

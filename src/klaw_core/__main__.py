"""``python -m klaw_core``: the ``klaw`` command without the console script."""

from __future__ import annotations

import sys

from klaw_core.cli import main

if __name__ == "__main__":
    sys.exit(main())

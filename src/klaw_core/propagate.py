"""Early return for ``Result``/``Option``: the ``?`` operator of Rust, in Python.

``Err(...).bail()`` and ``Nothing().bail()`` raise :class:`Propagate` carrying
themselves; the :func:`klaw_core.decorators.result` decorator catches it at the
function boundary and returns the carried value. ``Ok(v).bail()`` and
``Some(v).bail()`` simply return ``v``. So a chain of fallible steps reads as
straight-line code::

    @result
    def load(path: str) -> Result[Config, str]:
        text = read(path).bail()      # returns early with read()'s Err
        return parse(text)

Why a ``BaseException`` and not an ``Exception``: ``bail()`` is control flow,
like ``return``. A broad ``except Exception:`` between ``bail()`` and the
decorator (logging, retry helpers, ...) must not swallow the early return and
turn it into something else, for the same reason that ``asyncio.CancelledError``
and ``GeneratorExit`` are not ``Exception`` subclasses.
"""

from __future__ import annotations

from klaw_core._variants import Propagate

__all__ = ["Propagate"]

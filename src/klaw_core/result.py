"""Result type: ``Ok[T] | Err[E]`` for explicit error handling.

A function that can fail in an expected way returns ``Ok(value)`` or
``Err(error)`` instead of raising, so the failure is part of its signature and a
type checker makes the caller deal with it. The non-blocking channel calls use
it: ``try_send`` returns ``Ok(None)`` or ``Err(ChannelFull(...))``.

Note:
    Ok/Err are intended for in-process control flow and executor/task APIs.
    For channel/Ray wire messages, use domain-specific msgspec.Struct schemas
    or the WireEnvelope types from klaw_core.runtime.channels.wire.
    Do not expose Result directly over the wire: its shape (a struct per
    variant, a Python exception or arbitrary object as the error) is not part
    of the versioned wire format, and a peer in another language or version
    could not decode it.

Both variants are frozen ``msgspec.Struct`` s with an explicit ``Generic`` base
(Python 3.11: no PEP 695), covariant in their parameter, so an
``Ok[Dog]`` is an ``Ok[Animal]``. They are garbage-collector tracked on purpose:
an ``Err`` holding an exception whose traceback reaches the frame holding the
``Err`` is a reference cycle, and an untracked (``gc=False``) struct would leak
it. They work with ``match``::

    match await tx.try_send(item):
        case Ok():
            ...
        case Err(ChannelFull()):
            ...

Combinators follow Rust's names (``map``, ``and_then``, ``unwrap_or``, ...);
``ok()``/``err()`` return an :mod:`~klaw_core.option` value, and ``.bail()``
returns the value or propagates the ``Err`` to the nearest ``@result``
(:mod:`klaw_core.decorators`).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from klaw_core._variants import Err, Ok, Result
from klaw_core.decorators import result as _result_decorator

__all__ = ["Err", "Ok", "Result"]


class _ResultModule(types.ModuleType):
    """This module, callable as the ``@result`` decorator.

    ``from klaw_core import result`` has always given the decorator, and
    ``klaw_core.result`` is also this module's path: one name for two things.
    Making the module callable lets both hold at once — ``@klaw_core.result``
    decorates, and ``import klaw_core.result as m`` gives this module with
    ``m.Ok`` — where rebinding the package attribute to the function would
    hide the module from ``import ... as`` and attribute access.
    """

    def __call__(self, func: Any) -> Any:
        return _result_decorator(func)


sys.modules[__name__].__class__ = _ResultModule

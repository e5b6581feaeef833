"""klaw-core: typed channels over a versioned MessagePack wire protocol.

``IMPLEMENTATION`` says which wire core this process runs: ``"cython"`` (the
compiled module) or ``"python"`` (the pure twin, under ``KLAW_NO_EXTENSIONS=1``
or when no compiled module is available).

The names most code needs are re-exported here: ``channel`` with the
``Sender``/``Receiver`` protocols and the channel errors, and the in-process
``Result``/``Option`` types with ``@result``. Importing klaw_core never imports
Ray; ``channel(backend="ray")`` does, on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaw_core._wirecore import IMPLEMENTATION
from klaw_core.option import Nothing, Option, Some
from klaw_core.propagate import Propagate
from klaw_core.result import Err, Ok, Result
from klaw_core.runtime.channels import ChannelStats, Receiver, Sender, channel
from klaw_core.runtime.errors import (
    ChannelClosed,
    ChannelClosedError,
    ChannelEmpty,
    ChannelEmptyError,
    ChannelEnded,
    ChannelEndedError,
    ChannelError,
    ChannelFull,
    ChannelFullError,
    ChannelLost,
    ChannelLostError,
    ChannelTimeout,
    ChannelTimeoutError,
    ConfigError,
    EndpointClosed,
    EndpointClosedError,
    InvalidMessage,
    InvalidMessageError,
    KlawError,
    KlawWireError,
    ProducerFailed,
    ProducerFailedError,
    ProducerLost,
    ProducerLostError,
    ReceiversClosed,
    ReceiversClosedError,
    UnwrapError,
)

# ``klaw_core.result`` is the module of Ok/Err/Result, and calling it applies the
# ``@result`` decorator (klaw_core.decorators.result), so ``from klaw_core import
# result`` decorates and ``import klaw_core.result as m`` reaches ``m.Ok``. Type
# checkers see the decorator here, with its overloads.
if TYPE_CHECKING:
    from klaw_core.decorators import result
else:
    from klaw_core import result

__version__ = "0.1.0"

__all__ = [
    "IMPLEMENTATION",
    "__version__",
    # channels
    "ChannelStats",
    "Receiver",
    "Sender",
    "channel",
    # in-process results
    "Err",
    "Nothing",
    "Ok",
    "Option",
    "Propagate",
    "Result",
    "Some",
    "result",
    # errors
    "ChannelClosed",
    "ChannelClosedError",
    "ChannelEmpty",
    "ChannelEmptyError",
    "ChannelError",
    "ChannelFull",
    "ChannelFullError",
    "ChannelLost",
    "ChannelLostError",
    "ChannelTimeout",
    "ChannelTimeoutError",
    "ConfigError",
    "InvalidMessage",
    "InvalidMessageError",
    "KlawError",
    "KlawWireError",
    "UnwrapError",
    "ChannelEnded",
    "ChannelEndedError",
    "EndpointClosed",
    "EndpointClosedError",
    "ProducerFailed",
    "ProducerFailedError",
    "ProducerLost",
    "ProducerLostError",
    "ReceiversClosed",
    "ReceiversClosedError",
]

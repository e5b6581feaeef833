"""``RaySender`` and ``RayReceiver``, at the path the design names (DESIGN.md §2).

The endpoints live one per module, :mod:`.sender` and :mod:`.receiver`, over
the sans-IO :mod:`.store` that the actor drives; this module re-exports them so
that ``klaw_core.runtime.channels.ray.channel.RaySender`` keeps working.
"""

from __future__ import annotations

from klaw_core.runtime.channels.ray.receiver import RayReceiver
from klaw_core.runtime.channels.ray.sender import RaySender

__all__ = ["RayReceiver", "RaySender"]

"""The Ray channel tests run only where Ray is installed (klaw-core's ``ray`` extra).

They share the session's one local Ray (the ``ray_cluster`` fixture of the
channels ``conftest.py``); their message types live in ``ray_messages.py``,
which the Ray workers import by name.
"""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("ray") else ["test_*.py"]

"""The Ray channel tests run only where Ray is installed (klaw-core's ``ray`` extra).

They share the session's one local Ray (the ``ray_cluster`` fixture of the
channels ``conftest.py``); their message types live in ``ray_messages.py``,
which the Ray workers import by name.
"""

from __future__ import annotations

from ray_support import HAVE_RAY

collect_ignore_glob = [] if HAVE_RAY else ["test_*.py"]

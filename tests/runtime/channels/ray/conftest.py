"""The Ray channel tests run only where Ray is installed (klaw-core's ``ray`` extra).

They share the session's one local Ray (the ``ray_cluster`` fixture of the
channels ``conftest.py``); their message types live in ``ray_messages.py``,
which the Ray workers import by name. The sans-IO protocol core's tests
(``test_store.py``) import no Ray and run everywhere, the no-Ray wheel jobs too.
"""

from __future__ import annotations

from ray_support import HAVE_RAY

collect_ignore_glob = [] if HAVE_RAY else ["test_ray_*.py", "test_faults.py"]

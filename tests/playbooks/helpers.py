"""Shim: these helpers moved to ``tests/support/`` (kept for branches that import them from here).

Workspaces: ``tests/support/workspaces.py``; servers and ``free_port``: ``tests/support/servers.py``;
child-process bodies: ``tests/support/processes.py``.
"""

from tests.support.processes import run_due_in_process, trigger_in_process  # noqa: F401
from tests.support.servers import Recorder, RecordingServer, free_port  # noqa: F401
from tests.support.workspaces import (  # noqa: F401
    AS_OF,
    CSMS,
    TASK_AND_EMAIL,
    build_workspace,
    open_ws,
    varied_band,
    varied_profile,
    write_scores,
    write_varied_scores,
)

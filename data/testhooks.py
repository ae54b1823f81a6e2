"""Test-only pause points, so a test can kill or race a process at a known step of its work.

Inert unless ``CSAI_TEST_PAUSE_AT`` names the point being passed; then the process writes its pid to
``<CSAI_TEST_PAUSE_DIR>/<point>.reached`` and waits (up to ``CSAI_TEST_PAUSE_TIMEOUT`` seconds,
default 120) until ``<CSAI_TEST_PAUSE_DIR>/<point>.resume`` exists. Points: ``import-write`` (rows of
the first table written into the new raw snapshot, not yet committed) and ``dispatch-claimed`` (an
outbox step claimed, not yet delivered).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

POINTS = ("import-write", "dispatch-claimed")


def pause_point(name: str) -> None:
    """Pause here when the environment asks for it (tests only); otherwise return at once."""
    if os.environ.get("CSAI_TEST_PAUSE_AT") != name:
        return
    folder = Path(os.environ.get("CSAI_TEST_PAUSE_DIR") or ".")
    resume = folder / f"{name}.resume"
    (folder / f"{name}.reached").write_text(str(os.getpid()))
    deadline = time.monotonic() + float(os.environ.get("CSAI_TEST_PAUSE_TIMEOUT") or 120)
    while not resume.exists() and time.monotonic() < deadline:
        time.sleep(0.01)

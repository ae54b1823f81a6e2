"""Guards that turn a hidden order dependency into a failure naming the test that caused it.

The session sample workspace (``sample_workspace_path`` in ``tests/conftest.py``) is shared and
read-only: a test that writes to it (an import, a training run, a note, a password change, the
end of the demo logins) changes what every later test reads, so the suite passes in one order
and fails in another. :func:`_0_guard_shared_state` (autouse, one per test) compares, before and
after every test,

- the files of the shared workspace (name, size, modification time: cheap, no hashing),
- the ``CSAI_*`` environment variables and the working directory,

and fails the test that changed them. :func:`_0_guard_module_state` does the same for the
environment and working directory around every module, which catches module-scoped fixtures
that do not restore what they set.

After every test it also forgets the app's per-process workspaces (``components.session``): they
are keyed by the workspace path only and keep the settings read from the environment when the
first page opened it, so a test that set ``CSAI_*`` variables would otherwise hand its settings to
every later test that opens the same path (the shared sample workspace).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# The shared workspace, once built (set by ``sample_workspace_path``), and its last known state.
SHARED: dict[str, object] = {"path": None, "files": None}

# Files that reading a workspace creates or touches: logs, lock files, SQLite's shared-memory index.
IGNORED_SUFFIXES = (".log", ".lock", "-shm")


def files_state(root: Path) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of the files under ``root`` that only a write changes.

    An empty SQLite ``-wal`` file counts as absent: a reader in WAL mode creates one, a writer fills it.
    """
    state = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if name.endswith(IGNORED_SUFFIXES):
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:  # removed while walking (a checkpointed WAL)
                continue
            if name.endswith("-wal") and st.st_size == 0:
                continue
            state[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns)
    return state


def share(path: Path) -> None:
    """Record the freshly built shared workspace at ``path``."""
    SHARED["path"] = Path(path)
    SHARED["files"] = files_state(Path(path))


def changed_files(before: dict, after: dict) -> list[str]:
    names = sorted(set(before) | set(after))
    return [f"{n} ({'added' if n not in before else 'removed' if n not in after else 'modified'})"
            for n in names if before.get(n) != after.get(n)]


def process_state() -> dict[str, object]:
    return {"cwd": os.getcwd(), **{k: v for k, v in os.environ.items() if k.startswith("CSAI_")}}


def changed_process_state(before: dict, after: dict) -> list[str]:
    return [f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)]


# Named to sort first among the autouse fixtures (pytest orders a conftest's autouse fixtures by
# name): it is set up before, and torn down after, any fixture that uses ``monkeypatch``, so what
# ``monkeypatch`` restores does not count as a leak.
@pytest.fixture(autouse=True)
def _0_guard_shared_state(request):
    before = process_state()
    yield
    session = sys.modules.get("components.session")
    if session is not None:
        session._workspaces.clear()
    problems = []
    leaked = changed_process_state(before, process_state())
    if leaked:
        problems.append("left the environment / working directory changed: " + "; ".join(leaked))
    path = SHARED["path"]
    if path is not None:
        now = files_state(path)
        changed = changed_files(SHARED["files"], now)
        SHARED["files"] = now  # blame this test only, not every later one
        if changed:
            problems.append(f"wrote to the shared session workspace {path}: " + ", ".join(changed)
                            + " (work on a private copy: tests.support.workspaces.served_copy)")
    if problems:
        pytest.fail(f"{request.node.nodeid} " + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def _0_guard_module_state(request):
    before = process_state()
    yield
    leaked = changed_process_state(before, process_state())
    if leaked:
        pytest.fail(f"module {request.module.__name__} left the environment / working directory changed: "
                    + "; ".join(leaked), pytrace=False)

"""The command line as tests drive it: in a subprocess (as cron and admins do) or in-process (``cli.main``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, ws: str | Path | None = None, stdin: str | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """``python cli.py [--workspace ws] args...`` in a subprocess; text output captured."""
    head = ["--workspace", str(ws)] if ws is not None else []
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *head, *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)


def cli_ok(ws: str | Path, *args: str) -> str:
    """Run the CLI on ``ws``, assert it succeeded and return its standard output."""
    proc = cli(*args, ws=ws)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def run_import(capsys, ws: str | Path, *args: str) -> tuple[int, str, str]:
    """``cli.main(["--workspace", ws, "import", *args])`` in-process: (exit code, stdout, stderr)."""
    import cli as cli_module

    code = cli_module.main(["--workspace", str(ws), "import", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def cli_in_process(*argv: str) -> tuple[int, str]:
    """``cli.main(argv)`` in this process: (exit code, stdout and stderr together)."""
    import contextlib
    import io

    import cli as cli_module

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_module.main(list(argv))
    return code, out.getvalue() + err.getvalue()

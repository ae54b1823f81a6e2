"""Docs live with the code: the design document is in the repository and everything cites it there."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_file_cites_a_design_document_outside_the_repository():
    assert (ROOT / "docs" / "architecture.md").is_file()
    out = subprocess.run(["git", "grep", "-n", "-e", "DESIGN.md", "-e", "shared/CONVENTIONS", "--", "."],
                         cwd=ROOT, capture_output=True, text=True)
    hits = [line for line in out.stdout.splitlines() if not line.startswith("tests/test_docs.py")]
    assert hits == []


def test_the_architecture_document_names_what_the_code_has():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for path in ("data/readmodel.py", "data/migrations", "data/sso.py", "data/engines/spark_metrics.py",
                 "models/spark_scoring.py", "playbooks/today.py", "data/vocabulary.py", "components/pages.py"):
        assert path in text, path
        assert (ROOT / path).exists(), path

"""Uploaded files: kept in the workspace (owner-only), one folder per content hash, pruned after a day.

A file uploaded on the Data page is saved once so the importer can stream it (DuckDB
reads a path, not bytes). It holds customer data, so it lives in ``<workspace>/uploads``
with owner-only permissions rather than in the shared temp folder, and folders older
than :data:`KEEP_SECONDS` are removed whenever a new file is saved.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from pathlib import Path

KEEP_SECONDS = 24 * 3600


def safe_name(name: str) -> str:
    """A file name without folders or unusual characters (at most 120 characters)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "upload"
    return stem[-120:]


def save_upload(folder: Path, name: str, content: bytes, *, now: float | None = None) -> tuple[str, Path]:
    """Save ``content`` as ``folder/<hash>/<safe name>`` (once per content) and return
    (content hash, path). Older uploads are pruned first."""
    prune_uploads(folder, now=now)
    digest = hashlib.sha256(content).hexdigest()[:24]
    target = folder / digest
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = target / safe_name(name)
    if not path.exists():
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(content)
        tmp.replace(path)  # a second session saving the same file never sees half of it
    os.utime(target)  # in use again: kept for another day
    return digest, path


def prune_uploads(folder: Path, *, keep_seconds: float = KEEP_SECONDS, now: float | None = None) -> int:
    """Remove upload folders not used for ``keep_seconds``; returns how many were removed."""
    if not folder.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - keep_seconds
    removed = 0
    for entry in folder.iterdir():
        try:
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        except FileNotFoundError:  # another session pruned it first
            continue
    return removed

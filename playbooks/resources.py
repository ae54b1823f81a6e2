"""Learn resources: short Markdown guides per driver group in ``content/resources/<name>.md``."""

from __future__ import annotations

import re
from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "content" / "resources"
_NAME = re.compile(r"^[a-z0-9_-]+$")


def resource_path(name: str) -> Path | None:
    """Path of resource ``name`` (e.g. ``usage``), or None if there is no such resource."""
    key = name.lower().strip()
    if not _NAME.match(key):
        return None
    path = RESOURCES_DIR / f"{key}.md"
    return path if path.is_file() else None


def resource_text(name: str) -> str | None:
    """Markdown text of a resource, or None."""
    path = resource_path(name)
    return path.read_text(encoding="utf-8") if path else None


def list_resources() -> list[dict]:
    """Every resource: ``name``, ``title`` (its first heading) and ``path``."""
    out = []
    for path in sorted(RESOURCES_DIR.glob("*.md")):
        first = next((ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("# ")), path.stem)
        out.append({"name": path.stem, "title": first.lstrip("# ").strip(), "path": str(path)})
    return out

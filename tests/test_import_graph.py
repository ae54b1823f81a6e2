"""The project's packages import each other without cycles, and each room only imports the rooms below it.

The graph is read from the source with ``ast`` (every ``import`` and ``from ... import``, also
those inside functions: a cycle hidden in a function is still a cycle), so it needs no imports
of the code itself. See ``docs/architecture.md`` section 2.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("data", "models", "playbooks", "components", "commands", "views")
# What a room must never import (docs/architecture.md section 2: views -> components -> models, playbooks -> data).
FORBIDDEN = {
    "data": ("models", "playbooks", "components", "commands", "views"),
    "models": ("playbooks", "components", "commands", "views"),
    "playbooks": ("components", "commands", "views"),
    "components": ("commands", "views"),
}
# Known exceptions, each with its reason; the list may only shrink.
EXCEPTIONS = {
    # the Spark engine hands its rows to the single-machine trainer as the trainer's own type
    # (a function-level import; being reworked on the Spark branch)
    ("data.engines.spark_metrics", "models.observations"),
    # ... and lays its observation dates with the trainer's own schedule (pure date rules, so both engines
    # observe the same dates; the parity test checks it)
    ("data.engines.spark_metrics", "models.history"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts:
                continue  # Alembic's scripts are run by Alembic, not imported by the rooms
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - (node.level - (path.name == "__init__.py"))]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)  # from package import submodule
    out = set()
    for target in names:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_detector_finds_a_cycle_and_a_clean_graph_has_none():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert len(graph) > 100
    assert "playbooks.definitions" in graph["playbooks.starter"]
    assert "models.registry" in graph["models.pipeline"]


def test_no_import_cycles_among_the_packages():
    found = cycles(import_graph())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_each_room_imports_only_the_rooms_below_it():
    wrong = sorted(f"{module} imports {target}" for module, targets in import_graph().items()
                   for target in targets if target.split(".")[0] in FORBIDDEN.get(module.split(".")[0], ())
                   and (module, target) not in EXCEPTIONS)
    assert wrong == []

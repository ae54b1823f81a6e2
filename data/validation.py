"""The validation report of an import: problems with counts and example rows.

Errors stop an import (nothing is written); warnings are shown and the import goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from data.errors import UserError

Severity = Literal["error", "warning"]


@dataclass
class Problem:
    """One kind of problem found in one table: how many rows, and a few of them.

    ``examples`` are dicts with ``row`` (1-based data row of the source, header not
    counted) and the offending values as text.
    """

    code: str
    severity: Severity
    count: int
    message: str
    table: str | None = None
    column: str | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "count": self.count, "message": self.message,
                "table": self.table, "column": self.column, "examples": self.examples}


@dataclass
class ValidationReport:
    """All problems of an import, errors first when printed."""

    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when nothing stops the import (warnings allowed)."""
        return not self.errors

    def codes(self) -> set[str]:
        return {p.code for p in self.problems}

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": dict(self.rows), "errors": len(self.errors), "warnings": len(self.warnings),
                "problems": [p.to_dict() for p in self.errors + self.warnings]}

    def to_text(self) -> str:
        if not self.problems:
            return "Validation passed: no problems found."
        head = (f"Validation found {len(self.errors)} error(s) and {len(self.warnings)} warning(s)."
                + (" Nothing was written." if not self.ok else ""))
        lines = [head]
        for p in self.errors + self.warnings:
            where = f"{p.table}.{p.column}" if p.table and p.column else (p.table or "")
            lines.append(f"  {p.severity.upper():7} [{p.code}] {where}: {p.message} ({p.count:,} row(s))"
                         if where else f"  {p.severity.upper():7} [{p.code}] {p.message} ({p.count:,} row(s))")
            for ex in p.examples:
                vals = ", ".join(f"{k}={v!r}" for k, v in ex.items() if k != "row")
                where_row = f"row {ex['row']}: " if ex.get("row") is not None else ""
                lines.append(f"           {where_row}{vals}")
        return "\n".join(lines)


class ImportValidationError(UserError):
    """Validation found errors; nothing was written. ``report`` has the details."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        first = report.errors[0].message if report.errors else "validation failed"
        super().__init__(f"Import stopped, nothing was written: {first} "
                         f"({len(report.errors)} error(s) in total; see the validation report).")

"""The validation report a person reads after an import (CLI text, JSON, the error message), exactly.

The import tests check which problems are found; these check what the report says about them:
errors before warnings, "Nothing was written." only when an error stopped the import, where each
problem is, its row count, and the example rows (the mutation target for ``data/validation.py``).
"""

from __future__ import annotations

import pytest

from data.errors import UserError
from data.validation import ImportValidationError, Problem, ValidationReport


def _report() -> ValidationReport:
    report = ValidationReport(rows={"accounts": 1200})
    report.add(Problem("future_date", "warning", 3, "dates after today", table="events", column="ts",
                       examples=[{"row": 7, "ts": "2031-01-01"}]))
    report.add(Problem("missing_id", "error", 1234, "account_id is empty", table="accounts", column="account_id",
                       examples=[{"row": 2, "account_id": ""}, {"row": None, "account_id": None, "name": "Acme"}]))
    report.add(Problem("no_table", "error", 1, "no accounts table", table="accounts"))
    report.add(Problem("mapping", "warning", 2, "unmapped columns"))
    return report


def test_errors_warnings_ok_and_codes():
    report = _report()
    assert [p.code for p in report.errors] == ["missing_id", "no_table"]
    assert [p.code for p in report.warnings] == ["future_date", "mapping"]
    assert report.ok is False
    assert report.codes() == {"future_date", "missing_id", "no_table", "mapping"}
    only_warnings = ValidationReport([Problem("mapping", "warning", 2, "unmapped columns")])
    assert only_warnings.ok is True and only_warnings.errors == [] and len(only_warnings.warnings) == 1
    assert ValidationReport().ok is True and ValidationReport().codes() == set()


def test_json_lists_errors_first_with_every_field():
    report = _report()
    data = report.to_dict()
    assert data["ok"] is False and data["rows"] == {"accounts": 1200}
    assert data["errors"] == 2 and data["warnings"] == 2
    assert [p["code"] for p in data["problems"]] == ["missing_id", "no_table", "future_date", "mapping"]
    assert data["problems"][0] == {"code": "missing_id", "severity": "error", "count": 1234,
                                   "message": "account_id is empty", "table": "accounts", "column": "account_id",
                                   "examples": [{"row": 2, "account_id": ""},
                                                {"row": None, "account_id": None, "name": "Acme"}]}
    assert data["problems"][3] == {"code": "mapping", "severity": "warning", "count": 2, "message": "unmapped columns",
                                   "table": None, "column": None, "examples": []}
    data["rows"]["accounts"] = 0  # a copy: the report is not changed through its JSON
    assert report.rows == {"accounts": 1200}
    assert ValidationReport().to_dict() == {"ok": True, "rows": {}, "errors": 0, "warnings": 0, "problems": []}


def test_text_report_says_where_how_many_and_shows_examples():
    assert _report().to_text().split("\n") == [
        "Validation found 2 error(s) and 2 warning(s). Nothing was written.",
        "  ERROR   [missing_id] accounts.account_id: account_id is empty (1,234 row(s))",
        "           row 2: account_id=''",
        "           account_id=None, name='Acme'",
        "  ERROR   [no_table] accounts: no accounts table (1 row(s))",
        "  WARNING [future_date] events.ts: dates after today (3 row(s))",
        "           row 7: ts='2031-01-01'",
        "  WARNING [mapping] unmapped columns (2 row(s))",
    ]


def test_text_report_without_errors_does_not_say_nothing_was_written():
    report = ValidationReport([Problem("future_date", "warning", 1, "dates after today", column="ts")])
    assert report.to_text().split("\n") == [
        "Validation found 0 error(s) and 1 warning(s).",
        "  WARNING [future_date] dates after today (1 row(s))",  # a column without a table names no place
    ]
    assert ValidationReport().to_text() == "Validation passed: no problems found."


def test_the_error_a_person_reads_names_the_first_error_and_the_count():
    report = _report()
    err = ImportValidationError(report)
    assert isinstance(err, UserError) and err.report is report
    assert str(err) == ("Import stopped, nothing was written: account_id is empty "
                        "(2 error(s) in total; see the validation report).")
    empty = ImportValidationError(ValidationReport())
    assert str(empty) == ("Import stopped, nothing was written: validation failed "
                          "(0 error(s) in total; see the validation report).")
    with pytest.raises(UserError, match="nothing was written: account_id is empty"):
        raise err

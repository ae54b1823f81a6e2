"""Column mappings from a source onto a canonical table, with automatic suggestions.

A :class:`Mapping` says which source column fills which canonical column
(``columns: {source: target}``), how to translate values (``values: {target: {text:
value}}``, e.g. ``Yes -> 1``), how to parse dates with an unusual format
(``formats: {target: "%d/%m/%Y"}``), which source columns to keep as custom account
attributes (``extra``), constants for canonical columns the source lacks
(``defaults``) and lookups that replace a code by a name from another file (``lookup``,
e.g. a numeric event-type id -> event type name). It is saved as YAML and reused by
the CLI (``--mapping FILE``) and the Data page.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from data.errors import UserError
from data.schema import CANONICAL_TABLES, EXTRA_TABLES

IMPORTABLE_TABLES: dict[str, list[tuple[str, str, bool]]] = {
    **CANONICAL_TABLES,
    "account_labels": EXTRA_TABLES["account_labels"],
}

_ACCOUNT = ["account_id", "accountid", "account", "customer_id", "customer", "client_id", "client", "company_id",
            "org_id", "organization_id", "organisation_id", "tenant_id", "cust_id", "acct_id", "account_number"]
_LABEL = ["label", "churn", "churned", "is_churned", "has_churned", "churn_flag", "churn_label", "exited", "attrition",
          "lost", "is_lost", "cancelled", "canceled"]

# table -> target column -> normalised source names, best first.
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "accounts": {
        "account_id": _ACCOUNT + ["id"],
        "name": ["name", "account_name", "customer_name", "company_name", "company", "organization", "org_name",
                 "client_name"],
        "segment": ["segment", "customer_segment", "tier", "size", "company_size"],
        "industry": ["industry", "vertical", "sector"],
        "region": ["region", "geo", "territory", "market", "country"],
        "plan": ["plan", "plan_name", "pricing_plan", "package", "edition", "subscription_plan"],
        "csm": ["csm", "csm_name", "owner", "account_owner", "success_manager", "customer_success_manager"],
        "created_at": ["created_at", "created", "created_date", "signup_date", "signup", "signed_up_at", "customer_since", "since",
                       "onboarded_at", "joined_at", "start_date"],
    },
    "subscriptions": {
        "account_id": _ACCOUNT,
        "product": ["product", "product_name", "sku", "plan"],
        "start_date": ["start_date", "start", "started_at", "period_start", "billing_period_start", "valid_from",
                       "subscription_start", "from"],
        "end_date": ["end_date", "end", "ended_at", "period_end", "billing_period_end", "canceled_at", "cancelled_at",
                     "valid_to", "subscription_end", "to"],
        "mrr": ["mrr", "monthly_recurring_revenue", "monthly_revenue", "revenue", "price", "amount"],
        "seats": ["seats", "licenses", "licences", "quantity", "users"],
        "billing_period": ["billing_period", "interval", "billing_interval", "billing_cycle", "period"],
        "renewal_date": ["renewal_date", "renews_at", "renewal", "next_renewal", "renewal_at"],
    },
    "events": {
        "account_id": _ACCOUNT,
        "event_time": ["event_time", "timestamp", "occurred_at", "event_timestamp", "time", "ts", "event_date",
                       "datetime", "date", "created_at", "day"],
        "event_type": ["event_type", "event", "event_name", "type", "action", "feature", "name"],
        "quantity": ["quantity", "count", "qty", "value", "n", "amount"],
        "user_id": ["user_id", "userid", "user", "member_id", "actor_id"],
    },
    "tickets": {
        "ticket_id": ["ticket_id", "id", "ticket", "case_id", "issue_id", "ticket_number"],
        "account_id": _ACCOUNT,
        "opened_at": ["opened_at", "created_at", "created", "opened", "open_date", "submitted_at"],
        "closed_at": ["closed_at", "resolved_at", "solved_at", "closed", "close_date"],
        "priority": ["priority", "severity", "urgency"],
        "csat": ["csat", "csat_score", "satisfaction", "rating"],
    },
    "nps": {
        "account_id": _ACCOUNT,
        "responded_at": ["responded_at", "response_date", "submitted_at", "survey_date", "date", "created_at",
                         "timestamp"],
        "score": ["score", "nps", "nps_score", "rating"],
        "comment": ["comment", "feedback", "verbatim", "text", "reason"],
    },
    "invoices": {
        "invoice_id": ["invoice_id", "id", "invoice", "invoice_number", "number"],
        "account_id": _ACCOUNT,
        "issued_at": ["issued_at", "invoice_date", "issue_date", "issued", "date", "created_at"],
        "due_at": ["due_at", "due_date", "due"],
        "paid_at": ["paid_at", "paid_date", "payment_date", "paid"],
        "amount": ["amount", "total", "amount_due", "value", "amount_paid"],
        "status": ["status", "state", "payment_status"],
    },
    "contacts": {
        "contact_id": ["contact_id", "id", "person_id"],
        "account_id": _ACCOUNT,
        "email": ["email", "email_address", "mail"],
        "role": ["role", "title", "job_title", "position"],
        "active_from": ["active_from", "start_date", "since", "created_at"],
        "active_to": ["active_to", "end_date", "until", "left_at", "deactivated_at"],
    },
    "account_labels": {"account_id": _ACCOUNT + ["id"], "label": _LABEL},
}

# Two-valued answers recognised as a boolean label, positive first.
BOOLEAN_PAIRS = [
    ("yes", "no"), ("true", "false"), ("1", "0"), ("y", "n"), ("t", "f"), ("1.0", "0.0"),
    ("churned", "active"), ("churned", "retained"), ("churn", "no churn"), ("lost", "won"), ("lost", "active"),
]


def normalise_name(name: str) -> str:
    """``customerID`` -> ``customer_id``; ``Event Time`` -> ``event_time``."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name).strip())
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


@dataclass
class Lookup:
    """Replace source ``column``'s codes by ``value`` from ``file`` where ``key`` matches."""

    column: str
    file: str
    key: str
    value: str

    def resolved_file(self, base_dir: str | Path | None) -> str:
        """The lookup file's path, which must lie inside ``base_dir`` (symlinks resolved).

        ``base_dir`` is the mapping file's folder on the command line and the workspace's
        upload folder on the Data page, so a mapping can never make the server read a file
        elsewhere (``/etc/...``, ``../../workspace/...``). A bare file name that is not in
        ``base_dir`` itself also matches the newest file of that name one folder down (the
        upload folder keeps each uploaded file in its own folder). Raises UserError.
        """
        if base_dir is None:
            raise UserError(f"The lookup file {self.file!r} cannot be read: lookups are read only from the "
                            "mapping file's folder (command line) or the upload folder (Data page).")
        base = Path(base_dir).resolve()
        given = Path(self.file)
        where = "the mapping file's folder or the upload folder"
        if given.is_absolute() or ".." in given.parts:
            raise UserError(f"The lookup file {self.file!r} is outside {where}; give a file name inside it, "
                            "without a folder above it or an absolute path.")
        candidate = (base / given).resolve()
        if not candidate.exists() and len(given.parts) == 1:
            found = sorted(base.glob(f"*/{glob.escape(given.name)}"), key=lambda f: f.stat().st_mtime, reverse=True)
            if found:
                candidate = found[0].resolve()
        if not candidate.is_relative_to(base):
            raise UserError(f"The lookup file {self.file!r} is outside {where} (it links elsewhere); copy the "
                            "file into the folder instead.")
        if not candidate.is_file():
            raise UserError(f"The lookup file {self.file!r} was not found in {where}; upload it (Data page) or "
                            "put it next to the mapping file.")
        return str(candidate)


@dataclass
class Mapping:
    """How one source fills one canonical table (see module docstring)."""

    table: str
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    lookup: list[Lookup] = field(default_factory=list)
    base_dir: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.table not in IMPORTABLE_TABLES:
            raise UserError(f"Unknown table {self.table!r}; choose one of {', '.join(IMPORTABLE_TABLES)}.")
        targets = target_columns(self.table)
        seen: dict[str, str] = {}
        for src, dst in self.columns.items():
            if dst not in targets:
                raise UserError(f"Column {src!r} is mapped to {dst!r}, which is not a column of {self.table}; "
                                f"choose one of {', '.join(targets)}.")
            if dst in seen:
                raise UserError(f"Both {seen[dst]!r} and {src!r} are mapped to {self.table}.{dst}; keep one.")
            seen[dst] = src
        for key in list(self.values) + list(self.formats) + list(self.defaults):
            if key not in targets:
                raise UserError(f"{key!r} in the mapping is not a column of {self.table}.")
        if self.extra and self.table != "accounts":
            raise UserError("Custom attribute columns ('extra') can only be kept on the accounts table.")

    @property
    def targets(self) -> dict[str, str]:
        """Canonical column -> source column."""
        return {dst: src for src, dst in self.columns.items()}

    def with_overrides(self, overrides: dict[str, str | None]) -> Mapping:
        """A copy where each ``source: target`` pair wins (target None or "" drops the column).

        A source column that becomes mapped stops being a custom attribute; another
        source column previously mapped to the same target is unmapped (and kept as a
        custom attribute on accounts).
        """
        columns = dict(self.columns)
        extra = list(self.extra)
        for src, dst in overrides.items():
            columns.pop(src, None)
            if src in extra:
                extra.remove(src)
            if dst:
                for other, target in list(columns.items()):
                    if target == dst:
                        del columns[other]
                        if self.table == "accounts":
                            extra.append(other)
                columns[src] = dst
        return Mapping(self.table, columns, dict(self.values), dict(self.formats), extra, dict(self.defaults),
                       list(self.lookup), self.base_dir)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"table": self.table, "columns": dict(self.columns)}
        if self.values:
            out["values"] = {k: dict(v) for k, v in self.values.items()}
        if self.formats:
            out["formats"] = dict(self.formats)
        if self.extra:
            out["extra"] = list(self.extra)
        if self.defaults:
            out["defaults"] = dict(self.defaults)
        if self.lookup:
            out["lookup"] = [vars(lk).copy() for lk in self.lookup]
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_dict(cls, data: Any, base_dir: str | Path | None = None) -> Mapping:
        if not isinstance(data, dict) or "table" not in data:
            raise UserError("A mapping needs at least 'table:' and 'columns:' (source column: canonical column).")
        unknown = set(data) - {"table", "columns", "values", "formats", "extra", "defaults", "lookup"}
        if unknown:
            raise UserError(f"Unknown mapping keys: {', '.join(sorted(unknown))}.")
        lookups = data.get("lookup") or []
        if isinstance(lookups, dict):
            lookups = [lookups]
        try:
            lk = [Lookup(**{k: str(v) for k, v in item.items()}) for item in lookups]
        except TypeError:
            raise UserError("Each lookup needs exactly: column, file, key, value.") from None
        values = {str(t): {_value_key(k): v for k, v in (m or {}).items()}
                  for t, m in (data.get("values") or {}).items()}
        return cls(
            table=str(data["table"]),
            columns={str(k): str(v) for k, v in (data.get("columns") or {}).items()},
            values=values,
            formats={str(k): str(v) for k, v in (data.get("formats") or {}).items()},
            extra=[str(c) for c in (data.get("extra") or [])],
            defaults=dict(data.get("defaults") or {}),
            lookup=lk,
            base_dir=str(base_dir) if base_dir is not None else None,
        )

    @classmethod
    def from_yaml(cls, text: str, base_dir: str | Path | None = None) -> Mapping:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UserError(f"The mapping is not valid YAML ({str(exc).splitlines()[0]}).") from None
        return cls.from_dict(data, base_dir)

    @classmethod
    def load(cls, path: str | Path) -> Mapping:
        """Read a mapping file; lookup files are relative to the mapping file's folder."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"Cannot read mapping file {str(p)!r} ({exc.strerror}).") from None
        return cls.from_yaml(text, base_dir=p.parent)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml(), encoding="utf-8")


def _value_key(k: Any) -> str:
    if isinstance(k, bool):
        return "true" if k else "false"
    return str(k)


def target_columns(table: str) -> list[str]:
    return [c for c, _, _ in IMPORTABLE_TABLES[table]]


def suggest_mapping(source_columns: list[str], source_types: dict[str, str] | list[str] | None = None,
                    table: str = "accounts") -> Mapping:
    """Best-guess mapping of ``source_columns`` onto ``table`` by name, then by type.

    Names are normalised (case, camelCase, punctuation) and matched against
    :data:`SYNONYMS`. A required date/timestamp column still unmapped takes the only
    unmapped source column whose type is a date or timestamp. On ``accounts`` every
    other column is kept as a custom attribute.
    """
    if table not in IMPORTABLE_TABLES:
        raise UserError(f"Unknown table {table!r}; choose one of {', '.join(IMPORTABLE_TABLES)}.")
    if isinstance(source_types, list):
        source_types = dict(zip(source_columns, source_types, strict=False))
    types = {c: str(t).upper() for c, t in (source_types or {}).items()}
    norm = {c: normalise_name(c) for c in source_columns}
    chosen: dict[str, str] = {}  # source -> target
    used_targets: set[str] = set()
    for col in source_columns:  # exact canonical names first, so a synonym never steals them
        if norm[col] in SYNONYMS[table] and norm[col] not in used_targets:
            chosen[col] = norm[col]
            used_targets.add(norm[col])
    for target, names in SYNONYMS[table].items():
        if target in used_targets:
            continue
        best: tuple[int, str] | None = None
        for col in source_columns:
            if col in chosen:
                continue
            n = norm[col]
            rank = names.index(n) if n in names else (len(names) if n == target else None)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, col)
        if best is not None:
            chosen[best[1]] = target
            used_targets.add(target)
    for col, typ, nullable in IMPORTABLE_TABLES[table]:
        if col in used_targets or nullable or typ not in {"DATE", "TIMESTAMP"}:
            continue
        candidates = [c for c in source_columns if c not in chosen and types.get(c, "").startswith(("DATE", "TIMESTAMP"))]
        if len(candidates) == 1:
            chosen[candidates[0]] = col
            used_targets.add(col)
    extra = [c for c in source_columns if c not in chosen] if table == "accounts" else []
    return Mapping(table=table, columns=chosen, extra=extra)


def suggest_value_map(values: list[Any]) -> dict[str, int] | None:
    """A 1/0 map for two-valued answers such as Yes/No, true/false, Y/N; None if not recognised."""
    distinct = {str(v).strip().lower() for v in values if v is not None and str(v).strip() != ""}
    if not distinct:
        return None
    for pos, neg in BOOLEAN_PAIRS:
        if distinct <= {pos, neg}:
            return {pos: 1, neg: 0}
    return None

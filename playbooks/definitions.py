"""Playbook definitions: validation of steps and rules, and create / update / deactivate.

A playbook's ``steps`` is a list of dicts, one per action, in order:

* ``{"type": "task", "title": T, "due_days": 3, "description": T?}`` — a task for the
  run's assignee (the account's CSM unless someone else is named), due N days after start.
* ``{"type": "email", "to": "champion"|"admin"|"executive"|"user"|"csm"|"name@host",
  "subject": T, "body": T, "requires_confirmation": bool}`` — contact roles are
  customer-facing and always wait for a person's confirmation; ``csm`` mails the CSM.
* ``{"type": "webhook", "url": "https://...", "body": {JSON with T strings}, "timeout": 10}`` — the URL
  must resolve to public addresses unless its host is in ``CSAI_WEBHOOK_ALLOW_HOSTS``
  (``allow_hosts`` below; :mod:`playbooks.webhooks`).
* ``{"type": "alert", "to": "csm"|"user:NAME"|"role:ROLE", "message": T}``

``T`` is a sandboxed Jinja2 template (:mod:`playbooks.templates`). A ``rule`` (or
``None`` for manual-only) is a dict of criteria that must all hold: ``risk_bands``,
``min_p_churn``, ``top_driver_groups`` (one of the top three risk-raising drivers is in
one of these groups), ``segments``, ``max_days_to_renewal``, ``min_p_expansion``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from data.opstore import audit, now
from data.vocabulary import CONTACT_ROLES, METRIC_GROUPS, RISK_BANDS, ROLES
from playbooks.errors import PlaybookError
from playbooks.store import playbooks as playbooks_table
from playbooks.templates import check_json_templates, check_template
from playbooks.webhooks import check_url

STEP_TYPES = ("task", "email", "webhook", "alert")
RULE_KEYS = ("risk_bands", "min_p_churn", "top_driver_groups", "segments", "max_days_to_renewal", "min_p_expansion")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL_RE = re.compile(r"^https?://[^\s/]+(/\S*)?$")


@dataclass(frozen=True)
class Playbook:
    """One playbook definition as stored (JSON fields decoded)."""

    id: int
    key: str
    name: str
    purpose: str
    driver_groups: list[str]
    rule: dict | None
    steps: list[dict]
    cooldown_days: int
    holdout_pct: float
    horizon_days: int
    resources: list[str] = field(default_factory=list)
    active: bool = True
    starter: bool = False
    created_by: str = ""
    updated_by: str = ""
    created_at: Any = None
    updated_at: Any = None

    @property
    def is_rule(self) -> bool:
        return bool(self.rule)


def _row_to_playbook(row) -> Playbook:
    m = row._mapping
    return Playbook(
        id=m["id"], key=m["key"], name=m["name"], purpose=m["purpose"] or "",
        driver_groups=json.loads(m["driver_groups"] or "[]"), rule=json.loads(m["rule"]) if m["rule"] else None,
        steps=json.loads(m["steps"] or "[]"), cooldown_days=int(m["cooldown_days"]),
        holdout_pct=float(m["holdout_pct"]), horizon_days=int(m["horizon_days"]),
        resources=json.loads(m["resources"] or "[]"), active=bool(m["active"]), starter=bool(m["starter"]),
        created_by=m["created_by"], updated_by=m["updated_by"], created_at=m["created_at"], updated_at=m["updated_at"],
    )


# ------------------------------------------------------------------ validation
def _text(step: dict, name: str, where: str, *, required: bool = True, max_len: int = 20_000) -> str | None:
    value = step.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise PlaybookError(f"{where}: '{name}' is missing; fill it in.")
        return None
    if not isinstance(value, str):
        raise PlaybookError(f"{where}: '{name}' must be text.")
    if len(value) > max_len:
        raise PlaybookError(f"{where}: '{name}' is longer than {max_len} characters; shorten it.")
    check_template(value, f"{where} {name}")
    return value


def validate_step(step: dict, position: int, allow_hosts: tuple[str, ...] = ()) -> dict:
    """Return a clean copy of one step, or raise :class:`PlaybookError` saying what to fix.

    ``allow_hosts`` is ``settings.webhook_allow_hosts``: hosts a webhook may call on a private address.
    """
    where = f"Step {position + 1}"
    if not isinstance(step, dict):
        raise PlaybookError(f"{where}: each step must be an object with a 'type'.")
    kind = step.get("type")
    if kind not in STEP_TYPES:
        raise PlaybookError(f"{where}: type {kind!r} is unknown; use one of {', '.join(STEP_TYPES)}.")
    where = f"Step {position + 1} ({kind})"
    out: dict[str, Any] = {"type": kind}
    if kind == "task":
        out["title"] = _text(step, "title", where, max_len=500)
        desc = _text(step, "description", where, required=False)
        if desc:
            out["description"] = desc
        due = step.get("due_days", 3)
        if isinstance(due, bool) or not isinstance(due, int) or not 0 <= due <= 365:
            raise PlaybookError(f"{where}: 'due_days' must be a whole number of days between 0 and 365.")
        out["due_days"] = due
    elif kind == "email":
        to = step.get("to")
        if not isinstance(to, str) or not (to in CONTACT_ROLES or to == "csm" or EMAIL_RE.match(to)):
            raise PlaybookError(f"{where}: 'to' must be a contact role ({', '.join(CONTACT_ROLES)}), 'csm' "
                                "or an email address.")
        out["to"] = to
        out["subject"] = _text(step, "subject", where, max_len=500)
        out["body"] = _text(step, "body", where)
        customer_facing = to in CONTACT_ROLES
        confirm = step.get("requires_confirmation", customer_facing)
        if not isinstance(confirm, bool):
            raise PlaybookError(f"{where}: 'requires_confirmation' must be true or false.")
        if customer_facing and not confirm:
            raise PlaybookError(f"{where}: emails to a customer contact ({to}) are sent only after a person "
                                "confirms them; set requires_confirmation to true.")
        out["requires_confirmation"] = confirm
    elif kind == "webhook":
        url = step.get("url")
        if not isinstance(url, str) or not URL_RE.match(url.strip()):
            raise PlaybookError(f"{where}: 'url' must start with http:// or https://.")
        out["url"] = check_url(url, allow_hosts, f"{where} url")
        body = step.get("body", {})
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except json.JSONDecodeError as exc:
                raise PlaybookError(f"{where}: 'body' is not valid JSON ({exc.msg} at character {exc.pos}).") from None
        if not isinstance(body, dict | list):
            raise PlaybookError(f"{where}: 'body' must be a JSON object or list.")
        check_json_templates(body, f"{where} body")
        out["body"] = body
        timeout = step.get("timeout", 10)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0.5 <= timeout <= 60:
            raise PlaybookError(f"{where}: 'timeout' must be between 0.5 and 60 seconds.")
        out["timeout"] = float(timeout)
    elif kind == "alert":
        to = step.get("to", "csm")
        ok = isinstance(to, str) and (to == "csm" or (to.startswith("user:") and len(to) > 5)
                                       or (to.startswith("role:") and to[5:] in ROLES))
        if not ok:
            raise PlaybookError(f"{where}: 'to' must be 'csm', 'user:USERNAME' or 'role:' followed by one of "
                                f"{', '.join(ROLES)}.")
        out["to"] = to
        out["message"] = _text(step, "message", where, max_len=2000)
    return out


def validate_steps(steps: list[dict] | str, allow_hosts: tuple[str, ...] = ()) -> list[dict]:
    """Validate a step list (or its JSON text); at least one step, at most 20."""
    if isinstance(steps, str):
        try:
            steps = json.loads(steps)
        except json.JSONDecodeError as exc:
            raise PlaybookError(f"The steps are not valid JSON ({exc.msg} at character {exc.pos}).") from None
    if not isinstance(steps, list) or not steps:
        raise PlaybookError("A playbook needs at least one step (task, email, webhook or alert).")
    if len(steps) > 20:
        raise PlaybookError("A playbook can have at most 20 steps; split it into two playbooks.")
    return [validate_step(s, i, allow_hosts) for i, s in enumerate(steps)]


def _prob(rule: dict, name: str) -> float | None:
    v = rule.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
        raise PlaybookError(f"Rule: '{name}' must be a probability between 0 and 1 (e.g. 0.3 for 30 %).")
    return float(v)


def _choices(rule: dict, name: str, allowed: tuple[str, ...] | None) -> list[str] | None:
    v = rule.get(name)
    if v is None or v == []:
        return None
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise PlaybookError(f"Rule: '{name}' must be a list of names.")
    if allowed is not None:
        bad = [x for x in v if x not in allowed]
        if bad:
            raise PlaybookError(f"Rule: {', '.join(bad)} in '{name}' is not one of {', '.join(allowed)}.")
    return list(dict.fromkeys(v))


def validate_rule(rule: dict | str | None) -> dict | None:
    """Validate a rule (or its JSON text); ``None`` or ``{}`` means manual trigger only."""
    if rule is None or rule == "" or rule == {}:
        return None
    if isinstance(rule, str):
        try:
            rule = json.loads(rule)
        except json.JSONDecodeError as exc:
            raise PlaybookError(f"The rule is not valid JSON ({exc.msg}).") from None
        if not rule:
            return None
    if not isinstance(rule, dict):
        raise PlaybookError("The rule must be an object of criteria.")
    unknown = sorted(set(rule) - set(RULE_KEYS))
    if unknown:
        raise PlaybookError(f"Rule: {', '.join(unknown)} is not a criterion; use {', '.join(RULE_KEYS)}.")
    out: dict[str, Any] = {}
    for name, allowed in (("risk_bands", RISK_BANDS), ("top_driver_groups", METRIC_GROUPS), ("segments", None)):
        v = _choices(rule, name, allowed)
        if v is not None:
            out[name] = v
    for name in ("min_p_churn", "min_p_expansion"):
        v = _prob(rule, name)
        if v is not None:
            out[name] = v
    days = rule.get("max_days_to_renewal")
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 730:
            raise PlaybookError("Rule: 'max_days_to_renewal' must be a whole number of days between 0 and 730.")
        out["max_days_to_renewal"] = days
    if not out:
        return None
    return out


def _validate_fields(fields: dict, allow_hosts: tuple[str, ...] = ()) -> dict:
    out: dict[str, Any] = {}
    if "name" in fields:
        name = (fields["name"] or "").strip()
        if not name or len(name) > 200:
            raise PlaybookError("Give the playbook a name (at most 200 characters).")
        out["name"] = name
    if "purpose" in fields:
        out["purpose"] = (fields["purpose"] or "").strip()
    if "driver_groups" in fields:
        groups = _choices({"g": fields["driver_groups"] or []}, "g", METRIC_GROUPS) or []
        out["driver_groups"] = json.dumps(groups)
    if "rule" in fields:
        rule = validate_rule(fields["rule"])
        out["rule"] = json.dumps(rule, sort_keys=True) if rule else None
    if "steps" in fields:
        out["steps"] = json.dumps(validate_steps(fields["steps"], allow_hosts))
    for name, low, high in (("cooldown_days", 0, 3650), ("horizon_days", 7, 730)):
        if name in fields:
            v = fields[name]
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                raise PlaybookError(f"'{name}' must be a whole number of days between {low} and {high}.")
            out[name] = v
    if "holdout_pct" in fields:
        v = fields["holdout_pct"]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 90:
            raise PlaybookError("The holdout percentage must be between 0 and 90.")
        out["holdout_pct"] = float(v)
    if "resources" in fields:
        res = fields["resources"] or []
        if not isinstance(res, list) or not all(isinstance(r, str) for r in res):
            raise PlaybookError("Resources must be a list of resource names.")
        out["resources"] = json.dumps(res)
    if "active" in fields:
        out["active"] = bool(fields["active"])
    return out


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:80] or "playbook"


EDITABLE = ("name", "purpose", "driver_groups", "rule", "steps", "cooldown_days", "holdout_pct", "horizon_days",
            "resources", "active")


KEY_RE = re.compile(r"^[a-z0-9_]{1,80}$")


def validate_definition(fields: dict, allow_hosts: tuple[str, ...] = ()) -> None:
    """Check a whole definition (e.g. one YAML file) the way the form is checked, without storing it.

    ``fields`` holds ``name`` and ``steps`` and any of :data:`EDITABLE` plus ``key``.
    """
    if not isinstance(fields, dict):
        raise PlaybookError("A playbook must be a mapping of fields (name, steps, rule, ...).")
    unknown = sorted(set(fields) - set(EDITABLE) - {"key"})
    if unknown:
        raise PlaybookError(f"{', '.join(map(str, unknown))} is not a playbook field; use key, "
                            f"{', '.join(EDITABLE)}.")
    for name in ("name", "steps"):
        if name not in fields:
            raise PlaybookError(f"'{name}' is missing; every playbook needs a name and steps.")
    for name in ("name", "purpose"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise PlaybookError(f"'{name}' must be text.")
    key = fields.get("key")
    if key is not None and not (isinstance(key, str) and KEY_RE.match(key)):
        raise PlaybookError("'key' must be 1 to 80 lower-case letters, digits or underscores.")
    _validate_fields(fields, allow_hosts)


# ------------------------------------------------------------------ CRUD
def create_playbook(engine: sa.Engine, actor: str, *, name: str, steps: list[dict] | str, purpose: str = "",
                    driver_groups: list[str] | None = None, rule: dict | str | None = None, cooldown_days: int = 30,
                    holdout_pct: float = 20.0, horizon_days: int = 90, resources: list[str] | None = None,
                    active: bool = True, key: str | None = None, starter: bool = False,
                    allow_hosts: tuple[str, ...] = (), audited: bool = True) -> Playbook:
    """Validate and store a new playbook; a duplicate name raises :class:`PlaybookError`. Audited
    (``audited=False`` only for the rows a new workspace starts with, written before anyone acts).

    Pass ``allow_hosts=settings.webhook_allow_hosts`` so webhooks to listed internal hosts are accepted.
    """
    values = _validate_fields({
        "name": name, "purpose": purpose, "driver_groups": driver_groups or [], "rule": rule, "steps": steps,
        "cooldown_days": cooldown_days, "holdout_pct": holdout_pct, "horizon_days": horizon_days,
        "resources": resources or [], "active": active,
    }, allow_hosts)
    ts = now()
    values.update(key=key or _slug(values["name"]), starter=starter, created_at=ts, created_by=actor,
                  updated_at=ts, updated_by=actor)
    try:
        with engine.begin() as conn:
            pid = conn.execute(playbooks_table.insert().values(**values)).inserted_primary_key[0]
            if audited:
                audit(conn, actor, "playbook.create", f"playbook:{pid}", name=values["name"])
    except sa.exc.IntegrityError:
        raise PlaybookError(f"A playbook named {values['name']!r} already exists; choose another name.") from None
    return get_playbook(engine, pid)


def update_playbook(engine: sa.Engine, playbook_id: int, actor: str, *, allow_hosts: tuple[str, ...] = (),
                    **changes: Any) -> Playbook:
    """Change some fields (any of :data:`EDITABLE`); runs already started keep their steps. Audited.

    ``allow_hosts`` as for :func:`create_playbook`.
    """
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise PlaybookError(f"{', '.join(unknown)} cannot be edited.")
    get_playbook(engine, playbook_id)
    values = _validate_fields(changes, allow_hosts)
    values.update(updated_at=now(), updated_by=actor)
    try:
        with engine.begin() as conn:
            conn.execute(playbooks_table.update().where(playbooks_table.c.id == playbook_id).values(**values))
            audit(conn, actor, "playbook.update", f"playbook:{playbook_id}", fields=sorted(changes))
    except sa.exc.IntegrityError:
        raise PlaybookError(f"A playbook named {changes.get('name')!r} already exists; choose another name.") from None
    return get_playbook(engine, playbook_id)


def set_active(engine: sa.Engine, playbook_id: int, actor: str, active: bool) -> Playbook:
    """Activate or deactivate a playbook (inactive ones are not triggered by rules or forms). Audited."""
    get_playbook(engine, playbook_id)
    with engine.begin() as conn:
        conn.execute(playbooks_table.update().where(playbooks_table.c.id == playbook_id)
                     .values(active=active, updated_at=now(), updated_by=actor))
        audit(conn, actor, "playbook.activate" if active else "playbook.deactivate", f"playbook:{playbook_id}")
    return get_playbook(engine, playbook_id)


def deactivate_playbook(engine: sa.Engine, playbook_id: int, actor: str) -> Playbook:
    """Stop a playbook from being triggered; its runs and outcomes stay."""
    return set_active(engine, playbook_id, actor, False)


def get_playbook(engine: sa.Engine, playbook_id: int) -> Playbook:
    with engine.connect() as conn:
        row = conn.execute(sa.select(playbooks_table).where(playbooks_table.c.id == playbook_id)).first()
    if row is None:
        raise PlaybookError(f"Playbook {playbook_id} does not exist; pick one from the library.")
    return _row_to_playbook(row)


def get_playbook_by_key(engine: sa.Engine, key: str) -> Playbook | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(playbooks_table).where(playbooks_table.c.key == key)).first()
    return _row_to_playbook(row) if row else None


def list_playbooks(engine: sa.Engine, *, include_inactive: bool = False) -> list[Playbook]:
    """Playbooks by name. A read only: the starter playbooks are seeded when the workspace's store is
    created (:data:`data.opstore.SEEDERS`), or by :func:`playbooks.starter.ensure_starter_playbooks`."""
    q = sa.select(playbooks_table).order_by(playbooks_table.c.name)
    if not include_inactive:
        q = q.where(playbooks_table.c.active.is_(True))
    with engine.connect() as conn:
        return [_row_to_playbook(r) for r in conn.execute(q)]

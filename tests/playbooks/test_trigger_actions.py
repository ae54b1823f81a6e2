"""What starting a playbook does, to the row: the counts a rule pass reports, the reasons a person reads
when a start is refused, and the runs and audit rows each start writes (SQLite operational store).

Written against the mutation survivors of ``run_rules``, ``trigger_manual`` and ``trigger_bulk``
(``make mutation MODULES=playbooks/triggers.py``): each test pins an exact outcome, not just "something ran".
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from data.access import SYSTEM, NotInBook, Viewer
from data.contacts import add_contact
from data.opstore import now, read_audit
from playbooks import (
    PlaybookError,
    cancel_run,
    deactivate_playbook,
    get_run,
    list_runs,
    run_rules,
    trigger_bulk,
    trigger_manual,
    triggers,
)
from playbooks.holdout import draw_holdout
from playbooks.store import runs, steps, tasks
from tests.support.workspaces import TASK_AND_EMAIL, build_workspace, count_rows, new_playbook

T0 = datetime(2026, 7, 1, 9, 0)  # naive UTC, as the operational store keeps it
MAYA = Viewer("maya", ("csm",), "Maya Patel")  # the uniform workspace: A0001, A0003, ... are Maya's, the rest Jonas's
MANAGER = Viewer("morgan", ("manager",))
ONE_TASK = [{"type": "task", "title": "Call {{ account.name }}", "due_days": 2}]
NO_DRIVER = ("Re-engage, step 2 (email): list object has no element 0; use only the placeholders account, "
             "contact, drivers, score, playbook, run and csm.")
COUNTS = ("eligible", "in_cooldown", "runs_created", "holdout", "already_enrolled", "skipped_no_recipient", "errors")


def _count(ws, table=runs) -> int:
    return count_rows(ws, table)


def _stats(**nonzero) -> dict:
    return {k: nonzero.get(k, 0) for k in COUNTS}


def _audit(ws, action: str) -> list[tuple[str, str | None, dict]]:
    return [(a["actor"], a["target"], json.loads(a["detail"]) if a["detail"] else None)
            for a in read_audit(ws.engine, action=action)]


def _enrolled(ws, pb, **kw) -> list[str]:
    return sorted(list_runs(ws.engine, SYSTEM, playbook_id=pb.id, **kw)["account_id"])


def _without_drivers(ws, ids: list[str]) -> None:
    """Scores stay, drivers go: a template naming ``drivers[0]`` cannot render for these accounts."""
    with ws.warehouse.writer("results") as con:
        con.execute("DELETE FROM score_drivers WHERE account_id IN (SELECT unnest(?))", [ids])


def _without_csm(ws, ids: list[str]) -> None:
    with ws.warehouse.writer("raw") as con:
        con.execute("UPDATE accounts SET csm = NULL WHERE account_id IN (SELECT unnest(?))", [ids])


# ------------------------------------------------------------------ rule passes
def test_no_rule_playbook_to_run_says_so_and_writes_nothing(ws):
    manual_only = new_playbook(ws)
    report = run_rules(ws.engine, ws.warehouse, playbook_ids=[manual_only.id], at=T0)
    assert report.messages == ["No active rule-triggered playbooks."]
    assert (report.runs_created, report.eligible, report.per_playbook) == (0, 0, {})
    assert _count(ws) == 0 and _audit(ws, "playbook.rules.run") == []


def test_without_scores_no_rule_enrolls_and_the_message_says_what_to_run(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=4, scores=False)
    pb = new_playbook(ws, rule={"risk_bands": ["high"]})
    report = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=T0)
    assert report.messages == ["No scores yet, so no rule can enroll anyone; run `cli.py score` first."]
    assert report.per_playbook == {} and _count(ws) == 0 and _audit(ws, "playbook.rules.run") == []


def test_only_the_chosen_playbooks_run_and_without_a_choice_every_active_rule_runs(ws):
    high = new_playbook(ws, name="High risk", rule={"risk_bands": ["high"]}, holdout_pct=0, steps=ONE_TASK)
    smb = new_playbook(ws, name="SMB", rule={"segments": ["SMB"]}, holdout_pct=0, steps=ONE_TASK)
    first = run_rules(ws.engine, ws.warehouse, playbook_ids=[smb.id], at=T0)
    assert list(first.per_playbook) == ["SMB"] and first.runs_created == 10
    assert _enrolled(ws, high) == []
    everything = run_rules(ws.engine, ws.warehouse, at=T0 + timedelta(hours=1))
    # the starter playbooks are active rules too; "Usage drop" matches these high-risk, Usage-driven accounts
    assert {"High risk", "SMB", "Usage drop: re-engage"} <= set(everything.per_playbook)
    assert everything.per_playbook["High risk"]["runs_created"] == 20
    assert everything.per_playbook["SMB"] == _stats(eligible=10, in_cooldown=10)
    assert len(_enrolled(ws, high)) == 20


def test_a_rule_pass_counts_cooldown_cancelled_runs_and_empty_playbooks_exactly(ws):
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, cooldown_days=30, holdout_pct=0)
    empty = new_playbook(ws, name="Low risk", rule={"risk_bands": ["low"]}, holdout_pct=0)
    for account_id in ("A0001", "A0002", "A0003", "A0004"):
        trigger_manual(ws.engine, ws.warehouse, pb.id, account_id, actor="maya", at=T0)
    cancelled = list_runs(ws.engine, SYSTEM, account_id="A0004")["id"].iloc[0]
    cancel_run(ws.engine, MANAGER, int(cancelled))  # a cancelled run does not hold the account back
    report = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id, empty.id], at=T0 + timedelta(days=1),
                       actor="nightly")
    assert report.per_playbook == {"Re-engage": _stats(eligible=20, in_cooldown=3, runs_created=17),
                                   "Low risk": _stats()}
    assert [getattr(report, k) for k in COUNTS] == [20, 3, 17, 0, 0, 0, 0]
    assert (report.steps_delivered, report.steps_failed) == (17, 0)  # one task each; the emails wait for a person
    assert report.messages == []
    rule_runs = list_runs(ws.engine, SYSTEM, playbook_id=pb.id, trigger_type="rule")
    assert sorted(rule_runs["account_id"]) == [f"A{i:04d}" for i in range(4, 21)]
    assert set(rule_runs["triggered_by"]) == {"nightly"} and set(rule_runs["started_at"]) == {T0 + timedelta(days=1)}
    assert _audit(ws, "playbook.rules.run") == [
        ("nightly", None, {"eligible": 20, "holdout": 0, "in_cooldown": 3, "runs_created": 17})]


def test_the_cooldown_ends_exactly_cooldown_days_after_the_last_run(ws):
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, cooldown_days=10, holdout_pct=0, steps=ONE_TASK)
    assert run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=T0).runs_created == 20
    just_before = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=T0 + timedelta(days=10, seconds=-1))
    assert just_before.per_playbook["Re-engage"] == _stats(eligible=20, in_cooldown=20)
    on_the_day = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=T0 + timedelta(days=10))
    assert on_the_day.per_playbook["Re-engage"] == _stats(eligible=20, runs_created=20)
    assert _count(ws) == 40


def test_holdout_accounts_are_drawn_from_the_given_generator_recorded_and_never_actioned(ws, monkeypatch):
    monkeypatch.setattr(triggers, "RULE_BATCH", 7)  # three transactions: 7, 7 and 6 runs
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, holdout_pct=50, steps=ONE_TASK)
    flags = draw_holdout(20, 50, np.random.default_rng(11))
    expected_held = [f"A{i + 1:04d}" for i in range(20) if flags[i]]
    assert 0 < len(expected_held) < 20
    report = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=T0, rng=np.random.default_rng(11))
    held = len(expected_held)
    assert report.per_playbook["Re-engage"] == _stats(eligible=20, runs_created=20, holdout=held)
    assert (report.holdout, report.steps_delivered) == (held, 20 - held)
    assert _enrolled(ws, pb, holdout=True) == expected_held
    with ws.engine.connect() as conn:
        held_steps = conn.execute(sa.select(steps.c.status, steps.c.result).join(runs, runs.c.id == steps.c.run_id)
                                  .where(runs.c.holdout.is_(True))).all()
    assert set(held_steps) == {("skipped", "holdout: recorded, not actioned")} and len(held_steps) == held
    assert _count(ws, tasks) == 20 - held
    assert set(list_runs(ws.engine, SYSTEM, playbook_id=pb.id)["triggered_by"]) == {"rule"}
    assert _audit(ws, "playbook.rules.run") == [
        ("rule", None, {"eligible": 20, "holdout": held, "in_cooldown": 0, "runs_created": 20})]


def test_a_pass_whose_runs_only_wait_for_a_person_reports_nothing_delivered(ws):
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, holdout_pct=0, steps=TASK_AND_EMAIL[1:])
    report = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=T0)
    assert (report.runs_created, report.steps_delivered, report.steps_failed) == (20, 0, 0)
    with ws.engine.connect() as conn:
        assert set(conn.execute(sa.select(steps.c.status)).scalars()) == {"awaiting_confirmation"}


def test_accounts_nobody_can_act_for_are_skipped_and_counted(ws):
    _without_csm(ws, ["A0002", "A0005"])
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, holdout_pct=0,
                   steps=[{"type": "alert", "to": "csm", "message": "{{ account.name }} needs a call"}])
    report = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=T0)
    assert report.per_playbook["Re-engage"] == _stats(eligible=20, runs_created=18, skipped_no_recipient=2)
    assert report.skipped_no_recipient == 2 and report.steps_delivered == 18
    assert "A0002" not in _enrolled(ws, pb) and "A0005" not in _enrolled(ws, pb)


def test_template_errors_are_counted_and_the_first_twenty_are_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(triggers, "RULE_BATCH", 10)  # the errors arrive in three transactions
    ws = build_workspace(tmp_path / "ws", n=25)
    broken = [f"A{i:04d}" for i in range(1, 23)]
    _without_drivers(ws, broken)
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, holdout_pct=0)
    report = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=T0)
    assert report.per_playbook["Re-engage"] == _stats(eligible=25, runs_created=3, errors=22)
    assert (report.errors, report.already_enrolled) == (22, 0)
    assert report.messages == [f"Re-engage, {a}: {NO_DRIVER}" for a in broken[:20]]
    assert _enrolled(ws, pb) == ["A0023", "A0024", "A0025"]


def test_an_account_another_writer_enrolled_meanwhile_counts_as_already_enrolled(ws, monkeypatch):
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, holdout_pct=0, steps=ONE_TASK)
    read_contexts = triggers.account_contexts

    def another_tab_starts_a0001_meanwhile(warehouse, account_ids):
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", at=T0)
        return read_contexts(warehouse, account_ids)

    monkeypatch.setattr(triggers, "account_contexts", another_tab_starts_a0001_meanwhile)
    report = run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=T0)
    assert report.per_playbook["Re-engage"] == _stats(eligible=20, runs_created=19, already_enrolled=1)
    assert report.already_enrolled == 1 and report.steps_delivered == 19
    assert list_runs(ws.engine, SYSTEM, account_id="A0001")["trigger_type"].tolist() == ["manual"]


# ------------------------------------------------------------------ starting by hand
def test_manual_start_of_an_unknown_account_or_a_deactivated_playbook_is_refused_in_words(ws):
    pb = new_playbook(ws)
    with pytest.raises(PlaybookError) as unknown:
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A9999", actor="maya")
    assert str(unknown.value) == "Account A9999 does not exist."
    deactivate_playbook(ws.engine, pb.id, "manager")
    with pytest.raises(PlaybookError) as off:
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya")
    assert str(off.value) == "Playbook 'Re-engage' is deactivated; activate it in the library first."
    assert _count(ws) == 0 and _count(ws, steps) == 0 and _audit(ws, "playbook.run.create") == []


def test_a_csm_starts_only_in_their_own_book(ws):
    pb = new_playbook(ws)
    with pytest.raises(NotInBook) as other:
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0002", actor="maya", viewer=MAYA)
    assert str(other.value) == "Account A0002 is not in your book."
    assert _count(ws) == 0
    own = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0003", actor="maya", viewer=MAYA)
    anyone = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0002", actor="morgan", viewer=MANAGER)
    assert (own.account_id, own.created, anyone.account_id, anyone.created) == ("A0003", True, "A0002", True)


def test_manual_start_records_assignee_note_time_and_skipped_steps(ws):
    pb = new_playbook(ws)
    run = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", assignee="Jonas Weber",
                         note="spoke at QBR", at=T0, skip_steps={1})
    assert (run.created, run.assignee, run.note, run.started_at, run.triggered_by) == (
        True, "Jonas Weber", "spoke at QBR", T0, "maya")
    detail = get_run(ws.engine, SYSTEM, run.id)
    assert [(s["kind"], s["status"], s["result"]) for s in detail.steps] == [
        ("task", "delivered", f"task {detail.steps[0]['result'].split()[1]} created"),
        ("email", "skipped", "skipped by maya before starting")]
    assert detail.steps[0]["payload"]["assignee"] == "Jonas Weber"
    blank = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0003", actor="maya", assignee="", at=T0)
    assert blank.assignee == "Maya Patel"  # no assignee chosen: the account's CSM
    assert _audit(ws, "playbook.run.create")[-1] == (
        "maya", f"run:{run.id}", {"account_id": "A0001", "holdout": False, "playbook_id": pb.id, "trigger": "manual"})


def test_manual_start_writes_to_a_contact_added_in_the_app(ws):
    pb = new_playbook(ws)
    add_contact(ws.engine, "A0001", "maya", "sam.exec@company0.example", "champion")
    run = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", at=T0)
    email = get_run(ws.engine, SYSTEM, run.id).steps[1]
    assert (email["kind"], email["payload"]["to"], email["payload"]["body"]) == (
        "email", "sam.exec@company0.example", "Hi Sam Exec, Weekly active users fell 45% vs the previous 60 days.")


def test_manual_start_dedupes_within_the_cooldown_and_starts_again_after_it(ws):
    pb = new_playbook(ws, cooldown_days=30)
    first = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", at=T0)
    inside = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", at=T0 + timedelta(days=29))
    after = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", at=T0 + timedelta(days=31))
    assert (first.created, inside.created, after.created) == (True, False, True)
    assert inside.id == first.id and after.id != first.id and after.started_at == T0 + timedelta(days=31)


def test_a_playbook_without_cooldown_still_dedupes_a_double_click_for_a_day(ws):
    pb = new_playbook(ws, cooldown_days=0)
    first = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", at=T0)
    same_day = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", at=T0 + timedelta(hours=23))
    next_day = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", at=T0 + timedelta(hours=25))
    assert (first.created, same_day.created, next_day.created) == (True, False, True)
    assert same_day.id == first.id and _count(ws) == 2


def test_a_form_submission_key_returns_its_run_even_after_the_cooldown(ws):
    pb = new_playbook(ws, cooldown_days=1)
    first = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", idempotency_key="form-1", at=T0)
    resubmitted = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", idempotency_key="form-1",
                                 at=T0 + timedelta(days=3))
    new_form = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", idempotency_key="form-2",
                              at=T0 + timedelta(days=3))
    assert (resubmitted.id, resubmitted.created) == (first.id, False)
    assert new_form.created and new_form.id != first.id
    with ws.engine.connect() as conn:
        keys = conn.execute(sa.select(runs.c.request_key).order_by(runs.c.id)).scalars().all()
    assert keys == ["manual:form-1", "manual:form-2"]


def test_without_a_submission_key_a_later_start_is_a_new_run(ws):
    pb = new_playbook(ws, cooldown_days=1)
    first = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", at=T0)
    later = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya", at=T0 + timedelta(days=3))
    assert first.created and later.created and later.id != first.id
    with ws.engine.connect() as conn:
        assert conn.execute(sa.select(runs.c.request_key)).scalars().all() == [None, None]


def test_manual_start_for_a_holdout_account_says_until_when_and_writes_nothing(ws):
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, holdout_pct=90, cooldown_days=30)
    run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], at=T0, rng=np.random.default_rng(5))
    held = _enrolled(ws, pb, holdout=True)
    assert held
    before = (_count(ws), _count(ws, steps), len(read_audit(ws.engine)))
    with pytest.raises(PlaybookError) as refused:
        trigger_manual(ws.engine, ws.warehouse, pb.id, held[0], actor="maya", at=T0 + timedelta(days=2))
    name = f"Company {int(held[0][1:])}"
    assert str(refused.value) == (f"{name} is in the holdout group of 'Re-engage' until 2026-07-31, so the "
                                  "playbook's effect can be measured; choose another playbook.")
    assert (_count(ws), _count(ws, steps), len(read_audit(ws.engine))) == before


# ------------------------------------------------------------------ starting for many
def test_bulk_start_counts_started_existing_and_refused_with_the_reasons_a_person_reads(ws):
    pb = new_playbook(ws)
    _without_drivers(ws, ["A0005"])
    earlier = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0007", actor="maya")
    chosen = ["A0001", "A0003", "A0001", "A0002", "NOPE", "A0005", "A0007"]
    result = trigger_bulk(ws.engine, ws.warehouse, pb.id, chosen, actor="maya", viewer=MAYA,
                          assignee="Lee Chen", note="renewal push")
    assert [(r.account_id, r.assignee, r.note) for r in result.created] == [
        ("A0001", "Lee Chen", "renewal push"), ("A0003", "Lee Chen", "renewal push")]
    assert {r.trigger_type for r in result.created} == {"manual"} and [r.id for r in result.existing] == [earlier.id]
    assert result.errors == {"A0002": "Account A0002 is not in your book.", "NOPE": "account does not exist",
                             "A0005": NO_DRIVER}
    assert _enrolled(ws, pb) == ["A0001", "A0003", "A0007"]
    assert _audit(ws, "playbook.bulk_trigger") == [
        ("maya", f"playbook:{pb.id}", {"accounts": 7, "created": 2, "errors": 3, "existing": 1})]


def test_bulk_start_refuses_holdout_accounts_by_name_of_the_playbook(ws):
    pb = new_playbook(ws, rule={"risk_bands": ["high"]}, holdout_pct=90)
    run_rules(ws.engine, ws.warehouse, playbook_ids=[pb.id], rng=np.random.default_rng(5))  # now: a bulk start has no ``at``
    held = _enrolled(ws, pb, holdout=True)
    treated = _enrolled(ws, pb, holdout=False)
    assert held and treated
    result = trigger_bulk(ws.engine, ws.warehouse, pb.id, [held[0], treated[0]], actor="morgan", viewer=MANAGER)
    assert result.errors == {held[0]: "in the holdout group of 'Re-engage'"}
    assert (result.created, [r.account_id for r in result.existing]) == ([], [treated[0]])


def test_bulk_start_keeps_one_submission_key_per_account_and_none_without_a_key(ws):
    pb = new_playbook(ws, cooldown_days=1)
    first = trigger_bulk(ws.engine, ws.warehouse, pb.id, ["A0001", "A0003"], actor="maya", idempotency_key="b-1")
    assert [r.account_id for r in first.created] == ["A0001", "A0003"]
    with ws.engine.connect() as conn:
        keys = conn.execute(sa.select(runs.c.request_key).order_by(runs.c.id)).scalars().all()
    assert keys == ["bulk:b-1:A0001", "bulk:b-1:A0003"]
    unkeyed = trigger_bulk(ws.engine, ws.warehouse, pb.id, ["A0005"], actor="maya")
    assert [r.account_id for r in unkeyed.created] == ["A0005"]
    with ws.engine.connect() as conn:
        assert conn.execute(sa.select(runs.c.request_key).where(runs.c.account_id == "A0005")).scalar_one() is None


def test_bulk_start_without_cooldown_dedupes_for_one_day(ws):
    pb = new_playbook(ws, cooldown_days=0)
    two_days_ago = trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya",
                                  at=now() - timedelta(hours=36))
    first = trigger_bulk(ws.engine, ws.warehouse, pb.id, ["A0001", "A0003"], actor="maya")
    again = trigger_bulk(ws.engine, ws.warehouse, pb.id, ["A0001", "A0003"], actor="maya")
    assert [r.account_id for r in first.created] == ["A0001", "A0003"]  # 36 hours is past the one-day minimum
    assert two_days_ago.id not in {r.id for r in first.created}
    assert (again.created, sorted(r.id for r in again.existing)) == ([], sorted(r.id for r in first.created))


def test_rule_passes_and_bulk_starts_write_to_the_contacts_people_edited_in_the_app(ws):
    """As a manual start does: a champion deactivated on the Account page gets no email from a rule pass or a
    start for many, and a contact added there gets it instead."""
    from data.contacts import deactivate_contact

    # A0001's imported champion is deactivated and a new one added; A0002's is deactivated with no replacement
    deactivate_contact(ws.engine, "A0001", "C00000", "maya", email="anna.smith0@company0.example", role="champion")
    add_contact(ws.engine, "A0001", "maya", "sam.exec@company0.example", "champion")
    deactivate_contact(ws.engine, "A0002", "C00001", "jonas", email="anna.smith1@company1.example", role="champion")

    def emails_of(run_ids) -> dict[str, str]:
        out = {}
        for run_id in run_ids:
            run = get_run(ws.engine, SYSTEM, run_id)
            email = next(s for s in run.steps if s["kind"] == "email" or s["payload"].get("instead_of") == "email")
            out[run.account_id] = email["payload"].get("to") if email["kind"] == "email" else "task instead"
        return out

    rule_pb = new_playbook(ws, rule={"risk_bands": ["high"]})
    run_rules(ws.engine, ws.warehouse, playbook_ids=[rule_pb.id], at=T0)
    by_rule = emails_of(list_runs(ws.engine, SYSTEM, playbook_id=rule_pb.id)["id"])
    bulk_pb = new_playbook(ws, name="Check in")
    result = trigger_bulk(ws.engine, ws.warehouse, bulk_pb.id, ["A0001", "A0002", "A0003"], actor="morgan")
    by_bulk = emails_of([r.id for r in result.created])
    for started in (by_rule, by_bulk):
        assert started["A0001"] == "sam.exec@company0.example"
        assert started["A0002"] != "anna.smith1@company1.example"
        assert started["A0003"] == "anna.smith2@company2.example"  # untouched: the imported champion

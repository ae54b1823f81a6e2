"""Attack: after an import reassigns an account, its old CSM still lists and opens its playbook data.

Runs, outbox steps, tasks and alerts keep the CSM of the day they were made. They must be
scoped through the account's owner *now* (the warehouse), so the old CSM sees nothing of
them and the new CSM sees everything, on the pages and through the library.
"""

from __future__ import annotations

import pandas as pd
import pytest

import playbooks as pb
from cli import main as cli_main
from data import users as user_store
from data.access import SYSTEM, Viewer
from playbooks.definitions import PlaybookError, create_playbook
from tests.support.apptest import all_text, run_app
from tests.support.workspaces import build_workspace

MAYA = Viewer("maya", ("csm",), "Maya Patel")
JONAS = Viewer("jonas", ("csm",), "Jonas Weber")
STEPS = [
    {"type": "task", "title": "Rescue call with {{ account.name }}", "due_days": 2},
    {"type": "alert", "to": "csm", "message": "Rescue started for {{ account.name }} (to the CSM)"},
    {"type": "alert", "to": "role:csm", "message": "Rescue started for {{ account.name }} (to role csm)"},
    {"type": "email", "to": "champion", "subject": "Hello {{ contact.name }}", "body": "Payload of {{ account.name }}",
     "requires_confirmation": True},
]
ACCOUNT = "A0001"  # Company 1, Maya's until the re-import
SECRET_TEXT = "Payload of Company 1"


@pytest.fixture()
def reassigned(tmp_path, monkeypatch):
    """A run for Maya's account with a task, two alerts and an email awaiting confirmation; then the
    account is moved to Jonas by re-importing the accounts table with the CLI."""
    ws = build_workspace(tmp_path / "ws", n=6, scores=False)
    for name, role, csm in [("maya", "csm", "Maya Patel"), ("jonas", "csm", "Jonas Weber"),
                            ("boss", "manager", None)]:
        user_store.add_user(ws.settings.auth_file, name, role=role, password=f"{name}-password-1", csm=csm)
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    playbook = create_playbook(ws.engine, "boss", name="Rescue", steps=STEPS)
    run = pb.trigger_manual(ws.engine, ws.warehouse, playbook.id, ACCOUNT, actor="maya", viewer=MAYA)
    assert len(pb.my_tasks(ws.engine, MAYA, warehouse=ws.warehouse)) == 1
    # Before: the data is Maya's.
    assert pb.list_runs(ws.engine, MAYA, warehouse=ws.warehouse)["id"].tolist() == [run.id]
    assert len(pb.alerts_for(ws.engine, MAYA, warehouse=ws.warehouse)) == 2
    assert pb.list_runs(ws.engine, JONAS, warehouse=ws.warehouse).empty

    with ws.warehouse.reader() as con:
        accounts = con.execute("SELECT * FROM accounts ORDER BY account_id").df()
    accounts.loc[accounts["account_id"] == ACCOUNT, "csm"] = "Jonas Weber"
    source = tmp_path / "accounts.csv"
    accounts.to_csv(source, index=False)
    assert cli_main(["--workspace", str(ws.path), "import", "accounts", str(source), "--mode", "replace"]) == 0
    with ws.warehouse.reader() as con:
        assert con.execute("SELECT csm FROM accounts WHERE account_id = ?", [ACCOUNT]).fetchone()[0] == "Jonas Weber"
    return ws, run


def test_the_library_scopes_every_reader_by_the_current_owner(reassigned):
    ws, run = reassigned
    wh = ws.warehouse
    # The old CSM: nothing, through every reader.
    assert pb.list_runs(ws.engine, MAYA, warehouse=wh).empty
    with pytest.raises(PlaybookError, match="not in your book"):
        pb.get_run(ws.engine, MAYA, run.id, warehouse=wh)
    assert pb.list_outbox(ws.engine, viewer=MAYA, warehouse=wh).empty
    assert pb.my_tasks(ws.engine, MAYA, warehouse=wh).empty
    assert pb.tasks_for_account(ws.engine, MAYA, ACCOUNT, warehouse=wh).empty
    assert pb.alerts_for(ws.engine, MAYA, warehouse=wh).empty
    assert pb.unread_alert_count(ws.engine, MAYA, warehouse=wh) == 0
    # The new CSM: all of it.
    assert pb.list_runs(ws.engine, JONAS, warehouse=wh)["id"].tolist() == [run.id]
    detail = pb.get_run(ws.engine, JONAS, run.id, warehouse=wh)
    assert SECRET_TEXT in [s["payload"].get("body") for s in detail.steps]
    box = pb.list_outbox(ws.engine, viewer=JONAS, warehouse=wh)
    assert set(box["run_id"]) == {run.id} and len(box) == len(STEPS)
    assert pb.my_tasks(ws.engine, JONAS, warehouse=wh)["title"].tolist() == [
        "Rescue call with Company 1"]
    assert len(pb.tasks_for_account(ws.engine, JONAS, ACCOUNT, warehouse=wh)) == 1
    inbox = pb.alerts_for(ws.engine, JONAS, warehouse=wh)
    assert sorted(inbox["message"]) == ["Rescue started for Company 1 (to role csm)",
                                        "Rescue started for Company 1 (to the CSM)"]
    # A manager still sees everything.
    boss = Viewer("boss", ("manager",))
    assert pb.list_runs(ws.engine, boss, warehouse=wh)["id"].tolist() == [run.id]


def test_a_csm_viewer_without_the_warehouse_is_refused_not_shown_everything(reassigned):
    ws, _ = reassigned
    with pytest.raises(TypeError, match="warehouse"):
        pb.list_runs(ws.engine, MAYA)


@pytest.mark.stores
def test_the_old_csm_sees_nothing_on_the_pages(reassigned):
    ws, run = reassigned
    pages = [("views/playbooks.py", {"tab": "Runs", "run": str(run.id)}), ("views/playbooks.py", {"tab": "Outbox"}),
             ("views/my_tasks.py", None), ("views/alerts.py", None),
             ("views/account.py", {"id": ACCOUNT, "tab": "Playbooks & notes"})]
    for page, params in pages:
        at = run_app("maya", page, params)
        assert not at.exception, page
        text = all_text(at)
        for leaked in ("Company 1", "Rescue call", SECRET_TEXT, "Rescue started"):
            assert leaked not in text, (page, leaked)
    at = run_app("maya", "views/playbooks.py", {"tab": "Runs", "run": str(run.id)})
    assert any("not in your book" in e.value for e in at.error)
    at = run_app("maya", "views/playbooks.py", {"tab": "Start for many"})
    assert not at.exception
    assert ACCOUNT not in all_text(at) and "Company 1" not in all_text(at)


@pytest.mark.stores
def test_the_new_csm_sees_it_all_on_the_pages(reassigned):
    ws, run = reassigned
    at = run_app("jonas", "views/playbooks.py", {"tab": "Runs", "run": str(run.id)})
    assert not at.exception
    assert any(f"Run #{run.id}" in s.value for s in at.subheader)
    assert "Company 1" in at.dataframe[0].value["account_name"].tolist()
    at = run_app("jonas", "views/playbooks.py", {"tab": "Outbox"})
    assert not at.exception and set(at.dataframe[0].value["run_id"]) == {run.id}
    at = run_app("jonas", "views/my_tasks.py")
    assert not at.exception and "Rescue call with Company 1" in all_text(at)
    at = run_app("jonas", "views/alerts.py")
    assert not at.exception
    text = all_text(at)
    assert "(to the CSM)" in text and "(to role csm)" in text
    at = run_app("jonas", "views/account.py", {"id": ACCOUNT, "tab": "Playbooks & notes"})
    assert not at.exception and "Rescue call with Company 1" in all_text(at)
    at = run_app("jonas", "views/playbooks.py", {"tab": "Start for many"})
    assert not at.exception
    frame = next(d.value for d in at.dataframe)
    assert "Company 1" in frame["name"].tolist()
    assert isinstance(frame, pd.DataFrame)


@pytest.mark.stores
def test_the_old_csm_cannot_act_on_the_accounts_tasks_or_run(reassigned):
    ws, run = reassigned
    wh = ws.warehouse
    task_id = int(pb.tasks_for_account(ws.engine, SYSTEM, ACCOUNT)["id"].iloc[0])
    with pytest.raises(PlaybookError, match="not in your book"):
        pb.complete_task(ws.engine, MAYA, task_id, warehouse=wh)
    with pytest.raises(PlaybookError, match="not in your book"):
        pb.snooze_task(ws.engine, MAYA, task_id, pd.Timestamp("2100-01-01").to_pydatetime(), warehouse=wh)
    with pytest.raises(PlaybookError, match="not in your book"):
        pb.reopen_task(ws.engine, MAYA, task_id, warehouse=wh)
    with pytest.raises(PlaybookError, match="not in your book"):
        pb.cancel_run(ws.engine, MAYA, run.id, warehouse=wh)
    assert pb.tasks_for_account(ws.engine, SYSTEM, ACCOUNT)["status"].tolist() == ["open"]
    assert pb.get_run(ws.engine, SYSTEM, run.id).status == "active"

    at = run_app("jonas", "views/my_tasks.py")  # the new CSM completes it from My tasks
    at.multiselect(key="tasks_pick").set_value([task_id]).run()
    next(b for b in at.button if b.label.startswith("Complete")).click().run()
    assert not at.exception
    assert pb.tasks_for_account(ws.engine, SYSTEM, ACCOUNT, open_only=False)["completed_by"].tolist() == ["jonas"]

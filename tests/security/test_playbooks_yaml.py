"""Playbooks as YAML files: ``cli.py playbooks export DIR`` / ``apply FILE|DIR``, checked like the form.

A file is as dangerous as the form: a webhook to an internal address or a template bomb
is refused with exit 2 and the reason, and nothing of the folder is written.
"""

from __future__ import annotations

import sqlalchemy as sa
import yaml

from cli import main
from playbooks import list_playbooks
from playbooks.definitions import get_playbook_by_key
from playbooks.store import playbooks as playbooks_table
from tests.support.outbound_servers import LocalServer
from tests.support.workspaces import build_workspace


def _cli(ws, *args: str) -> int:
    return main(["--workspace", str(ws.path), "playbooks", *args])


def _rows(ws) -> list[tuple]:
    with ws.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(playbooks_table).order_by(playbooks_table.c.id))]


def _hook_file(folder, key: str, url: str) -> None:
    (folder / f"{key}.yaml").write_text(yaml.safe_dump({
        "key": key, "name": key.replace("_", " ").title(), "purpose": "Tell the CRM",
        "steps": [{"type": "webhook", "url": url, "body": {"account": "{{ account.id }}"}}]}))


def test_export_then_apply_round_trips_and_updates_by_key(tmp_path, capsys):
    ws = build_workspace(tmp_path / "ws", n=2, scores=False)
    starters = list_playbooks(ws.engine, include_inactive=True)
    out = tmp_path / "playbooks"
    assert _cli(ws, "export", str(out)) == 0
    files = sorted(out.glob("*.yaml"))
    assert [f.stem for f in files] == sorted(p.key for p in starters)

    doc = yaml.safe_load(files[0].read_text())
    doc["purpose"] = "Edited in git"
    doc["steps"][0] = {"type": "task", "title": "Call {{ account.name }} today", "due_days": 1}
    files[0].write_text(yaml.safe_dump(doc, sort_keys=False))
    (out / "new_one.yaml").write_text(yaml.safe_dump({
        "key": "new_one", "name": "New one", "steps": [{"type": "alert", "to": "csm", "message": "Look"}]}))
    capsys.readouterr()

    assert _cli(ws, "apply", str(out)) == 0
    assert "created 1, updated" in capsys.readouterr().out
    edited = get_playbook_by_key(ws.engine, doc["key"])
    assert edited.purpose == "Edited in git" and edited.steps[0]["title"] == "Call {{ account.name }} today"
    assert get_playbook_by_key(ws.engine, "new_one").steps == [{"type": "alert", "to": "csm", "message": "Look"}]
    assert len(list_playbooks(ws.engine, include_inactive=True)) == len(starters) + 1


def test_apply_refuses_a_webhook_to_loopback_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CSAI_WEBHOOK_ALLOW_HOSTS", raising=False)
    server = LocalServer()
    try:
        ws = build_workspace(tmp_path / "ws", n=2, scores=False)
        list_playbooks(ws.engine)  # seed the starters so "before" is complete
        folder = tmp_path / "defs"
        folder.mkdir()
        _hook_file(folder, "a_fine_one", "https://hooks.example.com/services/T0/B0")
        _hook_file(folder, "b_sneaky", server.url)
        before = _rows(ws)
        capsys.readouterr()

        assert _cli(ws, "apply", str(folder)) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: b_sneaky.yaml: Step 1 (webhook) url:") and "loopback" in err
        assert "CSAI_WEBHOOK_ALLOW_HOSTS" in err
        assert _rows(ws) == before, "the valid file must not be applied either"
        assert _cli(ws, "apply", str(folder / "b_sneaky.yaml")) == 2
        assert _rows(ws) == before and server.requests == []
    finally:
        server.stop()


def test_apply_accepts_an_allow_listed_internal_host(tmp_path, capsys, monkeypatch):
    ws = build_workspace(tmp_path / "ws", n=2, scores=False)
    folder = tmp_path / "defs"
    folder.mkdir()
    _hook_file(folder, "crm_sync", "http://127.0.0.1:8089/hook")
    monkeypatch.setenv("CSAI_WEBHOOK_ALLOW_HOSTS", "127.0.0.1:8089")
    assert _cli(ws, "apply", str(folder / "crm_sync.yaml")) == 0
    assert get_playbook_by_key(ws.engine, "crm_sync").steps[0]["url"] == "http://127.0.0.1:8089/hook"


def test_apply_reports_bad_files_with_their_name(tmp_path, capsys):
    ws = build_workspace(tmp_path / "ws", n=2, scores=False)
    list_playbooks(ws.engine)
    before = _rows(ws)
    bad = tmp_path / "bad.yaml"
    for text, message in [
        ("key: x\nname: [unclosed", "bad.yaml: not a readable YAML file"),
        ("- just\n- a list\n", "bad.yaml: A playbook must be a mapping"),
        ("name: X\nsteps: []\n", "bad.yaml: A playbook needs at least one step"),
        ("name: X\nsteps: [{type: task, title: T}]\nowner: me\n", "bad.yaml: owner is not a playbook field"),
        ("key: ../../etc\nname: X\nsteps: [{type: task, title: T}]\n", "bad.yaml: 'key' must be"),
    ]:
        bad.write_text(text)
        capsys.readouterr()
        assert _cli(ws, "apply", str(bad)) == 2
        assert message in capsys.readouterr().err
    assert _rows(ws) == before

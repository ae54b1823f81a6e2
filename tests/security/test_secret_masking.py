"""Attack: a CSM or data scientist reads a webhook's token off the Playbooks pages.

Webhook URLs carry the integration's secret. Only the roles that edit playbooks
(managers, admins) may see them whole; everyone else sees ``scheme://host/…`` in the
library, on runs, in the outbox (including errors that quote the URL) and in the preview
of the start form.
"""

from __future__ import annotations

import pytest

import playbooks as pb
from data import users as user_store
from playbooks.definitions import create_playbook
from playbooks.redact import mask_url, mask_urls
from playbooks.store import steps
from tests.support.apptest import all_text, run_app
from tests.support.workspaces import build_workspace

TOKEN = "XOXB-SECRET-TOKEN-1234"
QUERY_TOKEN = "QS-SECRET-99"
URL = f"https://hooks.chat.example/services/T0/B0/{TOKEN}?token={QUERY_TOKEN}"
MASKED = "https://hooks.chat.example/…"


@pytest.fixture()
def webhook_ws(tmp_path, monkeypatch):
    """A playbook posting to a tokened webhook, started for Maya's account, its step failed with the URL quoted."""
    ws = build_workspace(tmp_path / "ws", n=4, scores=False)
    for name, role, csm in [("maya", "csm", "Maya Patel"), ("datasci", "data_scientist", None),
                            ("boss", "manager", None), ("root", "admin", None)]:
        user_store.add_user(ws.settings.auth_file, name, role=role, password=f"{name}-password-1", csm=csm)
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    playbook = create_playbook(ws.engine, "boss", name="Chat ping", steps=[
        {"type": "webhook", "url": URL, "body": {"text": "{{ account.name }} needs help"}}])
    run = pb.trigger_manual(ws.engine, ws.warehouse, playbook.id, "A0001", actor="boss")
    with ws.engine.begin() as conn:  # what a failed delivery records
        conn.execute(steps.update().where(steps.c.run_id == run.id).values(
            status="failed", attempts=5, last_error=f"Could not reach {URL}: ConnectionError"))
    return ws, playbook, run


def _pages(playbook, run) -> list[tuple[str, dict, dict]]:
    """(page, query params, widget values by key) of every place a webhook URL is shown."""
    return [("views/playbooks.py", {"tab": "Library"}, {"library_open": playbook.id}),
            ("views/playbooks.py", {"tab": "Runs", "run": str(run.id)}, {}),
            ("views/playbooks.py", {"tab": "Outbox"}, {})]


def _open(username: str, page: str, params: dict, values: dict):
    at = run_app(username, page, params)
    for key, value in values.items():
        at.selectbox(key=key).set_value(value).run()
    assert not at.exception
    return at


@pytest.mark.parametrize("username", ["maya", "datasci"])
def test_readers_never_receive_the_token(webhook_ws, username):
    ws, playbook, run = webhook_ws
    for page, params, values in _pages(playbook, run):
        text = all_text(_open(username, page, params, values))
        assert TOKEN not in text and QUERY_TOKEN not in text, (username, params)
        assert MASKED in text, (username, params)


def test_the_start_form_preview_masks_the_url_for_a_csm(webhook_ws):
    ws, playbook, run = webhook_ws
    at = _open("maya", "views/account.py", {"id": "A0003", "tab": "Playbooks & notes"},
               {"pbform_playbook:acct:A0003": playbook.id})
    text = all_text(at)
    assert "Webhook POST to " + MASKED in text
    assert TOKEN not in text and QUERY_TOKEN not in text


@pytest.mark.parametrize("username", ["boss", "root"])
def test_editors_still_see_the_whole_url(webhook_ws, username):
    ws, playbook, run = webhook_ws
    library = _open(username, *_pages(playbook, run)[0])
    assert any(URL in m.value for m in library.markdown)
    # the edit form: the step builder's URL box (or the JSON under Advanced)
    assert any(URL in str(t.value) for t in [*library.text_input, *library.text_area])
    outbox = _open(username, *_pages(playbook, run)[2])
    assert URL in all_text(outbox)


def test_mask_url_keeps_only_scheme_and_host():
    assert mask_url(URL) == MASKED
    assert mask_url("https://user:pw@example.com:8443/x?y=1") == "https://example.com:8443/…"
    assert mask_url("not a url") == "…"
    assert mask_urls(f"HTTP 500 from {URL}: oops") == f"HTTP 500 from {MASKED}: oops"

"""Demo logins die with the demo: the first real import disables them, and they never work off loopback.

AppTest runs here as `make run` serves: on 127.0.0.1 (the autouse ``served_on_loopback`` fixture).
"""

from __future__ import annotations

from data import users as user_store
from tests.support.apptest import page_text, run_app, sign_in, signed_in
from tests.support.cli import cli

ACCOUNTS_CSV = ("account_id,name,segment,industry,region,plan,csm,created_at\n"
                "A1,Acme Corp,SMB,Retail,NA,Starter,Avery Chen,2025-01-10\n"
                "A2,Globex,Enterprise,Finance,EMEA,Enterprise,Jordan Patel,2024-03-01\n"
                "A3,Initech,Mid-Market,Software,NA,Growth,Avery Chen,2024-06-15\n")
FLAT_CSV = ("customerID,tenure,Contract,Churn\n"
            "C1,1,Month-to-month,No\nC2,34,One year,No\nC3,2,Month-to-month,Yes\n")


def _demo_users_enabled(ws) -> set[str]:
    return {u.username for u in user_store.list_users(ws.settings.auth_file) if u.demo and not u.disabled}


def test_demo_login_works_on_loopback_before_any_import(demo_ws):
    at = run_app(None)
    assert "admin-demo-pass" in page_text(at)
    at = sign_in(at, "admin", "admin-demo-pass")
    assert not at.exception
    assert signed_in(at)


def test_cli_replace_import_disables_the_demo_logins(demo_ws, tmp_path):
    src = tmp_path / "accounts.csv"
    src.write_text(ACCOUNTS_CSV)
    r = cli("import", "accounts", str(src), "--mode", "replace", ws=demo_ws.path)
    assert r.returncode == 0, r.stderr
    assert "demo logins are disabled" in r.stderr
    assert not user_store.is_demo(demo_ws.settings.auth_file)
    assert _demo_users_enabled(demo_ws) == set()

    at = run_app(None)
    assert not at.exception
    assert "admin-demo-pass" not in page_text(at) and "only in the demo" not in page_text(at)
    at = sign_in(at, "admin", "admin-demo-pass")
    assert not at.exception
    assert not signed_in(at)
    assert "incorrect" in page_text(at)


def test_cli_flat_import_disables_the_demo_logins(demo_ws, tmp_path):
    src = tmp_path / "crm.csv"
    src.write_text(FLAT_CSV)
    r = cli("import", "flat", str(src), "--id", "customerID", "--label", "Churn", ws=demo_ws.path)
    assert r.returncode == 0, r.stderr
    assert _demo_users_enabled(demo_ws) == set()
    at = sign_in(run_app(None), "manager", "manager-demo-pass")
    assert not at.exception and not signed_in(at)


def test_a_dry_run_or_a_refused_import_keeps_the_demo(demo_ws, tmp_path):
    src = tmp_path / "accounts.csv"
    src.write_text(ACCOUNTS_CSV)
    assert cli("import", "accounts", str(src), "--dry-run", ws=demo_ws.path).returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("account_id,name\nA1,x\nA1,y\n")
    assert cli("import", "accounts", str(bad), ws=demo_ws.path).returncode == 2
    assert user_store.is_demo(demo_ws.settings.auth_file)
    assert len(_demo_users_enabled(demo_ws)) == 5


def test_a_signed_in_demo_session_ends_with_the_demo(demo_ws, tmp_path):
    at = sign_in(run_app(None), "csm1", "csm1-demo-pass")
    assert signed_in(at)
    src = tmp_path / "accounts.csv"
    src.write_text(ACCOUNTS_CSV)
    assert cli("import", "accounts", str(src), ws=demo_ws.path).returncode == 0
    at.run()
    assert not at.exception
    assert not signed_in(at)


def test_demo_logins_refused_and_hidden_when_not_bound_to_loopback(demo_ws, exposed_server):
    at = run_app(None)
    assert not at.exception
    assert "admin-demo-pass" not in page_text(at) and "only in the demo" not in page_text(at)
    at = sign_in(at, "admin", "admin-demo-pass")
    assert not at.exception
    assert not signed_in(at)
    assert "incorrect" in page_text(at)


def test_a_demo_session_is_signed_out_on_an_exposed_server(demo_ws, exposed_server):
    at = run_app("admin")
    assert not at.exception
    assert not signed_in(at)
    assert "admin-demo-pass" not in page_text(at)


def test_data_page_import_ends_the_demo_and_warns_first(demo_ws):
    at = run_app("admin", "views/data.py")
    at.file_uploader(key="data_upload").set_value(("accounts.csv", ACCOUNTS_CSV.encode(), "text/csv"))
    at.run()
    next(b for b in at.button if b.label == "Validate").click()
    at.run()
    assert not at.exception
    assert "Importing your own data ends the demo" in page_text(at)
    at.button(key="data_import").click()
    at.run()
    assert not at.exception
    assert _demo_users_enabled(demo_ws) == set() and not user_store.is_demo(demo_ws.settings.auth_file)
    assert not signed_in(at)  # the demo admin who imported is signed out too
    assert "no longer enabled" in page_text(at)

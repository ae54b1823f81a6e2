"""AppTest: the Data, Admin and Learn pages for every role, imports, user management, editable topics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data import users as user_store
from data.opstore import read_audit
from tests.support.apptest import DATA_PAGE, button, run_app, texts, upload

SHIPPED_BILLING = Path(__file__).resolve().parents[2] / "content" / "learn" / "billing.md"
DATA, ADMIN, LEARN = DATA_PAGE, "views/admin.py", "views/learn.py"
ROLES = {"admin": "Admin", "manager": "Manager", "datasci": "Data scientist", "csm1": "CSM", "csm2": "CSM"}
GOOD_ACCOUNTS = (b"customerID,Company,Plan,Owner,Tier,Employees\n"
                 b"C1,Foo Inc,Starter,Avery Chen,gold,12\nC2,Bar Ltd,Growth,Jordan Patel,silver,340\n")


def frame(at, column: str) -> pd.DataFrame:
    """The first table on the page with ``column`` (read-only tables carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def accounts(ws) -> pd.DataFrame:
    with ws.warehouse.reader() as con:
        return con.execute("SELECT * FROM accounts ORDER BY account_id").df()


def actions(ws) -> list[str]:
    return [r["action"] for r in read_audit(ws.engine)]


# ------------------------------------------------------------------ access
@pytest.mark.parametrize("page, allowed", [
    (DATA, {"admin", "datasci"}), (ADMIN, {"admin"}), (LEARN, set(ROLES)),
])
@pytest.mark.parametrize("username", list(ROLES))
def test_pages_per_role(tiny_ws, page, allowed, username):
    at = run_app(username, page=page)
    assert not at.exception
    if username in allowed:
        assert "cannot open" not in texts(at)
        assert at.title
    else:
        title = {DATA: "Data", ADMIN: "Admin"}[page]
        assert f"Your role ({ROLES[username]}) cannot open {title}" in at.warning[0].value
        assert not at.dataframe and not at.file_uploader


def test_menu_shows_only_allowed_pages(tiny_ws):
    from components.pages import PAGES, allowed

    visible = {s.url_path for s in PAGES if s.in_menu and allowed(s, ("csm",))}
    assert "learn" in visible and "data" not in visible and "admin" not in visible


# ------------------------------------------------------------------ data page
@pytest.mark.stores
def test_data_page_imports_a_good_csv_end_to_end(tiny_ws):
    at = upload(run_app("datasci", page=DATA), "crm_accounts.csv", GOOD_ACCOUNTS)
    assert at.selectbox(key="data_target").value == "accounts"
    assert list(frame(at, "customerID").columns) == ["customerID", "Company", "Plan", "Owner", "Tier", "Employees"]
    mapped = {s.label: s.value for s in at.selectbox if s.key and s.key.startswith("map_accounts_")}
    assert mapped["account_id *"] == "customerID" and mapped["name"] == "Company" and mapped["csm"] == "Owner"
    assert mapped["segment"] == "Tier"
    assert at.button(key="data_import").disabled  # nothing validated yet

    at.checkbox(key="data_allow_orphans_0").check()  # the tiny company's events refer to accounts not in the file
    button(at, "Validate").click()
    at.run()
    assert "Validation passed with 1 warning(s): 2 rows" in texts(at)
    assert at.get("download_button")  # the mapping can be saved as YAML
    assert not at.button(key="data_import").disabled
    at.button(key="data_import").click()
    at.run()
    assert not at.exception
    assert "Imported 2 rows into accounts" in texts(at)
    got = accounts(tiny_ws)
    assert list(got["account_id"]) == ["C1", "C2"]
    assert list(got["name"]) == ["Foo Inc", "Bar Ltd"]
    assert list(got["segment"]) == ["gold", "silver"]
    assert list(got["employees"]) == [12, 340]  # kept as a custom attribute
    assert actions(tiny_ws) == ["data.import"]
    assert read_audit(tiny_ws.engine)[0]["actor"] == "datasci"

    # A second click (or a rerun) does not import again: the button is disabled for this upload.
    assert at.button(key="data_import").disabled
    assert "already imported" in texts(at)
    at.run()
    assert actions(tiny_ws) == ["data.import"]


def test_append_twice_is_refused_by_the_double_click_guard(tiny_ws):
    at = upload(run_app("admin", page=DATA), "accounts.csv", b"account_id,name\nA9,Newco\n")
    at.radio(key="data_mode_0").set_value("append")
    button(at, "Validate").click()
    at.run()
    assert at.button(key="data_import").label == "Append 1 rows"
    at.button(key="data_import").click()
    at.run()
    at.run()
    assert list(accounts(tiny_ws)["account_id"]) == ["A1", "A2", "A3", "A9"]
    assert actions(tiny_ws).count("data.import") == 1
    assert at.button(key="data_import").disabled


def test_bad_file_shows_errors_and_writes_nothing(tiny_ws):
    before = accounts(tiny_ws)
    version = tiny_ws.warehouse.version()
    bad = b"account_id,name,created_at\nX1,One,2025-01-01\nX1,Two,not a date\n,Three,2025-02-01\n"
    at = upload(run_app("admin", page=DATA), "accounts.csv", bad)
    button(at, "Validate").click()
    at.run()
    assert not at.exception
    body = texts(at)
    assert "stop this import. Nothing has been written" in body
    assert "row(s)" in body
    assert at.button(key="data_import").disabled
    pd.testing.assert_frame_equal(accounts(tiny_ws), before)
    assert tiny_ws.warehouse.version() == version
    assert "data.import" not in actions(tiny_ws)


def test_unreadable_file_shows_the_message(tiny_ws):
    before = accounts(tiny_ws)
    at = run_app("admin", page=DATA)
    at.file_uploader(key="data_upload").set_value(("accounts.csv", b"", "text/csv"))
    at.run()
    assert not at.exception
    assert "is empty (0 bytes)" in at.error[0].value
    assert all(b.key != "data_import" for b in at.get("button"))
    pd.testing.assert_frame_equal(accounts(tiny_ws), before)
    assert actions(tiny_ws) == ["data.import_failed"]


def test_saved_mapping_is_loaded_into_the_form(tiny_ws):
    at = upload(run_app("admin", page=DATA), "export.csv", b"Kunde,Firma,Paket\nK1,Eins,Basic\n")
    mapping = b"table: accounts\ncolumns:\n  Kunde: account_id\n  Firma: name\n  Paket: plan\n"
    at.file_uploader(key="data_mapping_file").set_value(("accounts_mapping.yaml", mapping, "application/x-yaml"))
    at.run()
    assert not at.exception
    mapped = {s.label: s.value for s in at.selectbox if s.key and s.key.startswith("map_accounts_")}
    assert (mapped["account_id *"], mapped["name"], mapped["plan"]) == ("Kunde", "Firma", "Paket")
    at.checkbox(key="data_allow_orphans_1").check()  # K1 replaces the tiny company's accounts
    button(at, "Validate").click()
    at.run()
    assert "Validation passed" in texts(at)


def test_flat_table_with_churn_label(tiny_ws):
    flat = b"id,company,churned\n1,Alpha,Yes\n2,Beta,No\n3,Gamma,No\n"
    at = upload(run_app("admin", page=DATA), "crm.csv", flat)
    at.selectbox(key="data_target").select("flat")
    at.run()
    assert at.selectbox(key="flat_label_0").value == "churned"
    button(at, "Validate").click()
    at.run()
    assert "yes → churned" in texts(at)
    at.button(key="data_import").click()
    at.run()
    assert not at.exception
    with tiny_ws.warehouse.reader() as con:
        labels = dict(con.execute("SELECT account_id, label FROM account_labels").fetchall())
    assert labels == {"1": 1, "2": 0, "3": 0}


def test_database_source_reads_a_table(tiny_ws, postgres_url):  # noqa: F811 - the imported fixture
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS page_customers"))
        conn.execute(sa.text("CREATE TABLE page_customers (account_id TEXT, name TEXT)"))
        conn.execute(sa.text("INSERT INTO page_customers VALUES ('D1', 'Delta'), ('D2', 'Echo')"))
    engine.dispose()
    at = run_app("admin", page=DATA)
    at.segmented_control(key="data_source_kind").set_value("Connect to a database")
    at.run()
    at.text_input(key="data_db_url").input(postgres_url)
    at.text_input(key="data_db_table").input("page_customers")
    button(at, "Connect and preview").click()
    at.run()
    assert not at.exception
    assert list(frame(at, "name")["name"]) == ["Delta", "Echo"]
    assert "data.connect" in actions(tiny_ws)


def test_database_password_is_never_shown(tiny_ws):
    secret = "s3cret-Pa55"
    at = run_app("admin", page=DATA)
    at.segmented_control(key="data_source_kind").set_value("Connect to a database")
    at.run()
    at.text_input(key="data_db_url").input(f"postgresql://bob:{secret}@127.0.0.1:1/crm")
    at.text_input(key="data_db_table").input("customers")
    button(at, "Connect and preview").click()
    at.run()
    assert not at.exception
    assert at.error and "***" in at.error[0].value
    assert secret not in texts(at)
    assert all(secret not in str(r) for r in read_audit(tiny_ws.engine))


def test_data_health_panel(tiny_ws):
    at = run_app("admin", page=DATA)
    assert not at.exception
    health = frame(at, "coverage")
    assert health.set_index("table").at["events", "rows"] == 5
    assert len(at.get("plotly_chart")) == 2
    assert "too few for a stable model" in texts(at)  # one churned account in the tiny company


# ------------------------------------------------------------------ admin page
def fill_add_user(at, username="newcsm", password="good-password", repeat=None, role="csm", csm="Avery Chen"):
    at.text_input(key="add_username").input(username)
    at.text_input(key="add_name").input("New Person")
    at.selectbox(key="add_role").select(role)
    at.text_input(key="add_csm").input(csm)
    at.text_input(key="add_password").input(password)
    at.text_input(key="add_password2").input(password if repeat is None else repeat)
    button(at, "Add user").click()
    at.run()
    assert not at.exception
    return at


@pytest.mark.stores
def test_admin_adds_and_disables_a_user(tiny_ws):
    at = fill_add_user(run_app("admin", page=ADMIN))
    assert "Added newcsm" in texts(at)
    created = user_store.get_user(tiny_ws.settings.auth_file, "newcsm")
    assert created is not None and created.roles == ("csm",) and created.csm == "Avery Chen"
    row = read_audit(tiny_ws.engine)[0]
    assert (row["actor"], row["action"], row["target"]) == ("admin", "user.add", "newcsm")
    assert "good-password" not in str(row)
    assert "newcsm" in set(frame(at, "username")["username"])

    at.selectbox(key="access_user").select("newcsm")
    button(at, "Disable").click()
    at.run()
    assert user_store.get_user(tiny_ws.settings.auth_file, "newcsm").disabled
    assert actions(tiny_ws)[0] == "user.disable"


@pytest.mark.parametrize("kwargs, message", [
    ({"password": "short"}, "at least 8 characters"),
    ({"repeat": "other-password"}, "passwords differ"),
    ({"csm": ""}, "needs a CSM name"),
    ({"username": "Bad Name!"}, "is not allowed"),
])
def test_bad_user_input_writes_nothing(tiny_ws, kwargs, message):
    auth_before = tiny_ws.settings.auth_file.read_text()
    at = fill_add_user(run_app("admin", page=ADMIN), **kwargs)
    assert message in at.error[0].value
    assert tiny_ws.settings.auth_file.read_text() == auth_before
    assert actions(tiny_ws) == []


@pytest.mark.stores
def test_admin_resets_a_password_and_changes_a_role(tiny_ws):
    at = run_app("admin", page=ADMIN)
    at.selectbox(key="pw_user").select("csm2")
    at.text_input(key="pw_new").input("brand-new-pass")
    at.text_input(key="pw_new2").input("brand-new-pass")
    button(at, "Reset password").click()
    at.run()
    rec = user_store.load_auth(tiny_ws.settings.auth_file)["credentials"]["usernames"]["csm2"]
    assert user_store.check_password("brand-new-pass", rec["password"])
    at.selectbox(key="role_user").select("csm2")
    at.selectbox(key="role_new").select("manager")
    button(at, "Change role").click()
    at.run()
    assert user_store.get_user(tiny_ws.settings.auth_file, "csm2").roles == ("manager",)
    assert actions(tiny_ws)[:2] == ["user.set_role", "user.set_password"]


def test_admin_cannot_lock_themselves_out(tiny_ws):
    at = run_app("admin", page=ADMIN)
    at.selectbox(key="access_user").select("admin")
    button(at, "Disable").click()
    at.run()
    assert "cannot disable your own account" in at.error[0].value
    assert not user_store.get_user(tiny_ws.settings.auth_file, "admin").disabled


@pytest.mark.stores
def test_audit_log_filters_and_export(tiny_ws):
    fill_add_user(run_app("admin", page=ADMIN))
    at = run_app("admin", page=ADMIN)
    at.selectbox(key="audit_action").select("user.add")
    at.run()
    log = frame(at, "action")
    assert list(log["action"]) == ["user.add"] and list(log["actor"]) == ["admin"]
    assert any(d.label == "Export CSV" for d in at.get("download_button"))


@pytest.mark.stores
def test_settings_are_shown_read_only(tiny_ws):
    at = run_app("admin", page=ADMIN)
    shown = frame(at, "setting").set_index("setting")["value"]
    assert shown["Workspace folder"] == str(tiny_ws.path)
    assert shown["Email (SMTP) server"].startswith("not set")
    assert "secrets.toml" in texts(at)


# ------------------------------------------------------------------ learn page
def test_learn_deep_link_opens_the_topic(tiny_ws):
    at = run_app("csm1", page=LEARN, params={"topic": "usage"})
    assert not at.exception
    assert at.title[0].value == "Usage"
    assert "What tends to help" in texts(at)
    assert not at.text_area  # only admins edit


def test_learn_unknown_topic_falls_back(tiny_ws):
    at = run_app("manager", page=LEARN, params={"topic": "../../etc/passwd"})
    assert not at.exception
    assert "no topic called" in at.warning[0].value
    assert "How churn scores are made" in at.title[0].value


def test_admin_edits_and_resets_a_topic(tiny_ws):
    shipped = SHIPPED_BILLING.read_text()
    at = run_app("admin", page=LEARN, params={"topic": "billing"})
    at.text_area[0].input("# Billing\n\nCall finance first.")
    button(at, "Save").click()
    at.run()
    assert not at.exception
    assert "Call finance first." in texts(at)
    override = tiny_ws.settings.content_dir / "learn" / "billing.md"
    assert override.read_text().startswith("# Billing")
    assert SHIPPED_BILLING.read_text() == shipped  # the shipped file is untouched
    assert "Call finance first." in texts(run_app("csm1", page=LEARN, params={"topic": "billing"}))

    button(at, "Reset to shipped version").click()
    at.run()
    assert not override.exists()
    assert "Call finance first." not in texts(at)
    assert actions(tiny_ws) == ["learn.reset", "learn.edit"]


def test_topic_edit_needs_a_title(tiny_ws):
    at = run_app("admin", page=LEARN, params={"topic": "usage"})
    at.text_area[0].input("no title here")
    button(at, "Save").click()
    at.run()
    assert "Start the text with a title line" in at.error[0].value
    assert not (tiny_ws.settings.content_dir / "learn" / "usage.md").exists()


def test_upload_limit_is_respected(tiny_ws, monkeypatch):
    monkeypatch.setenv("CSAI_MAX_UPLOAD_MB", "1")
    before = accounts(tiny_ws)
    big = b"account_id,name\n" + b"".join(b"B%07d,Big company %07d\n" % (i, i) for i in range(40_000))
    assert len(big) > 1024 * 1024
    at = run_app("admin", page=DATA)
    assert at.file_uploader(key="data_upload").proto.max_upload_size_mb == 1
    at.file_uploader(key="data_upload").set_value(("accounts.csv", big, "text/csv"))
    at.run()
    assert not at.exception
    assert "above the 1 MB upload limit" in at.error[0].value
    pd.testing.assert_frame_equal(accounts(tiny_ws), before)


def test_role_change_to_csm_needs_a_book(tiny_ws):
    auth_before = tiny_ws.settings.auth_file.read_text()
    at = run_app("admin", page=ADMIN)
    at.selectbox(key="role_user").select("manager")
    at.selectbox(key="role_new").select("csm")
    button(at, "Change role").click()
    at.run()
    assert "needs a CSM name" in at.error[0].value
    assert tiny_ws.settings.auth_file.read_text() == auth_before
    assert actions(tiny_ws) == []


def test_learn_search_filters_the_topic_list(tiny_ws):
    at = run_app("csm2", page=LEARN)
    at.text_input(key="learn_search").input("kaplan")
    at.run()
    assert not at.exception
    assert {e.proto.label for e in at.get("page_link")} == {"Reading the charts"}
    at.text_input(key="learn_search").input("no such words anywhere")
    at.run()
    assert not at.get("page_link") and "No topic mentions that" in texts(at)


def test_learn_shows_playbook_resources_of_the_driver_group(tiny_ws):
    resource = Path(__file__).resolve().parents[2] / "content" / "resources" / "usage.md"
    if not resource.exists():
        pytest.skip("no playbook resources shipped yet")
    title = next(line[2:].strip() for line in resource.read_text().splitlines() if line.startswith("# "))
    at = run_app("csm1", page=LEARN, params={"topic": "usage"})
    assert title in [s.value for s in at.subheader]

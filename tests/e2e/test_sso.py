"""Single sign-on against a real OpenID provider (Node's oidc-provider), the full redirect flow in chromium.

The app is configured only as the README shows: an ``[auth]`` table in a secrets file and ``CSAI_SSO_*``
variables. Each person signs in at the provider's own login page.
"""

from __future__ import annotations

import secrets
import shutil

import pytest

from bench.browser import free_port
from tests.support.browser import Server, shot, wait_idle
from tests.support.oidc_provider import OidcProvider, TamperingProxy

pytestmark = pytest.mark.e2e

CLIENT_ID, CLIENT_SECRET = "csai", "csai-test-client-secret"


@pytest.fixture(scope="module")
def sso(sample_workspace_path, tmp_path_factory):
    """A copy of the sample workspace served with SSO on, a provider with five people, and the proxy."""
    root = tmp_path_factory.mktemp("sso")
    ws = root / "ws"
    shutil.copytree(sample_workspace_path, ws, ignore=shutil.ignore_patterns("*.log", "*.lock"))
    from data.workspace import open_workspace

    with open_workspace(str(ws)).warehouse.reader() as con:
        book, other_book = [r[0] for r in con.execute(
            "SELECT csm FROM accounts WHERE csm IS NOT NULL GROUP BY csm ORDER BY count(*) DESC LIMIT 2").fetchall()]
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    users = {
        "mia": {"email": "mia@corp.example", "email_verified": True, "name": "Mia Manager", "groups": ["cs-managers"]},
        "carl": {"email": "carl@corp.example", "email_verified": True, "name": "Carl Csm", "groups": ["cs-team"],
                 "csm_book": book},
        "dora": {"email": "dora@corp.example", "email_verified": True, "name": "Dora Data", "groups": ["data-science"]},
        "ada": {"email": "ada@corp.example", "email_verified": True, "name": "Ada Admin", "groups": []},
        "nina": {"email": "nina@elsewhere.example", "email_verified": True, "name": "Nina Nobody",
                 "groups": ["marketing"]},
    }
    clients = [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{app_url}/oauth2callback"], "post_logout_redirect_uris": [f"{app_url}/oauth2callback"],
                "response_types": ["code"], "grant_types": ["authorization_code"]}]
    provider = OidcProvider(root, users=users, clients=clients)
    proxy = TamperingProxy(provider)
    secrets_file = root / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "{app_url}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{proxy.discovery_url}"\n'
        'client_kwargs = { prompt = "login", code_challenge_method = "S256" }\n'
    )
    env = {"CSAI_SSO_LABEL": "Corp SSO",
           "CSAI_SSO_GROUP_ROLES": "cs-managers=manager, cs-team=csm, data-science=data_scientist",
           "CSAI_SSO_USER_ROLES": "ada@corp.example=admin"}
    server = Server(ws, port=app_port, env=env, extra_args=("--secrets.files", str(secrets_file)))
    try:
        yield {"server": server, "provider": provider, "proxy": proxy, "book": book, "other_book": other_book,
               "ws": ws}
    finally:
        server.stop()
        proxy.stop()
        provider.stop()


def sso_sign_in(page, app_url: str, login: str) -> None:
    """Click the app's SSO button, sign in at the provider's page, consent, and come back to the app."""
    page.goto(app_url + "/")
    button = page.get_by_role("button", name="Sign in with Corp SSO")
    button.wait_for()
    wait_idle(page)
    button.click()
    page.locator('input[name="login"]').wait_for()
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("any-password")
    page.locator('button[type="submit"]').click()
    consent = page.locator('button[type="submit"]', has_text="Continue")
    try:
        consent.wait_for(timeout=5000)
        consent.click()
    except Exception:  # noqa: BLE001 - the provider asks for consent only the first time per client
        pass
    page.wait_for_url(app_url + "/**")
    wait_idle(page)


def menu(page) -> str:
    return page.locator('[data-testid="stSidebarNav"]').inner_text()


@pytest.mark.parametrize("login, role_label, must_see, must_not_see", [
    ("mia", "Manager", ["Portfolio", "Accounts"], ["Model lab", "Admin"]),
    ("dora", "Data scientist", ["Model lab", "Data"], ["Admin", "My tasks"]),
    ("ada", "Admin", ["Admin", "Model lab", "Portfolio"], []),
])
def test_each_mapped_role_lands_on_its_pages(sso, page, login, role_label, must_see, must_not_see):
    sso["proxy"].mode = "pass"
    sso_sign_in(page, sso["server"].url, login)
    page.get_by_text(f"· {role_label}").first.wait_for()
    items = menu(page)
    for title in must_see:
        assert title in items, (login, items)
    for title in must_not_see:
        assert title not in items, (login, items)
    assert "Traceback" not in page.content()
    shot(page, f"sso_{login}")


@pytest.mark.page_error_expected("is not in your book")
def test_a_csm_sees_only_their_book(sso, page):
    sso["proxy"].mode = "pass"
    sso_sign_in(page, sso["server"].url, "carl")
    page.get_by_text(f"book of {sso['book']}").first.wait_for()
    page.goto(sso["server"].url + "/accounts")
    page.get_by_role("heading", name="Accounts").wait_for()
    wait_idle(page)
    from data.workspace import open_workspace

    with open_workspace(str(sso["ws"])).warehouse.reader() as con:
        foreign_id, foreign_name = con.execute(
            "SELECT account_id, name FROM accounts WHERE csm = ? ORDER BY account_id LIMIT 1",
            [sso["other_book"]]).fetchone()
    page.goto(f"{sso['server'].url}/account?id={foreign_id}")
    page.get_by_text("is not in your book").wait_for()
    assert foreign_name not in page.content()
    shot(page, "sso_csm_foreign_account")


def test_an_unmapped_person_is_refused_and_the_audit_log_names_issuer_and_subject(sso, page):
    sso["proxy"].mode = "pass"
    sso_sign_in(page, sso["server"].url, "nina")
    page.get_by_text("No access yet").wait_for()
    page.get_by_text("Ask an admin").first.wait_for()
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    page.goto(sso["server"].url + "/accounts")
    page.get_by_text("No access yet").wait_for()
    wait_idle(page)
    assert page.get_by_role("heading", name="Accounts").count() == 0
    shot(page, "sso_no_access")
    from data.opstore import read_audit
    from data.workspace import open_workspace

    rows = read_audit(open_workspace(str(sso["ws"])).engine, action="sso_refused")
    assert rows and '"issuer": "' + sso["provider"].issuer in rows[0]["detail"]
    assert '"subject": "nina"' in rows[0]["detail"]
    signed_in = read_audit(open_workspace(str(sso["ws"])).engine, action="sso_sign_in")
    assert all(sso["provider"].issuer in r["detail"] for r in signed_in)


@pytest.mark.parametrize("mode", ["tampered", "expired", "wrong_audience"])
def test_a_bad_id_token_signs_nobody_in(sso, page, mode):
    sso["proxy"].mode = mode
    try:
        sso_sign_in(page, sso["server"].url, "mia")
        page.get_by_role("button", name="Sign in with Corp SSO").wait_for()
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        assert "Mia Manager" not in page.content() and "mallory" not in page.content()
        page.goto(sso["server"].url + "/portfolio")
        page.get_by_role("button", name="Sign in with Corp SSO").wait_for()
        assert page.get_by_role("heading", name="Portfolio").count() == 0
    finally:
        sso["proxy"].mode = "pass"


def test_logout_ends_the_session_and_goes_through_the_provider(sso, page):
    sso["proxy"].mode = "pass"
    sso_sign_in(page, sso["server"].url, "mia")
    page.get_by_text("· Manager").first.wait_for()
    seen = []
    page.on("request", lambda r: seen.append(r.url))
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Log out", exact=True).click()
    # the provider's end-session page asks to confirm the sign-out
    confirm = page.locator('button[type="submit"], input[type="submit"]').first
    confirm.wait_for()
    assert any(u.startswith(sso["provider"].issuer) and "session/end" in u for u in seen), seen
    confirm.click()
    page.wait_for_url(sso["server"].url + "/**")
    page.get_by_role("button", name="Sign in with Corp SSO").wait_for()
    page.goto(sso["server"].url + "/portfolio")
    page.get_by_role("button", name="Sign in with Corp SSO").wait_for()
    assert page.get_by_role("heading", name="Portfolio").count() == 0

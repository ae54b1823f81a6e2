"""Load test: concurrent browser sessions through the Accounts and Account pages of a real server.

Starts ``streamlit run app.py`` on the workspace in ``CSAI_WORKSPACE``, signs in once through the form,
and opens one headless chromium context per session from that signed-in state (one browser process,
Playwright's async API on one event loop). Each session first opens the app in its tab: page load and
the cookie re-login (every URL load is a new Streamlit session that signs in again from the cookie),
reported as ``open`` but not part of p50/p95. Then it visits Accounts once and reloads Learn: the
browser's first visit fetches the data grid's code (Streamlit serves its hashed JavaScript with a
one-year immutable cache, so a returning user's browser has it). That visit is reported apart (``first_accounts``, ``first_visit_errors``), because 20 browsers in one headless
chromium on the server's own 2 cores compiling that code at once measures the test machine, not the
server. Then all sessions start together and
each moves, inside its Streamlit session as a user clicking through the app does, to Accounts and then
to Account for one id. A render's latency runs from the start of that navigation until Streamlit's run
has finished and the page's expected content is visible (or a problem shows).
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from bench.browser import Server, launch_options, signed_in_state
from data.users import demo_password

# page -> (URL path, CSS selector of the content that must be visible, h1 text it must have or None).
# `open` is a light page whose sidebar menu shows the re-login has happened.
PAGES: dict[str, tuple[str, str, str | None]] = {
    "open": ("/learn", '[data-testid="stSidebarNav"]', None),
    "accounts": ("/accounts", '[data-testid="stDataFrame"]', "Accounts"),
    "account": ("/account?id={id}", '[data-testid="stTabs"]', None),
}
MEASURED = ("accounts", "account")
# In-app navigation, as Streamlit does for the browser's back/forward: same session, a rerun of the
# page at `path`. Also notes (window.__csaiRan) when a run has started since, for _SETTLED_JS.
_NAVIGATE_JS = """(path) => {
  window.__csaiRan = false;
  window.__csaiDoneAt = null;
  if (!window.__csaiObserver) {
    window.__csaiObserver = new MutationObserver(() => {
      const app = document.querySelector('[data-testid="stApp"]');
      if (app && app.getAttribute('data-test-script-state') !== 'notRunning') window.__csaiRan = true;
    });
    window.__csaiObserver.observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
  }
  history.pushState({}, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}"""
# Settled: the run has finished and the expected content is visible, or (once a run has started since
# the navigation) something went wrong or the page has stayed without its content for `graceMs`.
_SETTLED_JS = """([selector, heading, graceMs]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning'
      || document.querySelector('[data-testid="stStatusWidget"]')) { window.__csaiDoneAt = null; return false; }
  const main = document.querySelector('[data-testid="stMain"]');
  const titled = !heading || [...document.querySelectorAll('[data-testid="stMain"] h1')]
    .some((h) => h.innerText.trim() === heading);
  const content = document.querySelector(selector);
  if (titled && content && content.getClientRects().length > 0) return true;
  if (window.__csaiRan === false) return false;
  if (main && main.querySelector('[data-testid="stException"], [data-testid="stAlertContentError"]')) return true;
  window.__csaiDoneAt = window.__csaiDoneAt || performance.now();
  return performance.now() - window.__csaiDoneAt > graceMs;
}"""
# What a user would see as broken on the page: exceptions, error boxes, a blank page, missing content.
PROBLEMS_JS = """([selector, heading]) => {
  const out = [];
  const text = (el) => el.innerText.replace(/\\s+/g, ' ').trim().slice(0, 300);
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return ['blank page: no main area'];
  main.querySelectorAll('[data-testid="stException"]').forEach((e) => out.push('exception: ' + text(e)));
  main.querySelectorAll('[data-testid="stAlertContentError"]').forEach((e) => {
    if (!e.closest('[data-testid="stException"]')) out.push('error: ' + text(e));
  });
  if (!main.querySelector('[data-testid="stElementContainer"]')) out.push('blank page');
  else if (!out.length) {
    const h1 = [...main.querySelectorAll('h1')].map((h) => h.innerText.trim());
    if (heading && !h1.includes(heading)) out.push('expected heading ' + JSON.stringify(heading) + ', got ' + JSON.stringify(h1) + ': ' + text(main));
    const el = document.querySelector(selector);
    if (!el || el.getClientRects().length === 0) out.push('expected content not shown: ' + selector);
  }
  return out;
}"""


async def render(page, base_url: str, page_name: str, *, account_id: str = "", new_tab: bool = False,
                 timeout_s: float = 180, grace_s: float = 15) -> tuple[float, list[str]]:
    """Show ``page_name`` in ``page`` and wait until it has settled; (seconds taken, problems on the page).

    ``new_tab`` loads the URL (a new Streamlit session, whose first run may be the cookie re-login's
    "Signed in" screen, so it waits for the content without ``grace_s``); otherwise the tab's session
    navigates in-app. A page that finished its run ``grace_s`` ago without its content counts as settled.
    Raises Playwright's ``TimeoutError``/``Error`` when the page does not load or settle in ``timeout_s``.
    """
    path, selector, heading = PAGES[page_name]
    path = path.format(id=account_id)
    t = time.perf_counter()
    if new_tab:
        await page.goto(base_url + path, timeout=timeout_s * 1000)
    else:
        await page.evaluate(_NAVIGATE_JS, path)
    left_ms = max(1.0, timeout_s - (time.perf_counter() - t)) * 1000
    grace_ms = left_ms if new_tab else grace_s * 1000
    await page.wait_for_function(_SETTLED_JS, arg=[selector, heading, grace_ms], polling=50, timeout=left_ms)
    dt = time.perf_counter() - t
    return dt, await page.evaluate(PROBLEMS_JS, [selector, heading])


def run(account_ids: list[str], *, sessions: int = 20, username: str = "manager", timeout_s: float = 180) -> dict:
    """Every session renders Accounts, then Account for one id; latency per render (s) and errors.

    Serves ``$CSAI_WORKSPACE`` (its demo user ``username`` signs in) for the duration of the call;
    ``server_peak_mb`` is that server process's peak resident memory (None where /proc is missing).
    """
    with Server(os.environ["CSAI_WORKSPACE"]) as server:
        # Playwright runs in a thread of its own: the caller's thread may already run an event loop.
        with ThreadPoolExecutor(1) as pool:
            out = pool.submit(_drive, server.url, username, demo_password(username), account_ids, sessions,
                              timeout_s).result()
        return {**out, "server_peak_mb": _peak_mb(server.proc.pid)}


def _drive(base_url: str, username: str, password: str, account_ids: list[str], sessions: int,
           timeout_s: float) -> dict:
    from playwright.sync_api import sync_playwright  # deferred: optional dependency (playwright, requirements-dev.txt)

    t = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            state = signed_in_state(browser, base_url, username, password, timeout=timeout_s)
        finally:
            browser.close()
    login_s = time.perf_counter() - t
    out = asyncio.run(_run_sessions(base_url, state, account_ids, sessions, timeout_s))
    return {"driver": "chromium", "login_s": round(login_s, 3), **out}


async def _run_sessions(base_url: str, state: dict, account_ids: list[str], sessions: int, timeout_s: float) -> dict:
    from playwright.async_api import (
        async_playwright,  # deferred: optional dependency (playwright, requirements-dev.txt)
    )

    latencies: dict[str, list[float]] = {name: [] for name in (*PAGES, "first_accounts")}
    errors: list[str] = []
    first_visit_errors: list[str] = []
    measured_from = asyncio.Barrier(sessions + 1)

    async def show(i: int, page, name: str, *, label: str = "", into: list[str] = errors, **kwargs) -> bool:
        label = label or name
        try:
            dt, problems = await render(page, base_url, name, timeout_s=timeout_s, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a timeout or failed navigation is a reported error
            into.append(f"session {i} {label}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
            return False
        latencies[label].append(dt)
        into.extend(f"session {i} {label}: {p}" for p in problems)
        return not problems

    async def session(i: int, page) -> None:
        opened = await show(i, page, "open", new_tab=True)
        if opened:  # the browser's first visit to a data grid, then back to a page without one
            await show(i, page, "accounts", label="first_accounts", into=first_visit_errors, grace_s=timeout_s)
            opened = await show(i, page, "open", new_tab=True)  # reloaded: the code stays in the browser's cache
        await measured_from.wait()
        if opened:
            for name in MEASURED:
                await show(i, page, name, account_id=account_ids[i % len(account_ids)])

    async with async_playwright() as p:
        browser = await p.chromium.launch(**launch_options())
        try:
            contexts = [await browser.new_context(storage_state=state) for _ in range(sessions)]
            pages = [await c.new_page() for c in contexts]
            tasks = [asyncio.create_task(session(i, page)) for i, page in enumerate(pages)]
            await measured_from.wait()
            t0 = time.perf_counter()
            await asyncio.gather(*tasks)
            wall = time.perf_counter() - t0
            for c in contexts:
                await c.close()
        finally:
            await browser.close()
    out: dict = {"sessions": sessions, "wall_s": round(wall, 3), "errors": errors[:20], "error_count": len(errors),
                 "first_visit_errors": first_visit_errors[:20], "first_visit_error_count": len(first_visit_errors)}
    for name, vals in latencies.items():
        if vals:
            out[name] = _stats(vals)
    measured = [v for name in MEASURED for v in latencies[name]]
    if measured:
        out["p50_s"] = round(float(np.percentile(measured, 50)), 3)
        out["p95_s"] = round(float(np.percentile(measured, 95)), 3)
    return out


def _stats(vals: list[float]) -> dict:
    return {"n": len(vals), "p50_s": round(float(np.percentile(vals, 50)), 3),
            "p95_s": round(float(np.percentile(vals, 95)), 3), "max_s": round(max(vals), 3)}


def _peak_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None
    return round(kb / 1024, 1)

"""The playbook pages as tests drive them: the trigger form on its own, and the playbook library's size."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

import playbooks as pb
from playbooks.store import playbooks as playbooks_table

PLAYBOOKS = "views/playbooks.py"
MY_TASKS = "views/my_tasks.py"
ALERTS = "views/alerts.py"
OUTCOMES = "views/outcomes.py"


def playbook_count(ws) -> int:
    """How many playbooks the library holds (the starter ones included)."""
    import sqlalchemy as sa

    pb.ensure_starter_playbooks(ws.engine)
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(playbooks_table)).scalar_one()


def _trigger_script():
    import streamlit as st

    from components import playbook_forms
    from components.session import settings
    from data.users import get_user

    user = get_user(settings().auth_file, st.session_state["test_user"])
    playbook_forms.trigger_form(user, st.session_state["test_account"])


def trigger_app(username: str, account_id: str = "A1") -> AppTest:
    """The "Start playbook" form for ``account_id``, as ``username`` sees it (the workspace is CSAI_WORKSPACE)."""
    at = AppTest.from_function(_trigger_script, default_timeout=30)
    at.session_state["test_user"] = username
    at.session_state["test_account"] = account_id
    return at.run()

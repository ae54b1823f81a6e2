"""The Data, Admin and Learn pages as tests drive them: their paths, the demo roles' labels, and what they wrote."""

from __future__ import annotations

import pandas as pd

from data.opstore import read_audit
from tests.support.apptest import DATA_PAGE

DATA, ADMIN, LEARN = DATA_PAGE, "views/admin.py", "views/learn.py"
ROLE_LABELS = {"admin": "Admin", "manager": "Manager", "datasci": "Data scientist", "csm1": "CSM", "csm2": "CSM"}
"""The tiny workspace's users and the role each sees named on a page that refuses them."""


def table_with(at, column: str) -> pd.DataFrame:
    """The first table on the page with ``column`` (read-only tables carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def accounts(ws) -> pd.DataFrame:
    """The workspace's accounts table as it is now, ordered by id."""
    with ws.warehouse.reader() as con:
        return con.execute("SELECT * FROM accounts ORDER BY account_id").df()


def audit_actions(ws) -> list[str]:
    """The actions in the workspace's audit log, oldest first."""
    return [r["action"] for r in read_audit(ws.engine)]


def refused(at, username: str, title: str) -> bool:
    """Whether the page told ``username`` that their role cannot open ``title``, and showed nothing else."""
    warned = any(f"Your role ({ROLE_LABELS[username]}) cannot open {title}" in w.value for w in at.warning)
    return warned and not at.dataframe and not at.file_uploader

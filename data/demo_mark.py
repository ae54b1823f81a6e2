"""The end of the demo: the first import of real data disables the demo logins.

The demo's logins and passwords are printed on the sign-in page and in the README, so
they must not outlive the sample data. :func:`real_data_imported` is called by the
importer after every successful import (the sample itself is written by
``data.sample``, not the importer); on a demo workspace it clears the demo mark and
disables the demo users (see :func:`data.users.end_demo`).
"""

from __future__ import annotations

from data.settings import Settings
from data.users import end_demo


def real_data_imported(warehouse) -> list[str]:
    """End the demo of the workspace that holds ``warehouse``; returns the usernames disabled."""
    workspace = warehouse.root.parent
    layout = Settings(workspace=workspace, database_url="")
    if layout.warehouse_dir.resolve() != warehouse.root.resolve():
        return []  # a warehouse outside a workspace folder has no users
    return end_demo(layout.auth_file)

"""AppTest fixtures for the page tests.

``run_app``/``APP`` live in ``tests/support/apptest.py`` and the ``tiny_ws`` fixture in
``tests/support/workspaces.py`` (registered for every test by ``tests/conftest.py``); they are
re-exported here only for modules that still import them from this one.
"""

from __future__ import annotations

import pytest

from tests.support.apptest import APP, run_app  # noqa: F401
from tests.support.workspaces import tiny_ws  # noqa: F401


@pytest.fixture(autouse=True)
def served_on_loopback():
    """Streamlit's ``server.address`` set to 127.0.0.1, as ``make run`` does (AppTest leaves it unset,
    and demo logins work only on a loopback address)."""
    from streamlit import config

    old = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", old)

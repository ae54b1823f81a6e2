"""Shim: ``run_app``/``APP`` live in ``tests/support/apptest.py`` and the ``tiny_ws`` fixture in
``tests/support/workspaces.py`` (registered for every test by ``tests/conftest.py``); re-exported here only
for branches that still import them from this module."""

from tests.support.apptest import APP, run_app  # noqa: F401
from tests.support.workspaces import tiny_ws  # noqa: F401

"""Page tests run as ``make run`` serves the app: on 127.0.0.1 (see ``served_on_loopback``).

Helpers (``run_app``, ``texts``, ...) live in ``tests/support/apptest.py``; the ``tiny_ws`` fixture in
``tests/support/workspaces.py`` is registered for every test by ``tests/conftest.py``.
"""

from __future__ import annotations

import pytest

from tests.support.apptest import served_on_loopback  # noqa: F401 - the fixture, registered here


@pytest.fixture(autouse=True)
def _loopback(served_on_loopback):  # noqa: F811 - requests the fixture imported above
    """Demo logins work only on a loopback address; AppTest leaves ``server.address`` unset."""

"""Shim: the synthetic company moved to ``tests/support/synthetic.py`` (kept for branches that import it here)."""

from tests.support.synthetic import *  # noqa: F401,F403
from tests.support.synthetic import make_company, write_company  # noqa: F401

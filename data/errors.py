"""The one exception type for problems a user can cause and fix."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can act on: bad file, bad setting, bad form input.

    Pages show ``str(err)`` with ``st.error``; the CLI prints it and exits non-zero.
    The message must say what is wrong and what to do, without a traceback.
    """

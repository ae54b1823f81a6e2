"""The playbooks room's user-facing errors (both are :class:`data.errors.UserError`)."""

from __future__ import annotations

from data.errors import UserError


class PlaybookError(UserError):
    """A playbook definition or action a user asked for cannot be done as asked."""


class TemplateProblem(PlaybookError):
    """A playbook template cannot be parsed or rendered."""

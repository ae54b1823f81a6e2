"""Sandboxed Jinja2 templates for email subjects and bodies, alert messages, task titles, webhook bodies.

Templates are written by managers in the app, so they are rendered in an
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`: attribute access to internals
(``__class__``, ``mro``, ``func_globals``...) and mutation raise, and an unknown
placeholder renders as an error instead of an empty string. The context is plain data:
``account``, ``contact``, ``drivers``, ``score``, ``playbook``, ``run``, ``csm``.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from playbooks.errors import TemplateProblem

__all__ = ["TemplateProblem", "check_json_templates", "check_template", "render", "render_json"]

_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def check_template(text: str, where: str) -> None:
    """Raise :class:`TemplateProblem` when ``text`` is not a valid template."""
    try:
        _env.parse(text)
    except TemplateError as exc:
        raise TemplateProblem(f"{where}: the template is not valid ({exc.message}); check the {{{{ }}}} and {{% %}} tags.") from None


@functools.lru_cache(maxsize=1024)
def _compiled(text: str) -> Template:
    """The compiled template of ``text`` (compiling costs ~1 ms; a rule run renders thousands of steps)."""
    return _env.from_string(text)


def render(text: str, context: dict[str, Any], where: str = "template") -> str:
    """Render ``text`` with ``context`` in the sandbox; problems raise :class:`TemplateProblem`."""
    if "{" not in text:  # no tag, placeholder or comment: the text renders as itself
        return text
    try:
        return _compiled(text).render(**context)
    except SecurityError as exc:
        raise TemplateProblem(f"{where}: the template tries something not allowed ({exc}); use only the "
                              "placeholders account, contact, drivers, score, playbook, run and csm.") from None
    except TemplateError as exc:
        raise TemplateProblem(f"{where}: {exc.message or exc}; use only the placeholders account, contact, "
                              "drivers, score, playbook, run and csm.") from None


def render_json(value: Any, context: dict[str, Any], where: str = "webhook body") -> Any:
    """Render every string inside a JSON value (dicts, lists, strings, numbers) as a template."""
    if isinstance(value, str):
        return render(value, context, where)
    if isinstance(value, list):
        return [render_json(v, context, where) for v in value]
    if isinstance(value, dict):
        return {str(k): render_json(v, context, where) for k, v in value.items()}
    return value


def check_json_templates(value: Any, where: str) -> None:
    """Parse every string inside a JSON value as a template."""
    if isinstance(value, str):
        check_template(value, where)
    elif isinstance(value, list):
        for v in value:
            check_json_templates(v, where)
    elif isinstance(value, dict):
        for v in value.values():
            check_json_templates(v, where)

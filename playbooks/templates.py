"""Sandboxed Jinja2 templates for email subjects and bodies, alert messages, task titles, webhook bodies.

Templates are written by managers in the app, so they are rendered in an
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`: attribute access to internals
(``__class__``, ``mro``, ``func_globals``...) and mutation raise, and an unknown
placeholder renders as an error instead of an empty string. The context is plain data:
``account``, ``contact``, ``drivers``, ``score``, ``playbook``, ``run``, ``csm``.

Rendering is also bounded, so a template cannot exhaust the server
(:class:`LimitedEnvironment`): per rendered field at most :data:`MAX_OUTPUT_CHARS`
characters of output, :data:`MAX_BUILT_CHARS` characters built along the way (string
and list multiplication or concatenation, padding filters and methods, every ``{{ }}``
output and loop body), :data:`MAX_STEPS` loop iterations and calls, ``range()`` of at
most :data:`MAX_RANGE` items, and :data:`RENDER_SECONDS` of time. Going over raises
:class:`TemplateLimit`. :func:`check_template` (on save) also renders the template once
with empty placeholders, so a template that is too big on its own is refused there.
"""

from __future__ import annotations

import contextvars
import functools
import re
import time
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Template, TemplateError, nodes
from jinja2.filters import (
    do_center,
    do_format,
    do_indent,
    do_join,
    do_replace,
    do_slice,
    do_wordwrap,
    pass_environment,
    pass_eval_context,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from playbooks.errors import TemplateProblem

__all__ = ["TemplateLimit", "TemplateProblem", "check_json_templates", "check_template", "render", "render_json"]

MAX_OUTPUT_CHARS = 100_000
MAX_BUILT_CHARS = 1_000_000
MAX_STEPS = 100_000
MAX_RANGE = 10_000
MAX_POWER_BITS = 10_000
RENDER_SECONDS = 2.0
PLACEHOLDERS = "use only the placeholders account, contact, drivers, score, playbook, run and csm"


class TemplateLimit(TemplateProblem):
    """A template needs more output, loop steps or time than one field may take."""


class _Budget:
    """What one render may still spend (reset for every field)."""

    __slots__ = ("built", "deadline", "steps")

    def __init__(self, seconds: float) -> None:
        self.built = 0
        self.steps = 0
        self.deadline = time.monotonic() + seconds


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("template_budget", default=None)


def _over(what: str) -> TemplateLimit:
    return TemplateLimit(f"the template is too big to render ({what}); a field may produce at most "
                         f"{MAX_OUTPUT_CHARS:,} characters, loop {MAX_STEPS:,} times in all, use range() of at most "
                         f"{MAX_RANGE:,} numbers and take {RENDER_SECONDS:g} s. Simplify it.")


def _tick(n: int = 1) -> None:
    budget = _budget.get()
    if budget is None:
        return
    budget.steps += n
    if budget.steps > MAX_STEPS:
        raise _over(f"more than {MAX_STEPS:,} loop steps and calls")
    if time.monotonic() > budget.deadline:
        raise _over(f"it took longer than {RENDER_SECONDS:g} s")


def _charge(chars: int) -> None:
    """Count ``chars`` characters about to be built; refuse before building past the limits."""
    if chars > MAX_OUTPUT_CHARS * 10:
        raise _over(f"an expression would build {chars:,} characters")
    budget = _budget.get()
    if budget is None:
        return
    budget.built += max(chars, 0)
    if budget.built > MAX_BUILT_CHARS:
        raise _over(f"it builds more than {MAX_BUILT_CHARS:,} characters")


def _size(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(len(v) if isinstance(v, str | bytes) else 1 for v in value)
    return 1


_PERCENT_SPEC = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*:([^{}]*)\}")
_NESTED_SPEC = re.compile(r"\{[^{}]*:[^{}]*\{")


def _check_format(fmt: Any) -> None:
    """Refuse %- and {}-format strings whose widths or precisions would build huge strings."""
    if not isinstance(fmt, str):
        return
    widths = [w for m in _PERCENT_SPEC.finditer(fmt) for w in m.groups() if w]
    widths += [w for spec in _BRACE_SPEC.findall(fmt) for w in re.findall(r"\d+", spec)]
    if "*" in widths or _NESTED_SPEC.search(fmt):
        raise _over("a format width taken from an argument")
    for w in widths:
        if len(w) > 6 or int(w) > MAX_OUTPUT_CHARS:
            raise _over(f"a format width of {w}")


def _replaced_size(s: str, old: str, new: str, count: int | None) -> int:
    hits = len(s) + 1 if old == "" else s.count(old)
    if count is not None and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * (len(new) - len(old))


def _padded(value: Any, width: Any) -> None:
    if isinstance(width, int):
        _charge(max(width, _size(value)))


@pass_eval_context
def _join(eval_ctx, value, d: str = "", attribute=None):
    items = list(value)
    _charge(sum(_size(str(i)) for i in items) + len(str(d)) * max(len(items) - 1, 0))
    return do_join(eval_ctx, items, d, attribute)


def _center(value, width=80):
    _padded(str(value), width)
    return do_center(value, width)


def _indent(s, width=4, first=False, blank=False):
    per_line = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    _charge(len(str(s)) + max(per_line, 0) * (str(s).count("\n") + 1))
    return do_indent(s, width, first, blank)


def _format(value, *args, **kwargs):
    _check_format(value)
    return do_format(value, *args, **kwargs)


@pass_eval_context
def _replace(eval_ctx, s, old, new, count=None):
    _charge(_replaced_size(str(s), str(old), str(new), count))
    return do_replace(eval_ctx, s, old, new, count)


@pass_environment
def _wordwrap(environment, s, width=79, break_long_words=True, wrapstring=None, break_on_hyphens=True):
    lines = len(str(s)) // max(int(width) if isinstance(width, int) else 1, 1) + 1
    _charge(len(str(s)) + lines * len(wrapstring or "\n"))
    return do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


def _slice(value, slices, fill_with=None):
    if not isinstance(slices, int) or slices > MAX_RANGE:
        raise _over(f"slice into {slices} parts")
    return do_slice(value, slices, fill_with)


def _range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise _over(f"range() of {len(rng):,} numbers")
    return rng


def _finalize(value: Any) -> Any:
    """Every ``{{ }}`` output passes here: count what it adds."""
    _charge(len(value) if isinstance(value, str) else 16 if value is None or isinstance(value, int | float) else
            len(str(value)))
    return value


_STR_WIDTH_METHODS = {"center", "ljust", "rjust", "zfill"}


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with caps on output, built strings, loop steps, ``range()`` and time (see the module doc)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalize, **options)
        self.globals["range"] = _range
        self.globals.pop("lipsum", None)
        self.filters.update(join=_join, center=_center, indent=_indent, format=_format, replace=_replace,
                            wordwrap=_wordwrap, slice=_slice)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Parse, then route every ``for`` loop's iterable through :meth:`csai_loop`."""
        tree = super()._parse(source, name, filename)
        for loop in list(tree.find_all(nodes.For)):
            literal = sum(len(d.data) for d in loop.find_all(nodes.TemplateData))
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("csai_loop", lineno=loop.lineno),
                                   [loop.iter, nodes.Const(literal, lineno=loop.lineno)], [], None, None,
                                   lineno=loop.lineno)
        tree.set_environment(self)
        return tree

    @staticmethod
    def csai_loop(iterable: Any, literal_chars: int):
        """Yield the loop's items, counting one step and the body's literal text per iteration."""
        for item in iterable:
            _tick()
            _charge(literal_chars)
            yield item

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | bytes | list | tuple) and isinstance(times, int):
                    _charge(_size(seq) * max(times, 0))
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > \
                    MAX_POWER_BITS:
                raise _over("a number with more than 10,000 bits")
        elif operator == "+" and isinstance(left, str | bytes | list | tuple):
            _charge(_size(left) + _size(right))
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and \
                right > 0 and left.bit_length() * right > MAX_POWER_BITS:
            raise _over("a number with more than 10,000 bits")
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - jinja's signature
        _tick()
        target = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format in a function
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str | bytes):
            method = getattr(target, "__name__", "")
            if method in _STR_WIDTH_METHODS and args:
                _padded(owner, args[0])
            elif method == "expandtabs":
                tab = args[0] if args else kwargs.get("tabsize", 8)
                _charge(len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t") * max(int(tab), 0))
            elif method == "replace" and len(args) >= 2 and isinstance(owner, str):
                _charge(_replaced_size(owner, str(args[0]), str(args[1]), args[2] if len(args) > 2 else None))
            elif method == "join" and args:
                items = list(args[0])
                _charge(sum(_size(i) for i in items) + len(owner) * max(len(items) - 1, 0))
                args = (items, *args[1:])
            elif method in ("format", "format_map"):
                _check_format(owner)
        return super().call(__context, __obj, *args, **kwargs)


_env = LimitedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_trial_env = LimitedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)


def _render_bounded(template: Template, context: dict[str, Any], seconds: float = RENDER_SECONDS) -> str:
    token = _budget.set(_Budget(seconds))
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise _over(f"more than {MAX_OUTPUT_CHARS:,} characters of output")
            out.append(chunk)
        return "".join(out)
    finally:
        _budget.reset(token)


def check_template(text: str, where: str) -> None:
    """Raise :class:`TemplateProblem` when ``text`` is not a valid template."""
    try:
        _env.parse(text)
    except TemplateError as exc:
        raise TemplateProblem(f"{where}: the template is not valid ({exc.message}); check the {{{{ }}}} and {{% %}} tags.") from None
    if "{" not in text:
        return
    try:  # a trial render with empty placeholders: refuses templates too big on their own
        _render_bounded(_trial_env.from_string(text), {})
    except TemplateLimit as exc:
        raise TemplateLimit(f"{where}: {exc}") from None
    except RecursionError:
        raise TemplateLimit(f"{where}: the template calls itself too deeply; simplify it.") from None
    except Exception:  # noqa: BLE001, S110 - other problems depend on the data; render() reports them
        pass


@functools.lru_cache(maxsize=1024)
def _compiled(text: str) -> Template:
    """The compiled template of ``text``, compiled once: a rule run renders thousands of steps."""
    return _env.from_string(text)


def render(text: str, context: dict[str, Any], where: str = "template") -> str:
    """Render ``text`` with ``context`` in the sandbox; problems raise :class:`TemplateProblem`."""
    if "{" not in text:  # no tag, placeholder or comment: the text renders as itself
        return text
    try:
        return _render_bounded(_compiled(text), context)
    except TemplateLimit as exc:
        raise TemplateLimit(f"{where}: {exc}") from None
    except SecurityError as exc:
        raise TemplateProblem(f"{where}: the template tries something not allowed ({exc}); {PLACEHOLDERS}.") from None
    except TemplateError as exc:
        raise TemplateProblem(f"{where}: {exc.message or exc}; {PLACEHOLDERS}.") from None
    except RecursionError:
        raise TemplateLimit(f"{where}: the template calls itself too deeply; simplify it.") from None
    except Exception as exc:  # noqa: BLE001 - e.g. 1/0 or int('x') in a template: the author's error, not a crash
        raise TemplateProblem(f"{where}: the template could not be rendered ({exc.__class__.__name__}: "
                              f"{str(exc)[:200]}); check the expressions in {{{{ }}}}.") from None


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

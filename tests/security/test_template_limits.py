"""Templates cannot exhaust the server: too-big templates are refused on save, and rendering is bounded.

Before: ``{{ 'x' * 200000000 }}`` built 200 MB in the app process and nested ``range()``
loops ran for hours.
"""

from __future__ import annotations

import functools
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main
from playbooks import PlaybookError, create_playbook, trigger_manual
from playbooks.store import playbooks as playbooks_table
from playbooks.store import runs, steps
from playbooks.templates import MAX_OUTPUT_CHARS, TemplateLimit, TemplateProblem, check_template, render
from tests.support.workspaces import build_workspace

HANG = 30  # seconds: a render still running after this is a hang

BOMBS = [
    "{{ 'x' * 200000000 }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(5000) %}{% for j in range(5000) %}.{% endfor %}{% endfor %}",
    "{{ 'x'|center(1000000000) }}",
    "{{ '%999999999s' % 'x' }}",
    "{{ '{:>999999999}'.format('x') }}",
    "{{ 'x'.ljust(10 ** 9) }}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
    "{{ (['a'] * 10000)|join('b' * 10000) }}",
    "{{ ('x' * 50000)|replace('x', 'x' * 50000) }}",
]


def _bounded(fn, *args):
    """Run ``fn`` in a thread; fail the test if it has not returned within :data:`HANG` seconds."""
    outcome: dict = {}

    def go():
        try:
            outcome["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc

    worker = threading.Thread(target=go, daemon=True)
    worker.start()
    worker.join(HANG)
    assert not worker.is_alive(), f"still rendering after {HANG} s"
    return outcome


def _count(ws, table) -> int:
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


@pytest.fixture(scope="module")
def small_ws(tmp_path_factory):
    return build_workspace(tmp_path_factory.mktemp("tmpl") / "ws", n=3)


def _create(ws, name, body):
    return create_playbook(ws.engine, "manager", name=name, steps=[
        {"type": "email", "to": "csm", "subject": "Hi", "body": body}])


@pytest.mark.parametrize("bomb", BOMBS)
def test_template_bomb_refused_on_save(small_ws, bomb):
    before = _count(small_ws, playbooks_table)
    outcome = _bounded(_create, small_ws, "Bomb", bomb)
    error = outcome.get("error")
    assert isinstance(error, TemplateLimit), outcome
    assert str(error).startswith("Step 1 (email) body: the template ")
    assert "Simplify it" in str(error) or "simplify it" in str(error)
    assert _count(small_ws, playbooks_table) == before


def test_template_bomb_in_a_yaml_file_is_refused_by_apply(small_ws, tmp_path, capsys):
    before = _count(small_ws, playbooks_table)
    file = tmp_path / "bomb.yaml"
    file.write_text(yaml.safe_dump({"name": "Bomb", "steps": [{"type": "task", "title": "{{ 'x' * 200000000 }}"}]}))
    assert main(["--workspace", str(small_ws.path), "playbooks", "apply", str(file)]) == 2
    assert "bomb.yaml: Step 1 (task) title: the template is too big to render" in capsys.readouterr().err
    assert _count(small_ws, playbooks_table) == before


@pytest.mark.parametrize("body", [
    # harmless with empty placeholders (so accepted on save), too big with real data
    "{{ account.name * 100000 }}",
    "{% for d in drivers %}{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}{% endfor %}",
])
def test_render_limits_stop_a_template_that_only_explodes_with_data(small_ws, body):
    check_template(body, "body")  # accepted on save
    pb = _create(small_ws, f"Late bomb {len(body)}", body)
    runs_before, steps_before = _count(small_ws, runs), _count(small_ws, steps)
    outcome = _bounded(functools.partial(trigger_manual, actor="maya"), small_ws.engine, small_ws.warehouse, pb.id,
                       "A0001")
    error = outcome.get("error")
    assert isinstance(error, TemplateLimit), outcome
    assert "too big to render" in str(error)
    assert (_count(small_ws, runs), _count(small_ws, steps)) == (runs_before, steps_before)


def test_ordinary_templates_render_as_before():
    ctx = {"account": {"name": "Acme", "id": "A1"}, "drivers": [{"sentence": "Usage fell"}], "contact": {"name": "Ann"}}
    text = "Hi {{ contact.name }}, {{ drivers[0].sentence }} at {{ account.name }}.{% for i in range(3) %}!{% endfor %}"
    assert render(text, ctx) == "Hi Ann, Usage fell at Acme.!!!"
    assert render("{{ '%5s|%-3s' % ('a', 'b') }} {{ 'x'|center(5) }} {{ ['a', 'b']|join(', ') }}", ctx) == \
        "    a|b     x   a, b"


# ---------------------------------------------------------------- property: render or a clear error, never a hang
_numbers = st.sampled_from([0, 1, 3, 10, 99, 1000, 10 ** 5, 10 ** 6, 10 ** 9, -5])
_values = st.sampled_from(["account.name", "contact.name", "'x'", "'ab\\r\\n'", "drivers", "[1, 2]", "score",
                           "account", "1", "none", "''"])


@st.composite
def _expressions(draw, depth=0):
    value = draw(_values)
    n = draw(_numbers)
    forms = [value, f"{value} * {n}", f"{n} * {value}", f"{value} ~ {value}", f"{value} + {value}",
             f"range({n})", f"range({n})|list", f"{value}|center({n})", f"{value}|indent({n})",
             f"'%{n}s' % {value}", f"'{{:>{n}}}'.format({value})", f"{value}|join({value})",
             f"{value}|replace('x', {value})", f"{n} ** {n}", f"{value}|length", f"{value}.upper()",
             f"{value}|wordwrap({n})", f"{value}|slice({n})|list", f"{value}[{n}]", f"{n} / {value}",
             f"{value}.__class__", f"{value}|tojson", f"lipsum({n})"]
    form = draw(st.sampled_from(forms))
    if depth < 1 and draw(st.booleans()):
        form = f"({form}) ~ ({draw(_expressions(depth + 1))})"
    return form


@st.composite
def _templates(draw, depth=0):
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["text", "expr", "loop", "if", "macro", "raw"]))
        if kind == "text":
            parts.append(draw(st.text(max_size=20)))
        elif kind == "raw":
            parts.append(draw(st.text(alphabet="{}%#x ()|'", max_size=12)))
        elif kind == "expr":
            parts.append("{{ " + draw(_expressions()) + " }}")
        elif kind == "loop" and depth < 3:
            parts.append(f"{{% for i in range({draw(_numbers)}) %}}{draw(_templates(depth + 1))}{{% endfor %}}")
        elif kind == "if" and depth < 3:
            parts.append(f"{{% if {draw(_values)} %}}{draw(_templates(depth + 1))}{{% else %}}x{{% endif %}}")
        elif kind == "macro" and depth < 2:
            parts.append(f"{{% macro m(n) %}}{draw(_templates(depth + 1))}{{% if n %}}{{{{ m(n - 1) }}}}"
                         f"{{{{ m(n - 1) }}}}{{% endif %}}{{% endmacro %}}{{{{ m({draw(_numbers) % 60}) }}}}")
    return "".join(parts)


_CTX = {"account": {"name": "Evil\r\nCorp =1+1 <b>x</b>", "id": "A1"}, "contact": {"name": "Ann"},
        "drivers": [{"sentence": "Usage fell"}], "score": {"risk_band": "high"}, "playbook": {"name": "P"},
        "run": {"id": 1}, "csm": "Maya"}


@settings(max_examples=80, deadline=timedelta(seconds=HANG), suppress_health_check=[HealthCheck.too_slow])
@given(_templates())
def test_random_templates_render_or_raise_the_project_error(text):
    for fn, args in ((render, (text, _CTX)), (check_template, (text, "body"))):
        try:
            out = fn(*args)
        except TemplateProblem as exc:
            assert isinstance(exc, PlaybookError) and str(exc)
        else:
            assert out is None or (isinstance(out, str) and len(out) <= MAX_OUTPUT_CHARS)

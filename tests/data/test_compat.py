"""data.compat: each workaround on other libraries' private details works, and its version guard falls back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data import compat
from data.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]


def _streamlit_css(styler) -> str:
    """The cell CSS Streamlit sends to the browser for ``styler`` (its own marshalling)."""
    from streamlit.elements.lib.pandas_styler_utils import marshall_styler
    from streamlit.proto.ArrowData_pb2 import ArrowData

    proto = ArrowData()
    marshall_styler(proto, styler, "uuid")
    return proto.styler.styles


@pytest.mark.parametrize("version", [None, "4.0.0"])  # installed pandas (hooks), and an unknown major (public API)
def test_prepared_styler_gives_streamlit_the_same_cell_css(version):
    frame = pd.DataFrame({"name": ["a", "b", "c"], "band": ["high", "low", "high"]})
    css = {(0, 1): "color: #d64545; font-weight: 600", (2, 1): "color: #d64545; font-weight: 600"}
    styler = compat.prepared_styler(frame, css, version=version)
    out = _streamlit_css(styler)
    assert "row0_col1" in out and "row2_col1" in out and "row1_col1" not in out
    assert "color: #d64545" in out and "font-weight: 600" in out
    hooked = "_translate" in vars(styler)
    assert hooked is (version is None and compat.styler_hooks_supported())


def test_styler_guard_knows_the_installed_pandas_and_refuses_unknown_ones():
    assert compat.styler_hooks_supported()  # pandas 3 (requirements.txt): the fast path is in use
    assert not compat.styler_hooks_supported("4.0.0")
    assert not compat.styler_hooks_supported("1.5.3")


def test_small_pages_turns_huge_pages_off_and_restores_the_setting():
    switch = compat.hugepage_switch()
    assert switch is not None  # numpy 2 (requirements.txt)
    original = switch(True)
    try:
        with compat.small_pages():
            assert switch(False) is False  # off inside (read back, and left off)
        assert switch(True) is True  # restored after
        with compat.small_pages(version="3.0.0"):  # an unknown numpy: the switch is not touched
            assert switch(True) is True
    finally:
        switch(original)


def test_pointer_stamp_changes_when_a_snapshot_is_published(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    assert wh.pointer_stamp() is None
    with wh.writer("results") as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    first = wh.pointer_stamp()
    assert first is not None
    assert wh.pointer_stamp() == first  # unchanged without a publish
    with wh.writer("results") as con:
        con.execute("CREATE TABLE u AS SELECT 2 AS y")
    assert wh.pointer_stamp() != first


def _blas_threads(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in compat.THREAD_VARIABLES and k != "CSAI_BLAS_THREADS"}
    env["PYTHONPATH"] = str(ROOT)
    prelude = ("import numpy, threadpoolctl\n"
               "threadpoolctl.threadpool_limits(limits=2, user_api='blas')\n"
               "def blas():\n"
               "    return sorted({i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'})\n")
    proc = subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_importing_models_keeps_the_callers_threads_and_the_cli_limits_them():
    assert _blas_threads("import models, models.training, models.scoring\nprint(blas())") == "[2]"
    assert _blas_threads("import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
                         "print(blas())").endswith("[1]")

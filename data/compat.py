"""Workarounds that lean on another library's private details, in one place, each behind a version guard.

Every workaround here buys speed only; when a guard says the installed version is not one
it was checked against, the public (slower) way is used instead, so an upgrade can make the
app slower but never wrong. ``tests/data/test_compat.py`` checks each one and its fallback.

* :func:`prepared_styler` - hand Streamlit a pandas ``Styler`` whose cell CSS is computed
  already, through the ``_compute`` / ``_translate`` hooks Streamlit calls (pandas 2 and 3).
* :func:`small_pages` - turn off numpy's transparent huge pages for large arrays while a
  block runs (``numpy._core.multiarray._set_madvise_hugepage``, numpy 2).
* :func:`limit_threads` - one BLAS and one OpenMP thread per process (threadpoolctl). The
  entry points call it (``app.py``, ``cli.py``, the benchmarks, the test session); a
  notebook that imports ``models`` keeps its own threads.

Nothing here imports streamlit.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

try:
    from numpy._core.multiarray import _set_madvise_hugepage
except ImportError:  # a numpy without the private switch
    _set_madvise_hugepage = None

PANDAS_STYLER_HOOKS = (2, 3)  # pandas major versions whose Styler._compute/_translate Streamlit calls as we use them
NUMPY_HUGEPAGE_SWITCH = (2,)  # numpy major versions with numpy._core.multiarray._set_madvise_hugepage


def _major(version: str) -> int:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return -1


def styler_hooks_supported(version: str | None = None) -> bool:
    """True when the installed pandas (or ``version``) has the Styler hooks :func:`prepared_styler` replaces."""
    from pandas.io.formats.style import Styler  # deferred: import time (Styler loads jinja2)

    major = _major(version or pd.__version__)
    return major in PANDAS_STYLER_HOOKS and hasattr(Styler, "_compute") and hasattr(Styler, "_translate")


def prepared_styler(frame: pd.DataFrame, cell_css: dict[tuple[int, int], str], *, version: str | None = None):
    """A ``Styler`` of ``frame`` with ``cell_css`` ((row, column) position -> CSS) and nothing else.

    A plain Styler renders every cell in Python before Streamlit reads it (about a second per
    rerun for 6,000 rows). Where the hooks are known, this one skips that: ``_compute``
    returns the Styler and ``_translate`` the prepared CSS. Elsewhere it is the public
    ``Styler.apply`` with the same CSS.
    """
    styler = frame.style
    if not cell_css:
        return styler
    if not styler_hooks_supported(version):
        css = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for (row, col), value in cell_css.items():
            css.iat[row, col] = value
        return styler.apply(lambda _: css, axis=None)
    by_css: dict[str, list[str]] = {}
    for (row, col), value in cell_css.items():
        by_css.setdefault(value, []).append(f"row{row}_col{col}")
    translated = {
        "table_styles": [], "body": [], "caption": None,
        "cellstyle": [{"props": _props(value), "selectors": selectors} for value, selectors in by_css.items()],
    }
    styler._compute = lambda: styler
    styler._translate = lambda *args, **kwargs: translated
    return styler


def _props(css: str) -> list[tuple[str, str]]:
    pairs = (item.split(":", 1) for item in css.split(";") if ":" in item)
    return [(k.strip(), v.strip()) for k, v in pairs]


def hugepage_switch(version: str | None = None):
    """numpy's huge-page switch (``_set_madvise_hugepage``), or None where this numpy is not known to have it."""
    if _major(version or np.__version__) not in NUMPY_HUGEPAGE_SWITCH:
        return None
    return _set_madvise_hugepage


@contextlib.contextmanager
def small_pages(*, version: str | None = None) -> Iterator[None]:
    """No transparent huge pages for numpy's new arrays while the block runs; the setting is restored after.

    numpy asks Linux for huge pages (``madvise``) for every array of 4 MB or more; with the
    common kernel default (``defrag=madvise``) each first touch of such an array may wait for
    memory compaction. Building metrics allocates hundreds of fresh per-row arrays, which made
    the build slower and uneven from run to run with huge pages (figures in the README,
    *Performance*). Process-wide while it lasts; it only changes speed. A no-op without the switch.
    """
    switch = hugepage_switch(version)
    if switch is None:
        yield
        return
    before = switch(False)
    try:
        yield
    finally:
        switch(before)


THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_threads_set: int | None = None


def limit_threads(n: int | None = None) -> int:
    """Limit BLAS and OpenMP to ``n`` threads (default ``CSAI_BLAS_THREADS``, else 1) for this process.

    OpenBLAS otherwise starts a thread per core that busy-waits between calls, which makes fits
    many times slower on a busy machine (figures in the README, *Performance*).
    Libraries loaded already are limited through threadpoolctl; ones loaded later read the
    ``*_NUM_THREADS`` variables (set only where the environment does not set them). Returns
    the limit. Call it from entry points only, never on import of a library module; calling it
    again with the same limit (every Streamlit rerun) does nothing.
    """
    global _threads_set

    if n is None:
        try:
            n = int(os.environ.get("CSAI_BLAS_THREADS", "1"))
        except ValueError:
            n = 1
    n = max(1, int(n))
    if _threads_set == n:
        return n
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(n))
    threadpool_limits(limits=n, user_api="blas")
    threadpool_limits(limits=n, user_api="openmp")
    _threads_set = n
    return n

"""Fail any AppTest run whose page raised, unless the test is marked ``page_exception_expected``.

``app.py`` catches an unexpected page exception, logs it (logger ``csai.pages``) and shows a plain
message, so such a crash is caught here from that log record as well as from ``at.exception``.

AppTest does not raise a page's exception: it records it in ``at.exception``. A test that only
looks for (or for the absence of) some text would then pass on a crashed page. Installed for every
test by ``tests/conftest.py``; it wraps ``AppTest._run``, which every ``run()``, ``click().run()``
and ``switch_page().run()`` goes through.
"""

from __future__ import annotations

import logging
import sys

import pytest

MARKER = "page_exception_expected"


def page_crash_messages(at) -> list[str]:
    """The exceptions a run recorded, as the first line of each message."""
    return [str(getattr(e, "message", e)).splitlines()[0] if str(getattr(e, "message", e)) else repr(e)
            for e in at.exception]


@pytest.fixture(autouse=True)
def fail_on_page_exception(request, monkeypatch):
    expected = request.node.get_closest_marker(MARKER) is not None
    from streamlit.testing.v1 import AppTest

    original = AppTest._run
    logged: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                logged.append(record)

    handler = Keep()
    page_log = logging.getLogger("csai.pages")
    page_log.addHandler(handler)

    def checked_run(self, *args, **kwargs):
        # A run leaves the page script as ``__main__``; processes spawned later in the session would
        # then re-run app.py on import. Put the real ``__main__`` back after every run.
        main = sys.modules.get("__main__")
        try:
            result = original(self, *args, **kwargs)
        finally:
            if main is not None:
                sys.modules["__main__"] = main
        crashes = page_crash_messages(self) + [
            f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage() for r in logged]
        logged.clear()
        if crashes and not expected:
            raise AssertionError(f"the page raised an exception: {crashes}")
        return result

    monkeypatch.setattr(AppTest, "_run", checked_run)
    try:
        yield
    finally:
        page_log.removeHandler(handler)

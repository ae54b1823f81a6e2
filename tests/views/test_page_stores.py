"""The pages of one server process never mix operational stores: one workspace folder served first with its
SQLite file, then with a PostgreSQL database (``CSAI_DATABASE_URL``), then with SQLite again."""

from __future__ import annotations

from playbooks.definitions import create_playbook
from tests.support.apptest import run_app

PLAYBOOKS = "views/playbooks.py"
STEPS = [{"type": "task", "title": "Call {{ account.name }}", "due_days": 2}]


def library(at) -> list[str]:
    assert not at.exception
    return at.dataframe[0].value["name"].tolist()


def test_one_folder_served_with_another_store_shows_that_stores_rows(tiny_ws, postgres_url, postgres_template,
                                                                      monkeypatch):
    from data.opstore import dispose_engine, get_engine
    from tests.support.postgres import new_database

    monkeypatch.delenv("CSAI_DATABASE_URL", raising=False)
    pg_url = new_database(postgres_url, template=postgres_template)
    create_playbook(get_engine(pg_url), "manager", name="Only in PostgreSQL", steps=STEPS, holdout_pct=0)
    try:
        on_sqlite = library(run_app("manager", PLAYBOOKS))
        assert "Usage drop: re-engage" in on_sqlite and "Only in PostgreSQL" not in on_sqlite

        monkeypatch.setenv("CSAI_DATABASE_URL", pg_url)
        assert "Only in PostgreSQL" in library(run_app("manager", PLAYBOOKS))

        monkeypatch.delenv("CSAI_DATABASE_URL")
        assert "Only in PostgreSQL" not in library(run_app("manager", PLAYBOOKS))
    finally:
        dispose_engine(pg_url)

"""Alembic environment for the operational store.

The app and ``cli.py migrate`` pass an open connection in ``config.attributes["connection"]``
(taken under the migration lock, see :mod:`data.migrations`). The ``alembic`` command line
(``-c data/migrations/alembic.ini``) connects to the workspace's own URL from the settings.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from data.opstore import metadata, register_tables

register_tables()
config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER on SQLite needs table copies
        compare_type=True,
        on_version_apply=config.attributes.get("on_version_apply"),
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from data.settings import load_settings

    engine = sa.create_engine(load_settings().database_url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()

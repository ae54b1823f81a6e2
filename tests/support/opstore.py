"""Reading an operational store back in tests: every row of every table, to compare before and after."""

from __future__ import annotations

import sqlalchemy as sa


def dump_store(url: str) -> dict[str, list[tuple]]:
    """Every row of every operational-store table (but alembic_version), in key order."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        out = {}
        with engine.connect() as conn:
            for name, table in sorted(meta.tables.items()):
                if name == "alembic_version":
                    continue
                order = list(table.primary_key.columns) or list(table.columns)
                out[name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
        return out
    finally:
        engine.dispose()

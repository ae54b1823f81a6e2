"""A hand-made three-account company for fast, exact tests of queries and scoping."""

from __future__ import annotations

from data.warehouse import Warehouse

TINY_END = "2026-06-30"


def write_tiny(warehouse: Warehouse) -> None:
    with warehouse.writer("raw", fresh=True) as con:
        con.execute("""
            INSERT INTO accounts VALUES
              ('A1', 'Acme Corp', 'SMB', 'Retail', 'NA', 'Starter', 'Avery Chen', DATE '2025-01-10'),
              ('A2', 'Globex', 'Enterprise', 'Finance', 'EMEA', 'Enterprise', 'Jordan Patel', DATE '2024-03-01'),
              ('A3', 'Initech', 'Mid-Market', 'Software', 'NA', 'Growth', 'Avery Chen', DATE '2024-06-15')""")
        con.execute("""
            INSERT INTO subscriptions VALUES
              ('A1', 'Core', DATE '2025-01-10', NULL, 250, 10, 'monthly', NULL),
              ('A2', 'Core', DATE '2024-03-01', DATE '2025-03-01', 15000, 400, 'annual', DATE '2025-03-01'),
              ('A2', 'Core', DATE '2025-03-01', NULL, 18000, 450, 'annual', DATE '2026-09-01'),
              ('A3', 'Core', DATE '2024-06-15', DATE '2026-02-15', 2500, 60, 'monthly', NULL)""")
        con.execute("""
            INSERT INTO events VALUES
              ('A1', TIMESTAMP '2026-06-01', 'login', 4, NULL),
              ('A1', TIMESTAMP '2026-06-02', 'login', 6, NULL),
              ('A1', TIMESTAMP '2026-06-02', 'report_run', 3, NULL),
              ('A2', TIMESTAMP '2026-06-03', 'login', 1, 'u1'),
              ('A2', TIMESTAMP '2026-06-03', 'login', 1, 'u2')""")
        con.execute("""
            INSERT INTO tickets VALUES
              ('T1', 'A1', TIMESTAMP '2026-05-01 09:00', TIMESTAMP '2026-05-03 09:00', 'urgent', 2),
              ('T2', 'A2', TIMESTAMP '2026-05-05 09:00', NULL, 'low', NULL)""")
        con.execute("INSERT INTO nps VALUES ('A1', TIMESTAMP '2026-04-01', 3, 'Too slow'), "
                    "('A2', TIMESTAMP '2026-04-01', 10, 'Love it')")
        con.execute("INSERT INTO invoices VALUES ('I1', 'A1', DATE '2026-05-10', DATE '2026-05-24', NULL, 250, 'failed')")
        con.execute("INSERT INTO contacts VALUES ('C1', 'A1', 'pat@acme.test', 'champion', DATE '2025-01-10', DATE '2026-05-20')")
        con.execute("INSERT INTO workspace_meta VALUES ('end_date', ?)", [TINY_END])

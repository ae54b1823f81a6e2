"""Reading a large query into pandas chunk by chunk gives exactly ``.df()``'s frame, and latest scores read only
the columns asked for (``data/readmodel.fetch_frame``, ``latest_scores(columns=...)``)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from data import readmodel

ROWS = 5_000  # over two DuckDB vectors of 2,048: three chunks at vectors=1

TYPES = """
    SELECT i AS n,
           CASE WHEN i % 7 = 0 THEN NULL ELSE 'name ' || i END AS s,
           CASE WHEN i < 2048 THEN NULL ELSE 'late' END AS s_null_first_chunk,
           CASE WHEN i >= 4096 THEN NULL ELSE 'early' END AS s_null_last_chunk,
           CASE WHEN i < 2048 THEN NULL ELSE CAST(i AS INTEGER) END AS i_null_first_chunk,
           CASE WHEN i < 2048 THEN NULL ELSE DATE '2024-01-01' END AS d_null_first_chunk,
           CASE WHEN i < 2048 THEN NULL ELSE i / 2.0 END AS f_null_first_chunk,
           CASE WHEN i < 2048 THEN NULL ELSE true END AS b_null_first_chunk,
           CASE WHEN i < 2048 THEN NULL ELSE [i] END AS l_null_first_chunk,
           CAST(NULL AS VARCHAR) AS s_always_null,
           DATE '2024-01-01' + CAST(i % 400 AS INTEGER) AS d,
           CASE WHEN i % 5 = 0 THEN NULL ELSE TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i) MINUTE END AS ts,
           CASE WHEN i % 3 = 0 THEN NULL ELSE i / 3.0 END AS f,
           CASE WHEN i % 4 = 0 THEN NULL ELSE CAST(i AS INTEGER) END AS i32,
           CAST(i AS BIGINT) * 1000000 AS i64,
           CASE WHEN i % 6 = 0 THEN NULL ELSE i % 2 = 0 END AS b,
           sum(i % 10) OVER (ORDER BY i) AS running,
           CAST(i % 3 AS DECIMAL(10, 2)) AS dec,
           CASE WHEN i % 9 = 0 THEN NULL ELSE [i, i + 1] END AS l
    FROM range(?) t(i) ORDER BY i
"""


@pytest.mark.parametrize("rows", [0, 1, ROWS])
def test_a_chunked_read_equals_the_whole_read_column_for_column(rows):
    con = duckdb.connect()
    whole = con.execute(TYPES, [rows]).df()
    chunked = readmodel.fetch_frame(con.execute(TYPES, [rows]), vectors=1)
    assert list(chunked.columns) == list(whole.columns)
    pd.testing.assert_frame_equal(chunked, whole, check_dtype=True, check_index_type=True)
    assert chunked.index.equals(pd.RangeIndex(rows))
    if rows == ROWS:  # the column that is blank in the first chunk keeps its type and its later values
        assert chunked["s_null_first_chunk"].isna().sum() == 2048 and (chunked["s_null_first_chunk"][2048:] == "late").all()


def test_the_default_chunk_reads_a_result_larger_than_one_chunk():
    con = duckdb.connect()
    sql = "SELECT i, 'x' || i AS s FROM range(?) t(i) ORDER BY i"
    n = readmodel.FETCH_VECTORS * 2048 + 10
    frame = readmodel.fetch_frame(con.execute(sql, [n]))
    pd.testing.assert_frame_equal(frame, con.execute(sql, [n]).df())


@pytest.fixture()
def scored():
    con = duckdb.connect()
    fields = ", ".join(f'"{c}" {t}' for c, t in readmodel.SCORE_FIELDS.items())
    con.execute(f"CREATE TABLE scores ({fields})")
    con.execute("""INSERT INTO scores (scored_at, obs_date, account_id, model_id, target, p_churn, risk_band, arr,
                                       expected_arr_loss)
                   VALUES (TIMESTAMP '2024-05-01 10:00', DATE '2024-05-01', 'A1', 'm1', 'churn', 0.2, 'low', 1000, 200),
                          (TIMESTAMP '2024-06-01 10:00', DATE '2024-06-01', 'A1', 'm1', 'churn', 0.7, 'high', 1000, 700),
                          (TIMESTAMP '2024-06-01 10:00', DATE '2024-06-01', 'A2', 'm1', 'churn', 0.4, 'medium', 50, 20)""")
    return con


def test_latest_scores_read_only_the_columns_asked_for_in_that_order(scored):
    every = readmodel.latest_scores(scored)
    assert list(every.columns) == readmodel.LATEST_SCORE_COLUMNS
    assert dict(zip(every["account_id"], every["p_churn"], strict=True)) == {"A1": 0.7, "A2": 0.4}
    some = readmodel.latest_scores(scored, columns=["p_churn", "account_id", "p_churn_change"])
    assert list(some.columns) == ["p_churn", "account_id", "p_churn_change"]
    pd.testing.assert_frame_equal(some, every[["p_churn", "account_id", "p_churn_change"]])
    assert some.set_index("account_id")["p_churn_change"].round(9).to_dict()["A1"] == 0.5
    without_id = readmodel.latest_scores(scored, ["A2"], columns=["risk_band"])
    assert list(without_id.columns) == ["risk_band"] and list(without_id["risk_band"]) == ["medium"]


def test_latest_scores_refuse_a_column_they_do_not_have(scored):
    with pytest.raises(ValueError, match="latest_scores has no column 'p_churn; DROP TABLE scores'"):
        readmodel.latest_scores(scored, columns=["p_churn; DROP TABLE scores"])
    assert scored.execute("SELECT count(*) FROM scores").fetchone() == (3,)

-- Continuous subscription spells per account: overlapping or adjacent subscriptions, and gaps
-- of at most $gap_days days, are one spell. A spell whose end is not open (9999-12-31) ends in churn.
-- Parameter: $gap_days (INTEGER).
WITH
s AS (
    SELECT account_id, start_date, coalesce(end_date, DATE '9999-12-31') AS end_date
    FROM subscriptions
),
ordered AS (
    SELECT *,
           max(end_date) OVER (PARTITION BY account_id ORDER BY start_date, end_date
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM s
),
flagged AS (
    SELECT *, CASE WHEN prev_end IS NULL OR start_date > prev_end + $gap_days THEN 1 ELSE 0 END AS new_spell
    FROM ordered
),
numbered AS (
    SELECT *, sum(new_spell) OVER (PARTITION BY account_id ORDER BY start_date, end_date
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS spell
    FROM flagged
)
SELECT account_id, spell, min(start_date) AS spell_start, max(end_date) AS spell_end
FROM numbered
GROUP BY ALL

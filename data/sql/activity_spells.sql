-- Activity spells, for accounts without billing data (churn = no activity for $inactive_days days, the
-- read model's definition in account_state.sql): runs of active days with gaps shorter than $inactive_days.
-- spell_end: the day the account has been inactive for $inactive_days days (its last active day +
-- $inactive_days), i.e. its churn date; 9999-12-31 when that day lies after $data_end (still active as far
-- as the data knows: right-censored). Events after $data_end are ignored.
-- Parameters: $inactive_days (INTEGER), $data_end (DATE, the last day of history).
-- An account is active on the eve of a date d when a spell has spell_start < d <= spell_end; that needs
-- only events before d (the last one within $inactive_days days before d).
WITH
days AS (
    SELECT DISTINCT account_id, CAST(event_time AS DATE) AS day
    FROM events
    WHERE CAST(event_time AS DATE) <= CAST($data_end AS DATE)
),
flagged AS (
    SELECT account_id, day,
           CASE WHEN lag(day) OVER w IS NULL OR datediff('day', lag(day) OVER w, day) >= CAST($inactive_days AS INTEGER)
                THEN 1 ELSE 0 END AS new_spell
    FROM days
    WINDOW w AS (PARTITION BY account_id ORDER BY day)
),
numbered AS (
    SELECT *, sum(new_spell) OVER (PARTITION BY account_id ORDER BY day ROWS UNBOUNDED PRECEDING) AS spell
    FROM flagged
)
SELECT account_id, spell, min(day) AS spell_start,
       CASE WHEN CAST(max(day) + CAST($inactive_days AS INTEGER) AS DATE) > CAST($data_end AS DATE)
            THEN DATE '9999-12-31'
            ELSE CAST(max(day) + CAST($inactive_days AS INTEGER) AS DATE) END AS spell_end
FROM numbered
GROUP BY ALL

-- Distinct named users (user_id) per account in the 30 days before each observation date.
-- Inputs: obs_accounts(acc INTEGER, account_id VARCHAR), obs_dates(date_no INTEGER, day_no INTEGER)
-- (day_no: the observation date as days since 1970-01-01); parameter $end (the last observation date).
-- Only accounts and dates with at least one named user get a row.
WITH
windows AS (                                        -- each day maps to the dates whose 30-day window holds it
    SELECT CAST(DATE '1970-01-01' + CAST(o.day_no - r.back AS INTEGER) AS TIMESTAMP) AS day, o.date_no
    FROM obs_dates o
    CROSS JOIN range(1, 31) r(back)
),
user_days AS (
    SELECT DISTINCT a.acc, date_trunc('day', e.event_time) AS day, e.user_id
    FROM events e
    JOIN obs_accounts a ON a.account_id = e.account_id
    WHERE e.user_id IS NOT NULL AND e.event_time < $end
)
SELECT u.acc, w.date_no, count(DISTINCT u.user_id) AS named_users_30d
FROM user_days u
JOIN windows w ON w.day = u.day
GROUP BY ALL

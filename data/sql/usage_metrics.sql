-- Active days and daily active users per account and day bin (events of every type).
-- Inputs: obs_accounts(acc INTEGER, account_id VARCHAR), day_bins(day_no INTEGER, bin INTEGER) as in
-- event_metrics.sql; parameter $end (the last observation date; later events are not read).
-- A day's active users are its distinct named users when it has any, else the summed quantity of its
-- anonymous login events (NULL when it has neither). Per bin: days with any event, the sum of daily
-- users (NULL days count 0) and the busiest day's users; window metrics are taken from these in
-- data/metrics.py.
WITH
bins AS (SELECT CAST(DATE '1970-01-01' + day_no AS TIMESTAMP) AS day, bin FROM day_bins),
named AS (                                          -- distinct named users per account and day
    SELECT a.acc, date_trunc('day', e.event_time) AS day, count(DISTINCT e.user_id) AS named_users
    FROM events e
    JOIN obs_accounts a ON a.account_id = e.account_id
    WHERE e.user_id IS NOT NULL AND e.event_time < $end
    GROUP BY ALL
),
daily AS (                                          -- one row per account and day with any event
    SELECT a.acc, date_trunc('day', e.event_time) AS day,
           sum(e.quantity) FILTER (WHERE e.event_type = 'login' AND e.user_id IS NULL) AS login_quantity
    FROM events e
    JOIN obs_accounts a ON a.account_id = e.account_id
    WHERE e.event_time < $end
    GROUP BY ALL
),
daily_users AS (
    SELECT d.acc, d.day,
           CASE WHEN n.named_users > 0 THEN n.named_users ELSE d.login_quantity END AS users
    FROM daily d
    LEFT JOIN named n ON n.acc = d.acc AND n.day = d.day
)
SELECT u.acc, b.bin,
       count(*) AS active_days,
       sum(coalesce(u.users, 0)) AS users_sum,
       max(u.users) AS users_max
FROM daily_users u
JOIN bins b ON b.day = u.day
GROUP BY ALL

-- Per event type metrics as of each observation date (long format, pivoted in Python).
-- Input: obs(account_id VARCHAR, obs_date DATE). Output: one row per (obs row, event_type)
-- for every event type in event_type_list (by default every event_type present in `events`),
-- so new event types need no code.
-- Reads only events strictly before obs_date.
WITH
win AS (
    SELECT o.account_id, o.obs_date, e.event_type,
           sum(e.quantity) FILTER (WHERE e.event_time >= o.obs_date - 30) AS qty_30d,
           sum(e.quantity) FILTER (WHERE e.event_time < o.obs_date - 30) AS qty_prev_60d,
           sum(e.quantity) AS qty_90d
    FROM obs o
    JOIN events e
      ON e.account_id = o.account_id
     AND e.event_time < o.obs_date
     AND e.event_time >= o.obs_date - 90
    GROUP BY ALL
),
types AS (SELECT event_type FROM event_type_list),
grid AS (SELECT o.account_id, o.obs_date, t.event_type FROM obs o CROSS JOIN types t),
event_days AS (
    SELECT account_id, event_type, CAST(event_time AS DATE) AS day
    FROM events
    GROUP BY ALL
),
recency AS (                                    -- latest event day strictly before obs_date
    SELECT g.account_id, g.obs_date, g.event_type, date_diff('day', d.day, g.obs_date) AS days_since
    FROM grid g
    ASOF LEFT JOIN event_days d
      ON d.account_id = g.account_id AND d.event_type = g.event_type AND g.obs_date > d.day
)
SELECT r.account_id, r.obs_date, r.event_type,
       coalesce(w.qty_30d, 0) AS qty_30d,
       coalesce(w.qty_prev_60d, 0) AS qty_prev_60d,
       coalesce(w.qty_90d, 0) AS qty_90d,
       r.days_since
FROM recency r
LEFT JOIN win w ON w.account_id = r.account_id AND w.obs_date = r.obs_date AND w.event_type = r.event_type

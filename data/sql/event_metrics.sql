-- Per event type metrics as of each observation date (long format, pivoted in Python).
-- Input: obs(account_id VARCHAR, obs_date DATE). Output: one row per (obs row, event_type)
-- for every event type in event_type_list (by default every event_type present in `events`),
-- so new event types need no code.
-- Reads only events strictly before obs_date.
--
-- Events are first reduced to one row per (account, event_type, day) with a running total
-- of quantity by day. A window total is then the difference of two as-of lookups: the
-- running total on the last event day before obs_date, minus the one before obs_date - 30
-- (or - 90). Every event row is read once, however many observation dates there are.
WITH
accs AS (SELECT account_id, row_number() OVER () AS acc_no FROM (SELECT DISTINCT o.account_id FROM obs o)),
types AS (SELECT event_type, row_number() OVER () AS type_no FROM (SELECT DISTINCT event_type FROM event_type_list)),
daily AS (
    SELECT a.acc_no, t.type_no, CAST(e.event_time AS DATE) AS day, sum(e.quantity) AS qty
    FROM events e
    JOIN accs a ON a.account_id = e.account_id
    JOIN types t ON t.event_type = e.event_type
    WHERE e.event_time < (SELECT max(o.obs_date) FROM obs o)
    GROUP BY ALL
),
running AS (
    SELECT acc_no, type_no, day,
           sum(qty) OVER (PARTITION BY acc_no, type_no ORDER BY day
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_qty
    FROM daily
),
grid AS (
    SELECT o.account_id, a.acc_no, o.obs_date, t.event_type, t.type_no
    FROM obs o JOIN accs a ON a.account_id = o.account_id CROSS JOIN types t
),
probes AS (
    SELECT g.*, p.lag, g.obs_date - p.lag AS probe_date
    FROM grid g CROSS JOIN (VALUES (0), (30), (90)) p(lag)
),
looked_up AS (
    SELECT p.account_id, p.obs_date, p.event_type,
           max(r.day) FILTER (WHERE p.lag = 0) AS last_day,
           coalesce(max(r.cum_qty) FILTER (WHERE p.lag = 0), 0) AS cum_0,
           coalesce(max(r.cum_qty) FILTER (WHERE p.lag = 30), 0) AS cum_30,
           coalesce(max(r.cum_qty) FILTER (WHERE p.lag = 90), 0) AS cum_90
    FROM probes p
    ASOF LEFT JOIN running r
      ON r.acc_no = p.acc_no AND r.type_no = p.type_no AND p.probe_date > r.day
    GROUP BY ALL
)
SELECT account_id, obs_date, event_type,
       cum_0 - cum_30 AS qty_30d,
       cum_30 - cum_90 AS qty_prev_60d,
       cum_0 - cum_90 AS qty_90d,
       date_diff('day', last_day, obs_date) AS days_since
FROM looked_up

-- Mart: the workspace's as-of date, the end of the data (defined here once; data/readmodel.py reads it).
-- Staging: every dated activity row (events, tickets opened, invoices issued, NPS responses) and, only
-- for workspaces without any activity, subscription start and end dates. Parameter: $cap (DATE), the
-- import date: rows dated after it are *future-dated*; they are counted per table and never move the date.
-- A subscription booked to start next quarter therefore leaves the as-of date where the activity ends.

-- name: stored
-- The date stored for the workspace: a user's override first, then the end stored at import (or by the
-- sample generator; older workspaces wrote 'end' or 'data_end').
SELECT value, key
FROM workspace_meta
WHERE key IN ('as_of_override', 'end_date', 'end', 'data_end') AND value IS NOT NULL
ORDER BY CASE key WHEN 'as_of_override' THEN 0 WHEN 'end_date' THEN 1 WHEN 'end' THEN 2 ELSE 3 END
LIMIT 1;

-- name: data_end
WITH
stg_activity AS (
    SELECT 'events' AS source, CAST(event_time AS DATE) AS day FROM events
    UNION ALL SELECT 'tickets', CAST(opened_at AS DATE) FROM tickets
    UNION ALL SELECT 'invoices', CAST(issued_at AS DATE) FROM invoices
    UNION ALL SELECT 'nps', CAST(responded_at AS DATE) FROM nps
),
stg_billing AS (
    SELECT 'subscriptions' AS source, start_date AS day FROM subscriptions
    UNION ALL SELECT 'subscriptions', end_date FROM subscriptions WHERE end_date IS NOT NULL
),
activity AS (
    SELECT max(day) FILTER (WHERE day <= CAST($cap AS DATE)) AS last_day FROM stg_activity
),
billing AS (
    SELECT max(day) FILTER (WHERE day <= CAST($cap AS DATE)) AS last_day FROM stg_billing
)
SELECT coalesce(a.last_day, b.last_day) AS data_end,
       CASE WHEN a.last_day IS NOT NULL THEN 'activity' WHEN b.last_day IS NOT NULL THEN 'subscriptions' END
           AS basis
FROM activity a, billing b;

-- name: future_rows
-- Rows dated after $cap, per table (flagged at import).
WITH
stg_dated AS (
    SELECT 'events' AS source, CAST(event_time AS DATE) AS day FROM events
    UNION ALL SELECT 'tickets', CAST(opened_at AS DATE) FROM tickets
    UNION ALL SELECT 'invoices', CAST(issued_at AS DATE) FROM invoices
    UNION ALL SELECT 'nps', CAST(responded_at AS DATE) FROM nps
    UNION ALL SELECT 'subscriptions', start_date FROM subscriptions
)
SELECT source, count(*) AS rows
FROM stg_dated
WHERE day > CAST($cap AS DATE)
GROUP BY source
ORDER BY source;

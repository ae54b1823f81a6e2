-- Event rows for the usage, adoption and per-event-type metrics.
-- Inputs: obs_accounts(acc INTEGER, account_id VARCHAR), event_type_codes(type_no INTEGER, event_type VARCHAR);
-- parameters $end (the last observation date; later events are never read), $login_slot and $other_slot.

-- name: events
-- Every event of the observed accounts before $end, as integer codes. data/metrics.py streams these
-- rows in batches and adds each one into its account's day bin once, whatever the number of
-- observation dates. slot is the event type's number among the types with metrics; an event of a type
-- without metrics gets $login_slot if it is a login (active users) and $other_slot otherwise (it still
-- counts as activity). day_no is the event's day as days since 1970-01-01.
SELECT a.acc,
       CAST(coalesce(t.type_no, CASE WHEN e.event_type = 'login' THEN $login_slot ELSE $other_slot END) AS SMALLINT)
           AS slot,
       CAST(date_diff('day', TIMESTAMP '1970-01-01', e.event_time) AS INTEGER) AS day_no,
       coalesce(e.quantity, 0) AS quantity
FROM events e
JOIN obs_accounts a ON a.account_id = e.account_id
LEFT JOIN event_type_codes t ON t.event_type = e.event_type
WHERE e.event_time < $end;

-- name: named_users
-- Whether any event before $end has a named user: then daily active users come from
-- usage_metrics.sql and named_users.sql (one row per account and day) instead.
SELECT count(*) > 0 AS named
FROM (SELECT 1 FROM events WHERE user_id IS NOT NULL AND event_time < $end LIMIT 1);

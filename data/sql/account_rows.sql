-- Staging for the contract, support, sentiment, billing and relationship metrics: one query per
-- raw table, each row with the integer code of its account (obs_accounts(acc, account_id)) and its
-- dates and timestamps as day numbers (days since 1970-01-01 of the date or of the timestamp's day;
-- NULL stays NULL). A timestamp is before an observation date (midnight) exactly when its day is.
-- Rules that do not depend on the observation date (lower-casing, priority weights, coalesced due
-- dates, resolution hours) are applied here; data/metrics.py applies the as-of rules.

-- name: accounts
SELECT a.acc, date_diff('day', DATE '1970-01-01', x.created_at) AS created_day
FROM accounts x
JOIN obs_accounts a ON a.account_id = x.account_id;

-- name: subscriptions
SELECT a.acc,
       date_diff('day', DATE '1970-01-01', s.start_date) AS start_day,
       date_diff('day', DATE '1970-01-01', s.end_date) AS end_day,
       s.mrr,
       CAST(s.seats AS DOUBLE) AS seats,
       coalesce(lower(s.billing_period) = 'annual', false) AS annual,
       date_diff('day', DATE '1970-01-01', s.renewal_date) AS renewal_day
FROM subscriptions s
JOIN obs_accounts a ON a.account_id = s.account_id;

-- name: tickets
SELECT a.acc,
       date_diff('day', TIMESTAMP '1970-01-01', t.opened_at) AS opened_day,
       date_diff('day', TIMESTAMP '1970-01-01', t.closed_at) AS closed_day,
       coalesce(lower(t.priority) IN ('high', 'urgent', 'critical', 'p1', 'p2'), false) AS high_priority,
       CASE lower(t.priority) WHEN 'urgent' THEN 1.0 WHEN 'critical' THEN 1.0 WHEN 'p1' THEN 1.0
                              WHEN 'high' THEN 0.6 WHEN 'p2' THEN 0.6
                              WHEN 'normal' THEN 0.15 WHEN 'medium' THEN 0.15 WHEN 'p3' THEN 0.15
                              ELSE 0.0 END AS severity,
       date_diff('hour', t.opened_at, t.closed_at) AS resolution_hours,
       t.csat
FROM tickets t
JOIN obs_accounts a ON a.account_id = t.account_id;

-- name: nps
SELECT a.acc,
       date_diff('day', TIMESTAMP '1970-01-01', n.responded_at) AS responded_day,
       n.score
FROM nps n
JOIN obs_accounts a ON a.account_id = n.account_id
ORDER BY a.acc, n.responded_at;

-- name: invoices
SELECT a.acc,
       date_diff('day', DATE '1970-01-01', i.issued_at) AS issued_day,
       date_diff('day', DATE '1970-01-01', i.due_at) AS due_day,
       date_diff('day', DATE '1970-01-01', coalesce(i.due_at, i.issued_at)) AS due_or_issued_day,
       date_diff('day', DATE '1970-01-01', i.paid_at) AS paid_day,
       coalesce(lower(i.status) = 'failed', false) AS failed
FROM invoices i
JOIN obs_accounts a ON a.account_id = i.account_id;

-- name: contacts
SELECT a.acc,
       date_diff('day', DATE '1970-01-01', c.active_from) AS from_day,  -- NULL: unknown start (first seen at import)
       date_diff('day', DATE '1970-01-01', c.active_to) AS to_day,
       coalesce(lower(c.role) = 'champion', false) AS champion
FROM contacts c
JOIN obs_accounts a ON a.account_id = c.account_id;

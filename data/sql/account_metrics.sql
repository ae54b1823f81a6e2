-- Contract, support, sentiment, billing and relationship metrics as of each observation date.
-- Inputs: obs_pairs(pair_no INTEGER, acc INTEGER, day_no INTEGER), one row per distinct (account,
-- observation date), day_no = obs_date as days since 1970-01-01; obs_accounts(acc INTEGER,
-- account_id VARCHAR). Output: one row per pair_no. Every metric reads only rows strictly before
-- obs_date: timestamps compare with `< obs_date` (midnight), and an end/close/paid/left date that is
-- on or after obs_date is treated as "not yet happened". Usage and event metrics come from
-- usage_metrics.sql, named_users.sql and event_metrics.sql.
WITH
obs AS (
    SELECT p.pair_no, p.acc, a.account_id, CAST(DATE '1970-01-01' + p.day_no AS DATE) AS obs_date
    FROM obs_pairs p
    JOIN obs_accounts a ON a.acc = p.acc
),
subs AS (SELECT a.acc, s.* EXCLUDE (account_id) FROM subscriptions s JOIN obs_accounts a USING (account_id)),
contract AS (                                       -- subscriptions started before obs_date
    SELECT o.pair_no,
           sum(s.mrr) FILTER (WHERE s.end_date IS NULL OR s.end_date >= o.obs_date) AS mrr,
           sum(s.seats) FILTER (WHERE s.end_date IS NULL OR s.end_date >= o.obs_date) AS seats,
           count(*) FILTER (WHERE s.end_date IS NULL OR s.end_date >= o.obs_date) AS active_subscriptions,
           max(CASE WHEN lower(s.billing_period) = 'annual' THEN 1 ELSE 0 END) FILTER (
               WHERE s.end_date IS NULL OR s.end_date >= o.obs_date) AS contract_annual,
           min(CASE WHEN lower(s.billing_period) = 'annual' AND s.renewal_date IS NOT NULL
                    THEN ((date_diff('day', o.obs_date, s.renewal_date) % 365) + 365) % 365 END) FILTER (
               WHERE s.end_date IS NULL OR s.end_date >= o.obs_date) AS days_to_renewal,
           sum(s.mrr) FILTER (WHERE s.start_date < o.obs_date - 90
                               AND (s.end_date IS NULL OR s.end_date >= o.obs_date - 90)) AS mrr_90d_ago,
           min(s.start_date) AS first_start
    FROM obs o
    JOIN subs s ON s.acc = o.acc AND s.start_date < o.obs_date
    GROUP BY o.pair_no
),
tenure AS (                                         -- from the earlier of account creation and first start
    SELECT o.pair_no,
           date_diff('day', least(coalesce(c.first_start, a.created_at), coalesce(a.created_at, c.first_start)),
                     o.obs_date) AS tenure_days
    FROM obs o
    JOIN accounts a ON a.account_id = o.account_id
    LEFT JOIN contract c ON c.pair_no = o.pair_no
),
tix AS (SELECT a.acc, t.* EXCLUDE (account_id) FROM tickets t JOIN obs_accounts a USING (account_id)),
tk AS (
    SELECT o.pair_no,
           count(*) FILTER (WHERE t.opened_at >= o.obs_date - 30) AS tickets_30d,
           count(*) FILTER (WHERE t.opened_at >= o.obs_date - 90) AS tickets_90d,
           count(*) FILTER (WHERE t.opened_at >= o.obs_date - 90
                             AND lower(t.priority) IN ('high', 'urgent', 'critical', 'p1', 'p2')) AS high_priority_tickets_90d,
           sum(CASE lower(t.priority) WHEN 'urgent' THEN 1.0 WHEN 'critical' THEN 1.0 WHEN 'p1' THEN 1.0
                                      WHEN 'high' THEN 0.6 WHEN 'p2' THEN 0.6
                                      WHEN 'normal' THEN 0.15 WHEN 'medium' THEN 0.15 WHEN 'p3' THEN 0.15
                                      ELSE 0.0 END) FILTER (WHERE t.opened_at >= o.obs_date - 60) AS ticket_severity_60d,
           count(*) FILTER (WHERE t.closed_at IS NULL OR t.closed_at >= o.obs_date) AS open_tickets,
           avg(date_diff('hour', t.opened_at, t.closed_at)) FILTER (
               WHERE t.closed_at < o.obs_date AND t.closed_at >= o.obs_date - 90) AS resolution_hours_90d,
           avg(t.csat) FILTER (WHERE t.closed_at < o.obs_date AND t.closed_at >= o.obs_date - 180) AS csat_180d
    FROM obs o
    JOIN tix t ON t.acc = o.acc AND t.opened_at < o.obs_date
    GROUP BY o.pair_no
),
responses AS (SELECT a.acc, n.responded_at, n.score FROM nps n JOIN obs_accounts a USING (account_id)),
nps_latest AS (                                     -- the two latest responses, newest first
    SELECT o.pair_no,
           max_by(n.score, n.responded_at, 2) AS last_two,
           date_diff('day', CAST(max(n.responded_at) AS DATE), o.obs_date) AS days_since_nps
    FROM obs o
    JOIN responses n ON n.acc = o.acc AND n.responded_at < o.obs_date
    GROUP BY o.pair_no, o.obs_date
),
bills AS (SELECT a.acc, i.* EXCLUDE (account_id) FROM invoices i JOIN obs_accounts a USING (account_id)),
inv AS (
    SELECT o.pair_no,
           count(*) FILTER (WHERE lower(i.status) = 'failed' AND coalesce(i.due_at, i.issued_at) < o.obs_date
                             AND coalesce(i.due_at, i.issued_at) >= o.obs_date - 90) AS failed_payments_90d,
           count(*) FILTER (WHERE lower(i.status) = 'failed' AND coalesce(i.due_at, i.issued_at) < o.obs_date
                             AND coalesce(i.due_at, i.issued_at) >= o.obs_date - 180) AS failed_payments_180d,
           count(*) FILTER (WHERE i.paid_at < o.obs_date AND i.paid_at > i.due_at
                             AND i.due_at >= o.obs_date - 180) AS late_payments_180d,
           count(*) FILTER (WHERE i.due_at < o.obs_date AND (i.paid_at IS NULL OR i.paid_at >= o.obs_date)) AS overdue_invoices
    FROM obs o
    JOIN bills i ON i.acc = o.acc AND i.issued_at < o.obs_date
    GROUP BY o.pair_no
),
people AS (SELECT a.acc, c.* EXCLUDE (account_id) FROM contacts c JOIN obs_accounts a USING (account_id)),
ct AS (
    SELECT o.pair_no,
           count(*) FILTER (WHERE c.active_to IS NULL OR c.active_to >= o.obs_date) AS active_contacts,
           count(*) FILTER (WHERE lower(c.role) = 'champion'
                             AND (c.active_to IS NULL OR c.active_to >= o.obs_date)) AS active_champions,
           count(*) FILTER (WHERE lower(c.role) = 'champion' AND c.active_to < o.obs_date
                             AND c.active_to >= o.obs_date - 90) AS champions_left_90d,
           min(date_diff('day', coalesce(c.active_from, DATE '1900-01-01'), o.obs_date)) FILTER (
               WHERE lower(c.role) = 'champion' AND (c.active_to IS NULL OR c.active_to >= o.obs_date)) AS champion_tenure_days,
           min(date_diff('day', c.active_to, o.obs_date)) FILTER (
               WHERE lower(c.role) = 'champion' AND c.active_to < o.obs_date) AS days_since_champion_left
    FROM obs o
    JOIN people c ON c.acc = o.acc AND coalesce(c.active_from, DATE '1900-01-01') < o.obs_date
    GROUP BY o.pair_no
)
SELECT o.pair_no,
       CAST(tn.tenure_days AS DOUBLE) AS tenure_days,
       coalesce(c.mrr, 0) AS mrr,
       CASE WHEN c.mrr_90d_ago > 0 THEN (coalesce(c.mrr, 0) - c.mrr_90d_ago) / c.mrr_90d_ago END AS mrr_change_90d,
       CAST(c.seats AS DOUBLE) AS seats,
       CAST(coalesce(c.active_subscriptions, 0) AS DOUBLE) AS active_subscriptions,
       CAST(coalesce(c.contract_annual, 0) AS DOUBLE) AS contract_annual,
       CAST(c.days_to_renewal AS DOUBLE) AS days_to_renewal,
       CASE WHEN c.days_to_renewal <= 90 THEN 1.0 ELSE 0.0 END AS renewal_within_90d,
       CAST(coalesce(tk.tickets_30d, 0) AS DOUBLE) AS tickets_30d,
       CAST(coalesce(tk.tickets_90d, 0) AS DOUBLE) AS tickets_90d,
       CAST(coalesce(tk.high_priority_tickets_90d, 0) AS DOUBLE) AS high_priority_tickets_90d,
       CAST(coalesce(tk.ticket_severity_60d, 0) AS DOUBLE) AS ticket_severity_60d,
       CAST(coalesce(tk.open_tickets, 0) AS DOUBLE) AS open_tickets,
       tk.resolution_hours_90d,
       tk.csat_180d,
       CAST(nl.last_two[1] AS DOUBLE) AS nps_latest,
       CAST(nl.last_two[1] - nl.last_two[2] AS DOUBLE) AS nps_change,
       CAST(nl.days_since_nps AS DOUBLE) AS days_since_nps,
       CAST(coalesce(inv.failed_payments_90d, 0) AS DOUBLE) AS failed_payments_90d,
       CAST(coalesce(inv.failed_payments_180d, 0) AS DOUBLE) AS failed_payments_180d,
       CAST(coalesce(inv.late_payments_180d, 0) AS DOUBLE) AS late_payments_180d,
       CAST(coalesce(inv.overdue_invoices, 0) AS DOUBLE) AS overdue_invoices,
       CAST(coalesce(ct.active_contacts, 0) AS DOUBLE) AS active_contacts,
       CAST(coalesce(ct.active_champions, 0) AS DOUBLE) AS active_champions,
       CAST(coalesce(ct.champions_left_90d, 0) AS DOUBLE) AS champions_left_90d,
       CAST(ct.champion_tenure_days AS DOUBLE) AS champion_tenure_days,
       CAST(ct.days_since_champion_left AS DOUBLE) AS days_since_champion_left
FROM obs o
LEFT JOIN tenure tn ON tn.pair_no = o.pair_no
LEFT JOIN contract c ON c.pair_no = o.pair_no
LEFT JOIN tk ON tk.pair_no = o.pair_no
LEFT JOIN nps_latest nl ON nl.pair_no = o.pair_no
LEFT JOIN inv ON inv.pair_no = o.pair_no
LEFT JOIN ct ON ct.pair_no = o.pair_no

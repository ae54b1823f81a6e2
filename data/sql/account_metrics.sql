-- Account-level metrics as of each observation date.
-- Input: table/view obs(account_id VARCHAR, obs_date DATE), one row per (account, date).
-- Output: one row per obs row. Every metric reads only rows strictly before obs_date:
-- timestamps compare with `< obs_date` (midnight), and an end/close/paid/left date that is
-- on or after obs_date is treated as "not yet happened".
WITH
sub_now AS (                                        -- contract state on the eve of obs_date
    SELECT o.account_id, o.obs_date,
           sum(s.mrr) AS mrr,
           sum(s.seats) AS seats,
           count(*) AS active_subscriptions,
           max(CASE WHEN lower(s.billing_period) = 'annual' THEN 1 ELSE 0 END) AS contract_annual,
           min(CASE WHEN lower(s.billing_period) = 'annual' AND s.renewal_date IS NOT NULL
                    THEN ((date_diff('day', o.obs_date, s.renewal_date) % 365) + 365) % 365 END) AS days_to_renewal
    FROM obs o
    JOIN subscriptions s
      ON s.account_id = o.account_id
     AND s.start_date < o.obs_date
     AND (s.end_date IS NULL OR s.end_date >= o.obs_date)
    GROUP BY ALL
),
sub_before AS (                                     -- MRR 90 days earlier, first start
    SELECT o.account_id, o.obs_date,
           sum(s.mrr) FILTER (WHERE s.start_date < o.obs_date - 90
                               AND (s.end_date IS NULL OR s.end_date >= o.obs_date - 90)) AS mrr_90d_ago,
           min(s.start_date) AS first_start
    FROM obs o
    JOIN subscriptions s ON s.account_id = o.account_id AND s.start_date < o.obs_date
    GROUP BY ALL
),
acct AS (
    SELECT o.account_id, o.obs_date,
           date_diff('day',
                     least(coalesce(sb.first_start, a.created_at), coalesce(a.created_at, sb.first_start)),
                     o.obs_date) AS tenure_days
    FROM obs o
    JOIN accounts a ON a.account_id = o.account_id
    LEFT JOIN sub_before sb ON sb.account_id = o.account_id AND sb.obs_date = o.obs_date
),
ev_user_day AS (                                    -- one row per account, event day and user
    SELECT e.account_id, date_diff('day', DATE '1970-01-01', CAST(e.event_time AS DATE)) AS day_no, e.user_id,
           sum(e.quantity) FILTER (WHERE e.event_type = 'login' AND e.user_id IS NULL) AS login_quantity
    FROM events e
    WHERE e.account_id IN (SELECT o.account_id FROM obs o)
      AND e.event_time < (SELECT max(o.obs_date) FROM obs o)
    GROUP BY ALL
),
ev_day AS (                                         -- one row per account and event day
    SELECT account_id, day_no, count(user_id) AS distinct_users, sum(login_quantity) AS login_quantity
    FROM ev_user_day
    GROUP BY ALL
),
usage_timeline AS (                                 -- event days plus one marker row per obs date
    SELECT account_id, day_no, NULL::DATE AS obs_date, 1 AS active,
           CASE WHEN distinct_users > 0 THEN distinct_users ELSE login_quantity END AS users
    FROM ev_day
    UNION ALL
    SELECT DISTINCT o.account_id, date_diff('day', DATE '1970-01-01', o.obs_date), o.obs_date, 0, NULL::DOUBLE
    FROM obs o
),
usage_windows AS (                                  -- windows end the day before the marker's obs date
    SELECT account_id, obs_date,
           sum(active) OVER w30 AS active_days_30d,
           max(users) OVER w30 AS max_daily_users_30d,
           sum(coalesce(users, 0)) OVER w30 / 30.0 AS dau_30d,
           sum(coalesce(users, 0)) OVER w60 / 60.0 AS dau_prev_60d
    FROM usage_timeline
    WINDOW w30 AS (PARTITION BY account_id ORDER BY day_no RANGE BETWEEN 30 PRECEDING AND 1 PRECEDING),
           w60 AS (PARTITION BY account_id ORDER BY day_no RANGE BETWEEN 90 PRECEDING AND 31 PRECEDING)
),
usage AS (SELECT * FROM usage_windows WHERE obs_date IS NOT NULL),
user_days AS (                                      -- one row per named user and event day
    SELECT DISTINCT e.account_id, e.user_id, CAST(e.event_time AS DATE) AS day
    FROM events e
    WHERE e.user_id IS NOT NULL
      AND e.account_id IN (SELECT o.account_id FROM obs o)
      AND e.event_time < (SELECT max(o.obs_date) FROM obs o)
),
user_spans AS (                                     -- obs dates in [start_day, stop_day) see this day as the
    SELECT account_id, day + 1 AS start_day,        -- user's latest one, and within the last 30 days
           least(coalesce(lead(day) OVER (PARTITION BY account_id, user_id ORDER BY day), day + 30), day + 30) + 1
               AS stop_day
    FROM user_days
),
user_steps AS (
    SELECT account_id, day, sum(step) AS step
    FROM (SELECT account_id, start_day AS day, 1 AS step FROM user_spans
          UNION ALL
          SELECT account_id, stop_day AS day, -1 AS step FROM user_spans)
    GROUP BY ALL
),
user_counts AS (                                    -- named users active in the 30 days before `day`
    SELECT account_id, day,
           sum(step) OVER (PARTITION BY account_id ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
               AS named_users
    FROM user_steps
),
ev_users AS (                                       -- distinct named users in the last 30 days
    SELECT o.account_id, o.obs_date, uc.named_users AS named_users_30d
    FROM (SELECT DISTINCT o.account_id, o.obs_date FROM obs o) o
    ASOF JOIN user_counts uc ON uc.account_id = o.account_id AND o.obs_date >= uc.day
),
tk AS (
    SELECT o.account_id, o.obs_date,
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
    JOIN tickets t ON t.account_id = o.account_id AND t.opened_at < o.obs_date
    GROUP BY ALL
),
nps_ranked AS (
    SELECT o.account_id, o.obs_date, n.score, n.responded_at,
           row_number() OVER (PARTITION BY o.account_id, o.obs_date ORDER BY n.responded_at DESC) AS rn
    FROM obs o
    JOIN nps n ON n.account_id = o.account_id AND n.responded_at < o.obs_date
),
nps_latest AS (
    SELECT account_id, obs_date,
           max(score) FILTER (WHERE rn = 1) AS nps_latest,
           max(score) FILTER (WHERE rn = 1) - max(score) FILTER (WHERE rn = 2) AS nps_change,
           max(date_diff('day', CAST(responded_at AS DATE), obs_date)) FILTER (WHERE rn = 1) AS days_since_nps
    FROM nps_ranked
    WHERE rn <= 2
    GROUP BY ALL
),
inv AS (
    SELECT o.account_id, o.obs_date,
           count(*) FILTER (WHERE lower(i.status) = 'failed' AND coalesce(i.due_at, i.issued_at) < o.obs_date
                             AND coalesce(i.due_at, i.issued_at) >= o.obs_date - 90) AS failed_payments_90d,
           count(*) FILTER (WHERE lower(i.status) = 'failed' AND coalesce(i.due_at, i.issued_at) < o.obs_date
                             AND coalesce(i.due_at, i.issued_at) >= o.obs_date - 180) AS failed_payments_180d,
           count(*) FILTER (WHERE i.paid_at < o.obs_date AND i.paid_at > i.due_at
                             AND i.due_at >= o.obs_date - 180) AS late_payments_180d,
           count(*) FILTER (WHERE i.due_at < o.obs_date AND (i.paid_at IS NULL OR i.paid_at >= o.obs_date)) AS overdue_invoices
    FROM obs o
    JOIN invoices i ON i.account_id = o.account_id AND i.issued_at < o.obs_date
    GROUP BY ALL
),
ct AS (
    SELECT o.account_id, o.obs_date,
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
    JOIN contacts c ON c.account_id = o.account_id AND coalesce(c.active_from, DATE '1900-01-01') < o.obs_date
    GROUP BY ALL
)
SELECT o.account_id, o.obs_date,
       acct.tenure_days,
       coalesce(sn.mrr, 0) AS mrr,
       CASE WHEN sb.mrr_90d_ago > 0 THEN (coalesce(sn.mrr, 0) - sb.mrr_90d_ago) / sb.mrr_90d_ago END AS mrr_change_90d,
       sn.seats,
       coalesce(sn.active_subscriptions, 0) AS active_subscriptions,
       coalesce(sn.contract_annual, 0) AS contract_annual,
       sn.days_to_renewal,
       CASE WHEN sn.days_to_renewal <= 90 THEN 1 ELSE 0 END AS renewal_within_90d,
       coalesce(u.active_days_30d, 0) AS active_days_30d,
       coalesce(CASE WHEN eu.named_users_30d > 0 THEN eu.named_users_30d END, u.max_daily_users_30d, 0) AS active_users_30d,
       CASE WHEN sn.seats > 0 THEN
           coalesce(CASE WHEN eu.named_users_30d > 0 THEN eu.named_users_30d END, u.max_daily_users_30d, 0) / sn.seats
       END AS seat_utilisation,
       CASE WHEN acct.tenure_days < 44 THEN NULL
            WHEN coalesce(u.dau_prev_60d, 0) > 0
                 THEN least(greatest((coalesce(u.dau_30d, 0) - u.dau_prev_60d) / u.dau_prev_60d, -1.0), 3.0)
            WHEN coalesce(u.dau_30d, 0) > 0 THEN 3.0
            ELSE 0.0 END AS dau_change_30v60,
       coalesce(tk.tickets_30d, 0) AS tickets_30d,
       coalesce(tk.tickets_90d, 0) AS tickets_90d,
       coalesce(tk.high_priority_tickets_90d, 0) AS high_priority_tickets_90d,
       coalesce(tk.ticket_severity_60d, 0) AS ticket_severity_60d,
       coalesce(tk.open_tickets, 0) AS open_tickets,
       tk.resolution_hours_90d,
       tk.csat_180d,
       nl.nps_latest,
       nl.nps_change,
       nl.days_since_nps,
       coalesce(inv.failed_payments_90d, 0) AS failed_payments_90d,
       coalesce(inv.failed_payments_180d, 0) AS failed_payments_180d,
       coalesce(inv.late_payments_180d, 0) AS late_payments_180d,
       coalesce(inv.overdue_invoices, 0) AS overdue_invoices,
       coalesce(ct.active_contacts, 0) AS active_contacts,
       coalesce(ct.active_champions, 0) AS active_champions,
       coalesce(ct.champions_left_90d, 0) AS champions_left_90d,
       ct.champion_tenure_days,
       ct.days_since_champion_left
FROM obs o
LEFT JOIN acct ON acct.account_id = o.account_id AND acct.obs_date = o.obs_date
LEFT JOIN sub_now sn ON sn.account_id = o.account_id AND sn.obs_date = o.obs_date
LEFT JOIN sub_before sb ON sb.account_id = o.account_id AND sb.obs_date = o.obs_date
LEFT JOIN usage u ON u.account_id = o.account_id AND u.obs_date = o.obs_date
LEFT JOIN ev_users eu ON eu.account_id = o.account_id AND eu.obs_date = o.obs_date
LEFT JOIN tk ON tk.account_id = o.account_id AND tk.obs_date = o.obs_date
LEFT JOIN nps_latest nl ON nl.account_id = o.account_id AND nl.obs_date = o.obs_date
LEFT JOIN inv ON inv.account_id = o.account_id AND inv.obs_date = o.obs_date
LEFT JOIN ct ON ct.account_id = o.account_id AND ct.obs_date = o.obs_date

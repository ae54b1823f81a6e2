-- Mart: account state as of the workspace's as-of date, one row per account (defined here once).
-- Parameters: $as_of (DATE, from as_of.sql), $inactive_days (INTEGER, CSAI_INACTIVE_CHURN_DAYS).
-- The caller appends its viewer's scope as a predicate on the alias `a` (accounts).
--
-- shape: 'billing' when any subscription exists (active = a subscription covers the as-of date),
--        'flat' when account labels exist (active = not labelled churned),
--        'activity' otherwise (active = an event in the $inactive_days days up to the as-of date;
--        with no events at all, every account counts as active).
-- status: 'active', 'churned', 'no subscription' (billing shape, never subscribed) or 'no activity'
--         (activity shape, no event ever). churned_on: the end of the last subscription, or the day
--         the account had been inactive for $inactive_days days.
-- mrr / arr: from subscriptions in the billing shape; NULL ("no revenue data") otherwise (has_revenue).
-- renewal_date: annual contracts' next renewal_date, monthly plans' next monthly anniversary.
-- contract_renewal_date: the next renewal_date of an active contract (monthly plans: NULL); "renewals in
-- N days" counts these (data/readmodel.renewing_within), on every page and in playbook rules.
-- name: the account's name, or its id when it has none. csm_label: the CSM, or 'unassigned'.
-- last_active: the last event up to the as-of date (activity shape only: stg_events is `events` there and
-- empty otherwise, so an event log is not scanned for shapes that do not need it; data/readmodel.py).
WITH
params AS (SELECT CAST($as_of AS DATE) AS as_of, CAST($inactive_days AS INTEGER) AS inactive_days),
shape AS (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM subscriptions) THEN 'billing'
                WHEN EXISTS (SELECT 1 FROM account_labels) THEN 'flat'
                ELSE 'activity' END AS shape,
           EXISTS (SELECT 1 FROM events) AS has_events
),
cur AS (
    SELECT s.account_id,
           sum(s.mrr) AS mrr,
           sum(coalesce(s.seats, 0)) AS seats,
           min(s.renewal_date) FILTER (WHERE s.renewal_date >= p.as_of) AS annual_renewal,
           min(CASE WHEN coalesce(s.billing_period, 'monthly') = 'monthly'
                    THEN CAST(s.start_date + to_months(CAST(datediff('month', s.start_date, p.as_of) AS INTEGER) + 1) AS DATE) END)
               AS monthly_renewal,
           bool_or(s.billing_period = 'annual') AS has_annual
    FROM subscriptions s, params p
    WHERE s.start_date <= p.as_of AND (s.end_date IS NULL OR s.end_date > p.as_of)
    GROUP BY s.account_id
),
first_sub AS (
    SELECT account_id, min(start_date) AS first_start, max(coalesce(end_date, DATE '9999-12-31')) AS last_end
    FROM subscriptions GROUP BY account_id
),
activity AS (
    SELECT e.account_id, min(CAST(e.event_time AS DATE)) AS first_active, max(CAST(e.event_time AS DATE)) AS last_active
    FROM stg_events e, params p
    WHERE CAST(e.event_time AS DATE) <= p.as_of
    GROUP BY e.account_id
),
labels AS (
    SELECT account_id, max(label) AS label FROM account_labels GROUP BY account_id
),
state AS (
    SELECT a.account_id, sh.shape, p.as_of,
           CASE sh.shape
               WHEN 'billing' THEN CASE WHEN cur.account_id IS NOT NULL THEN 'active'
                                        WHEN fs.account_id IS NULL THEN 'no subscription' ELSE 'churned' END
               WHEN 'flat' THEN CASE WHEN l.label = 1 THEN 'churned' ELSE 'active' END
               ELSE CASE WHEN NOT sh.has_events THEN 'active'
                         WHEN act.last_active IS NULL THEN 'no activity'
                         WHEN act.last_active > p.as_of - p.inactive_days THEN 'active'
                         ELSE 'churned' END
           END AS status,
           CASE sh.shape
               WHEN 'billing' THEN CASE WHEN cur.account_id IS NULL AND fs.account_id IS NOT NULL
                                             AND fs.last_end <= p.as_of THEN fs.last_end END
               WHEN 'activity' THEN CASE WHEN act.last_active <= p.as_of - p.inactive_days
                                         THEN CAST(act.last_active + p.inactive_days AS DATE) END
           END AS churned_on
    FROM accounts a
    CROSS JOIN params p
    CROSS JOIN shape sh
    LEFT JOIN cur ON cur.account_id = a.account_id
    LEFT JOIN first_sub fs ON fs.account_id = a.account_id
    LEFT JOIN activity act ON act.account_id = a.account_id
    LEFT JOIN labels l ON l.account_id = a.account_id
)
SELECT a.account_id,
       coalesce(nullif(trim(a.name), ''), a.account_id) AS name,
       a.segment, a.industry, a.region, a.plan, a.csm,
       coalesce(nullif(trim(a.csm), ''), 'unassigned') AS csm_label,
       a.created_at,
       CASE WHEN st.shape = 'billing' THEN coalesce(cur.mrr, 0) END AS mrr,
       CASE WHEN st.shape = 'billing' THEN coalesce(cur.mrr, 0) * 12 END AS arr,
       st.shape = 'billing' AS has_revenue,
       cur.seats,
       CASE WHEN cur.account_id IS NULL THEN NULL
            WHEN cur.has_annual THEN cur.annual_renewal ELSE cur.monthly_renewal END AS renewal_date,
       CASE WHEN cur.has_annual THEN 'annual' WHEN cur.account_id IS NOT NULL THEN 'monthly' END AS billing_period,
       CASE WHEN cur.has_annual THEN cur.annual_renewal END AS contract_renewal_date,
       datediff('day', coalesce(fs.first_start, a.created_at, act.first_active), st.as_of) AS tenure_days,
       st.status,
       st.churned_on,
       act.last_active,
       st.shape
FROM accounts a
JOIN state st ON st.account_id = a.account_id
LEFT JOIN cur ON cur.account_id = a.account_id
LEFT JOIN first_sub fs ON fs.account_id = a.account_id
LEFT JOIN activity act ON act.account_id = a.account_id
WHERE TRUE

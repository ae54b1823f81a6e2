-- Outcome labels per observation row (uses data AFTER obs_date by design: these are targets).
-- Input: obs(account_id, obs_date), spells(account_id, spell_start, spell_end).
-- Parameters: $lead_days, $horizon_days, $gap_days, $expansion_ratio, $data_end (last day of history).
-- Right-censoring: nothing after $data_end is known.
-- churn_date: end of the spell that covers obs_date, when that churn is known: the spell ends
--   before $data_end and the data covers the $gap_days after it in which a renewal would have
--   continued the spell. A spell (a billing period) that ends at or after $data_end, or within the
--   last $gap_days before it, is still a customer as far as we know: NULL, like an open spell.
-- label_known: the label window and the gap tolerance after it lie inside the data
--   (obs_date + lead + horizon + gap <= $data_end). Rows where it is false are censored: both
--   labels are NULL and the rows are left out of training and testing.
-- label_churn: the spell ends in [obs_date + lead, obs_date + lead + horizon).
-- label_expansion: total MRR at some point in (obs_date, obs_date + lead + horizon] reaches
-- expansion_ratio x MRR on the eve of obs_date, without churning in the window.
WITH
cover AS (
    SELECT o.account_id, o.obs_date,
           max(CASE WHEN sp.spell_end < DATE '9999-12-31' AND CAST(sp.spell_end AS DATE) + CAST($gap_days AS INTEGER) <= CAST($data_end AS DATE)
                    THEN sp.spell_end END) AS churn_date
    FROM obs o
    JOIN spells sp ON sp.account_id = o.account_id AND sp.spell_start < o.obs_date AND sp.spell_end >= o.obs_date
    GROUP BY ALL
),
mrr_now AS (
    SELECT o.account_id, o.obs_date, sum(s.mrr) AS mrr
    FROM obs o
    JOIN subscriptions s ON s.account_id = o.account_id AND s.start_date < o.obs_date
     AND (s.end_date IS NULL OR s.end_date >= o.obs_date)
    GROUP BY ALL
),
points AS (                                   -- the day after each subscription start in the window
    SELECT DISTINCT o.account_id, o.obs_date, s.start_date + 1 AS at_date
    FROM obs o
    JOIN subscriptions s ON s.account_id = o.account_id
     AND s.start_date >= o.obs_date AND s.start_date < o.obs_date + $lead_days + $horizon_days
),
mrr_points AS (
    SELECT p.account_id, p.obs_date, p.at_date, sum(s.mrr) AS mrr
    FROM points p
    JOIN subscriptions s ON s.account_id = p.account_id AND s.start_date < p.at_date
     AND (s.end_date IS NULL OR s.end_date >= p.at_date)
    GROUP BY ALL
),
mrr_peak AS (
    SELECT account_id, obs_date, max(mrr) AS peak_mrr FROM mrr_points GROUP BY ALL
)
SELECT o.account_id, o.obs_date, c.churn_date,
       coalesce(m.mrr, 0) AS mrr_at_obs,
       o.obs_date + $lead_days + $horizon_days + $gap_days <= CAST($data_end AS DATE) AS label_known,
       CASE WHEN o.obs_date + $lead_days + $horizon_days + $gap_days > CAST($data_end AS DATE) THEN NULL
            WHEN c.churn_date IS NOT NULL AND c.churn_date >= o.obs_date + $lead_days
                 AND c.churn_date < o.obs_date + $lead_days + $horizon_days THEN 1 ELSE 0 END AS label_churn,
       CASE WHEN o.obs_date + $lead_days + $horizon_days + $gap_days > CAST($data_end AS DATE) THEN NULL
            WHEN m.mrr > 0 AND pk.peak_mrr >= $expansion_ratio * m.mrr
                 AND (c.churn_date IS NULL OR c.churn_date >= o.obs_date + $lead_days + $horizon_days)
            THEN 1 ELSE 0 END AS label_expansion
FROM obs o
LEFT JOIN cover c ON c.account_id = o.account_id AND c.obs_date = o.obs_date
LEFT JOIN mrr_now m ON m.account_id = o.account_id AND m.obs_date = o.obs_date
LEFT JOIN mrr_peak pk ON pk.account_id = o.account_id AND pk.obs_date = o.obs_date

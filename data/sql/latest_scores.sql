-- Mart: the latest scoring run per account, with the previous run and the top drivers (defined here once).
-- Inputs: stg_scores and stg_score_drivers, the results-layer tables `scores` and `score_drivers`
-- staged by data/readmodel.py (every column present, typed; missing columns are NULL).
-- A run is one scored_at. Accounts not in the latest run (churned since) have no latest score.

-- name: latest_scores
-- p_churn_prev / previous_scored_at: the account's score in the run before (NULL before a second run).
-- top_driver / top_driver_group: the strongest risk-raising churn driver a team can act on (contract terms
-- and firmographics only when nothing else raises the risk): what a CSM reads.
-- top_risk_group: the group of the strongest risk-raising churn driver, whatever its group: what rules test.
-- expected_arr_loss: NULL for the rule health score ($rule_model_id: p_churn is its risk ranking, not a
-- probability, so no loss is expected from it).
WITH
runs AS (
    SELECT scored_at, row_number() OVER (ORDER BY scored_at DESC) AS k FROM (SELECT DISTINCT scored_at FROM stg_scores)
),
cur AS (SELECT s.* FROM stg_scores s JOIN runs r ON r.scored_at = s.scored_at AND r.k = 1),
prev AS (
    SELECT s.account_id, s.p_churn, s.scored_at
    FROM stg_scores s JOIN runs r ON r.scored_at = s.scored_at AND r.k = 2
),
drivers AS (
    SELECT d.* FROM stg_score_drivers d JOIN runs r ON r.scored_at = d.scored_at AND r.k = 1
    WHERE lower(coalesce(d.target, 'churn')) NOT LIKE '%expan%' AND d.shap > 0
),
actionable AS (
    SELECT account_id, sentence, "group",
           row_number() OVER (PARTITION BY account_id
                              ORDER BY "group" IN ('Contract', 'Firmographic'), shap DESC, feature) AS k
    FROM drivers
),
strongest AS (
    SELECT account_id, "group", row_number() OVER (PARTITION BY account_id ORDER BY shap DESC, feature) AS k
    FROM drivers
)
SELECT cur.scored_at, cur.obs_date, cur.account_id, cur.model_id, coalesce(cur.target, 'churn') AS target,
       cur.p_churn, cur.risk_band, cur.p_expansion, cur.expansion_model_id, cur.arr,
       CASE WHEN cur.model_id = $rule_model_id THEN NULL
            ELSE coalesce(cur.expected_arr_loss, cur.p_churn * cur.arr) END AS expected_arr_loss, cur.health_score,
       prev.p_churn AS p_churn_prev, cur.p_churn - prev.p_churn AS p_churn_change, prev.scored_at AS previous_scored_at,
       act.sentence AS top_driver, act."group" AS top_driver_group, str."group" AS top_risk_group
FROM cur
LEFT JOIN prev ON prev.account_id = cur.account_id
LEFT JOIN actionable act ON act.account_id = cur.account_id AND act.k = 1
LEFT JOIN strongest str ON str.account_id = cur.account_id AND str.k = 1
ORDER BY cur.p_churn DESC, cur.account_id;

-- name: top_drivers
-- The latest run's churn drivers per account, risk-raising first (strongest first), then the rest; the
-- first $n per account. Columns: account_id, rank, feature, label, group, value, shap, sentence.
WITH
runs AS (
    SELECT scored_at, row_number() OVER (ORDER BY scored_at DESC) AS k FROM (SELECT DISTINCT scored_at FROM stg_scores)
),
d AS (
    SELECT d.account_id, d.rank, d.feature, d.label, d."group", d.value, d.shap, d.sentence,
           row_number() OVER (PARTITION BY d.account_id ORDER BY (d.shap > 0) DESC, d.shap DESC, d.feature) AS pos
    FROM stg_score_drivers d JOIN runs r ON r.scored_at = d.scored_at AND r.k = 1
    WHERE lower(coalesce(d.target, 'churn')) NOT LIKE '%expan%'
)
SELECT * EXCLUDE (pos) FROM d WHERE pos <= $n ORDER BY account_id, pos;

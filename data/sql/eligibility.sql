-- Mart: what playbook rules test per account (defined here once), from account_state.sql and
-- latest_scores.sql (inputs `account_state` and `latest_scores`, and `risk_groups`: each account's
-- risk-raising driver groups among its top drivers of the latest run). Parameter: $as_of (DATE).
-- active: the account state's status is 'active'. renewal_date / days_to_renewal: the next contract
-- (annual) renewal; monthly plans have none. arr: the account state's ARR (0 without revenue data).
SELECT st.account_id, st.name, st.segment, st.plan, st.csm,
       st.status = 'active' AS active,
       coalesce(st.arr, 0) AS arr,
       st.contract_renewal_date AS renewal_date,
       datediff('day', CAST($as_of AS DATE), st.contract_renewal_date) AS days_to_renewal,
       ls.scored_at, ls.model_id, ls.p_churn, ls.risk_band, ls.p_expansion, ls.arr AS score_arr,
       ls.top_risk_group AS top_driver_group,
       coalesce(rg.groups, []) AS top_driver_groups
FROM account_state st
LEFT JOIN latest_scores ls ON ls.account_id = st.account_id
LEFT JOIN risk_groups rg ON rg.account_id = st.account_id
ORDER BY st.account_id

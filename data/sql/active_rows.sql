-- Observation rows: every account with a subscription active on the eve of each observation date
-- (started before the date, not ended before it). Both engines run this file (the Spark engine
-- through Spark SQL). Input: obs_dates(obs_date). Parameter: $data_end (DATE), the last day of
-- history: a subscription ending at or after it is still running as far as the data knows, so on
-- the day after the data's end (the date scoring observes) it counts.
SELECT DISTINCT CAST(s.account_id AS STRING) AS account_id, d.obs_date
FROM obs_dates d
JOIN subscriptions s ON s.start_date < d.obs_date
 AND (s.end_date IS NULL OR s.end_date >= d.obs_date OR s.end_date >= CAST($data_end AS DATE))
ORDER BY d.obs_date, account_id

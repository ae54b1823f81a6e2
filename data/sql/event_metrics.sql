-- Event quantities per account, event type and day bin (the per-event-type metrics).
-- Inputs: obs_accounts(acc INTEGER, account_id VARCHAR), event_type_codes(type_no INTEGER, event_type VARCHAR),
-- day_bins(day_no INTEGER, bin INTEGER): every day (days since 1970-01-01) from the first event to the day
-- before the last observation date, and its bin. Bins are cut at every obs_date, obs_date - 30 and
-- obs_date - 90, so each metric window is a run of whole bins and every event row is read once,
-- into one small group, however many observation dates there are. Events on or after the last
-- observation date have no bin and are not read. Window sums, recency and the scaling for young
-- accounts are taken from these groups in data/metrics.py.
WITH
bins AS (SELECT CAST(DATE '1970-01-01' + day_no AS TIMESTAMP) AS day, day_no, bin FROM day_bins)
SELECT a.acc, t.type_no, b.bin,
       sum(e.quantity) AS quantity,
       max(b.day_no) AS last_day_no
FROM events e
JOIN obs_accounts a ON a.account_id = e.account_id
JOIN event_type_codes t ON t.event_type = e.event_type
JOIN bins b ON b.day = date_trunc('day', e.event_time)
GROUP BY ALL

-- name: csat_by_channel_month
-- description: Customer satisfaction (top-two-box share of 1-5 answers: 4 or 5) per channel and calendar
--   month (UTC) of submission, with its 95% Wilson interval (csat_ci) as csat_low and csat_high, and the
--   number of answers.
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT date_trunc('month', submitted_at) AS month, channel, csat(csat_score) AS csat,
       csat_ci(csat_score)['low'] AS csat_low, csat_ci(csat_score)['high'] AS csat_high,
       count(csat_score) AS responses
FROM surveys
WHERE submitted_at >= $since AND submitted_at < $until
GROUP BY 1, 2
ORDER BY 1, 2

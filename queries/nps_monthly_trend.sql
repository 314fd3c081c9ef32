-- name: nps_monthly_trend
-- description: Net Promoter Score per calendar month (UTC) of survey submission, with the number of answers
--   and the share of promoters and detractors, for the trend line of a report; nps_low and nps_high are its
--   95% confidence interval (nps_ci, adjusted-Wald).
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT date_trunc('month', submitted_at) AS month,
       nps(nps_score) AS nps,
       nps_ci(nps_score)['low'] AS nps_low,
       nps_ci(nps_score)['high'] AS nps_high,
       count(nps_score) AS responses,
       100.0 * count(nps_score) FILTER (WHERE nps_score >= 9) / count(nps_score) AS promoters_pct,
       100.0 * count(nps_score) FILTER (WHERE nps_score <= 6) / count(nps_score) AS detractors_pct
FROM surveys
WHERE submitted_at >= $since AND submitted_at < $until AND nps_score IS NOT NULL
GROUP BY 1
ORDER BY 1

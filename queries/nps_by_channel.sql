-- name: nps_by_channel
-- description: Net Promoter Score per channel for surveys submitted in [since, until): promoters (9-10)
--   minus detractors (0-6), in percent points of the answers, with its 95% confidence interval (nps_ci,
--   adjusted-Wald) as nps_low and nps_high; responses counts the non-NULL answers, promoters_pct and
--   detractors_pct are their shares (what a period-over-period test of the NPS needs).
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT channel, nps(nps_score) AS nps,
       nps_ci(nps_score)['low'] AS nps_low, nps_ci(nps_score)['high'] AS nps_high,
       count(nps_score) AS responses,
       100.0 * count(nps_score) FILTER (WHERE nps_score >= 9) / count(nps_score) AS promoters_pct,
       100.0 * count(nps_score) FILTER (WHERE nps_score <= 6) / count(nps_score) AS detractors_pct
FROM surveys
WHERE submitted_at >= $since AND submitted_at < $until
GROUP BY channel
ORDER BY channel

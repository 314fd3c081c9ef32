-- name: nps_confidence
-- description: NPS per channel with its margin of error and confidence interval at the given level
--   (adjusted-Wald, Rocks 2016), for surveys submitted in [since, until): a channel's NPS is only
--   different from another's when their intervals say so (see nps_segment_test).
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
-- param: confidence DOUBLE = '0.95'
SELECT channel,
       nps(nps_score) AS nps,
       nps_moe(nps_score, $confidence) AS margin,
       nps_ci(nps_score, $confidence)['low'] AS ci_low,
       nps_ci(nps_score, $confidence)['high'] AS ci_high,
       count(nps_score) AS responses
FROM surveys
WHERE submitted_at >= $since AND submitted_at < $until
GROUP BY channel
ORDER BY channel

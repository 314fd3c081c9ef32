-- name: nps_segment_test
-- description: Whether the NPS of channel b differs from that of channel a over surveys submitted in
--   [since, until): both NPS, their difference (b - a, points), the z statistic and the two-sided p-value of
--   the two-sample test (a p-value under 0.05 says the difference is unlikely to be chance).
-- param: a VARCHAR = 'email'
-- param: b VARCHAR = 'chat'
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT $a AS segment_a, $b AS segment_b,
       t['nps_a'] AS nps_a, t['nps_b'] AS nps_b, t['diff'] AS diff, t['z'] AS z, t['p_value'] AS p_value
FROM (
  SELECT nps_diff_test(nps_score, channel = $b) AS t
  FROM surveys
  WHERE channel IN ($a, $b) AND submitted_at >= $since AND submitted_at < $until
)

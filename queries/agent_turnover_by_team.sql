-- name: agent_turnover_by_team
-- description: Staff turnover per team over the period from since to until: the agents in the team at since
--   (hired by then, not left yet), how many of them left by until (left_at <= until), the turnover rate in
--   percent (churn_rate over hired_at and left_at), and the agents hired during the period (since < hired_at
--   <= until), whom the rate leaves out.
--   turnover_pct_low and turnover_pct_high are the rate's 95% Wilson interval (rate_ci).
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT team,
       churn_rate(hired_at, left_at, $since, $until) AS turnover_pct,
       (rate_ci(coalesce(left_at <= $until, false)) FILTER (WHERE hired_at <= $since AND (left_at IS NULL OR left_at > $since)))['low'] AS turnover_pct_low,
       (rate_ci(coalesce(left_at <= $until, false)) FILTER (WHERE hired_at <= $since AND (left_at IS NULL OR left_at > $since)))['high'] AS turnover_pct_high,
       count(*) FILTER (WHERE hired_at <= $since AND (left_at IS NULL OR left_at > $since)) AS agents,
       count(*) FILTER (WHERE hired_at <= $since AND left_at > $since AND left_at <= $until) AS left_team,
       count(*) FILTER (WHERE hired_at > $since AND hired_at <= $until) AS hired
FROM agents
GROUP BY team
ORDER BY team

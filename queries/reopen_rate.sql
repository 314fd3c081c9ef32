-- name: reopen_rate
-- description: Reopen rate per channel: the percentage of resolved tickets (created in [since, until)) that
--   were reopened after resolution.
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT channel,
       100.0 * count(*) FILTER (WHERE reopened) / NULLIF(count(*), 0) AS reopen_pct,
       count(*) AS resolved_tickets
FROM tickets
WHERE created_at >= $since AND created_at < $until AND resolved_at IS NOT NULL
GROUP BY channel
ORDER BY channel

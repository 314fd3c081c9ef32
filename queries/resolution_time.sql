-- name: resolution_time
-- description: Average resolution time (created to resolved, calendar hours) per channel and priority, with
--   the median, over the tickets created in [since, until) and resolved.
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT channel, priority, avg(hours) AS mean_hours, median(hours) AS median_hours, count(*) AS resolved_tickets
FROM (
  SELECT channel, priority, (date_part('epoch', resolved_at) - date_part('epoch', created_at)) / 3600.0 AS hours
  FROM tickets
  WHERE created_at >= $since AND created_at < $until AND resolved_at IS NOT NULL
)
GROUP BY channel, priority
ORDER BY channel, CASE priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 WHEN 'low' THEN 4 ELSE 5 END

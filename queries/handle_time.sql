-- name: handle_time
-- description: Average handle time (agent working time on the ticket) per channel and team, in minutes, for
--   the tickets created in [since, until).
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT channel, team, avg(handle_time_s) / 60.0 AS mean_minutes, median(handle_time_s) / 60.0 AS median_minutes,
       count(handle_time_s) AS tickets
FROM tickets
WHERE created_at >= $since AND created_at < $until
GROUP BY channel, team
ORDER BY channel, team

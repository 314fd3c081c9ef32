-- name: wait_time
-- description: Customer wait time in the queue per channel, in seconds: mean and 90th percentile, for the
--   tickets created in [since, until) on channels with a queue (wait_time_s > 0 somewhere in the channel).
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT channel, avg(wait_time_s) AS mean_seconds, percentile_cont(wait_time_s, 0.9) AS p90_seconds,
       count(wait_time_s) AS tickets
FROM tickets
WHERE created_at >= $since AND created_at < $until
GROUP BY channel
HAVING max(wait_time_s) > 0
ORDER BY channel

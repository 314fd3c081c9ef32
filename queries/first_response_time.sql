-- name: first_response_time
-- description: Time to first response per channel, in hours (calendar time): mean, median and 90th
--   percentile over the tickets created in [since, until) that have a first response.
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT channel,
       avg(hours) AS mean_hours,
       median(hours) AS median_hours,
       percentile_cont(hours, 0.9) AS p90_hours,
       count(hours) AS tickets
FROM (
  SELECT channel, (date_part('epoch', first_response_at) - date_part('epoch', created_at)) / 3600.0 AS hours
  FROM tickets
  WHERE created_at >= $since AND created_at < $until AND first_response_at IS NOT NULL
)
GROUP BY channel
ORDER BY channel

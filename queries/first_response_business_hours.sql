-- name: first_response_business_hours
-- description: Time to first response per channel in business hours on a calendar (a name from the catalog,
--   'default' for Mon-Fri 09:00-17:00 UTC, or inline such as 'time_zone=Europe/Paris; hours=Mon-Fri
--   09:00-18:00'), next to the clock hours, for tickets created in [since, until) that have a response.
-- param: calendar VARCHAR = 'default'
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT channel,
       avg(business_seconds(created_at, first_response_at, $calendar)) / 3600 AS avg_business_hours,
       median(business_seconds(created_at, first_response_at, $calendar)) / 3600 AS median_business_hours,
       avg(date_part('epoch', first_response_at) - date_part('epoch', created_at)) / 3600 AS avg_clock_hours,
       count(first_response_at) AS responded
FROM tickets
WHERE created_at >= $since AND created_at < $until AND first_response_at IS NOT NULL
GROUP BY channel
ORDER BY channel

-- name: goal_completion_rate
-- description: Goal completion rate per channel: the percentage of tickets (created in [since, until)) whose
--   customer goal was completed, over the tickets where it is known (goal_completed not NULL).
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT channel,
       100.0 * count(*) FILTER (WHERE goal_completed) / NULLIF(count(goal_completed), 0) AS goal_completion_pct,
       count(goal_completed) AS tickets
FROM tickets
WHERE created_at >= $since AND created_at < $until
GROUP BY channel
ORDER BY channel

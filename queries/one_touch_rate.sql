-- name: one_touch_rate
-- description: One-touch resolution per channel: the share of solved tickets (created in [since, until),
--   resolved) that got exactly one public agent reply, from the messages, with its 95% Wilson interval; beside
--   it the average number of public agent replies per solved ticket.
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
WITH replies AS (
  SELECT ticket_id, count(*) FILTER (WHERE author_role = 'agent' AND public) AS replies
  FROM messages
  GROUP BY ticket_id
)
SELECT t.channel,
       count(*) AS solved,
       sum(CASE WHEN r.replies = 1 THEN 1 ELSE 0 END) AS one_touch,
       100.0 * avg(CASE WHEN r.replies = 1 THEN 1.0 ELSE 0.0 END) AS one_touch_pct,
       rate_ci(r.replies = 1)['low'] AS one_touch_pct_low,
       rate_ci(r.replies = 1)['high'] AS one_touch_pct_high,
       avg(r.replies) AS avg_replies
FROM tickets t
JOIN replies r ON r.ticket_id = t.ticket_id
WHERE t.created_at >= $since AND t.created_at < $until AND t.resolved_at IS NOT NULL
GROUP BY t.channel
ORDER BY t.channel

-- name: reopens_and_handoffs
-- description: Per team (the final one): solves per ticket and the share reopened (solved more than once),
--   reassignments (assignee changes after the first assignment) and handoffs between teams (team changes after
--   creation) per ticket and the share handed off, from the field history; tickets created in [since, until).
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
WITH per_ticket AS (
  SELECT ticket_id,
         count(*) FILTER (WHERE field = 'status' AND value = 'solved') AS solves,
         greatest(count(*) FILTER (WHERE field = 'assignee_id') - 1, 0) AS reassignments,
         greatest(count(*) FILTER (WHERE field = 'team') - 1, 0) AS handoffs
  FROM ticket_events
  GROUP BY ticket_id
)
SELECT t.team,
       count(*) AS tickets,
       avg(p.solves) AS solves_per_ticket,
       100.0 * avg(CASE WHEN p.solves > 1 THEN 1.0 ELSE 0.0 END) AS reopened_pct,
       rate_ci(p.solves > 1)['low'] AS reopened_pct_low,
       rate_ci(p.solves > 1)['high'] AS reopened_pct_high,
       avg(p.reassignments) AS reassignments_per_ticket,
       avg(p.handoffs) AS handoffs_per_ticket,
       100.0 * avg(CASE WHEN p.handoffs > 0 THEN 1.0 ELSE 0.0 END) AS handed_off_pct,
       rate_ci(p.handoffs > 0)['low'] AS handed_off_pct_low,
       rate_ci(p.handoffs > 0)['high'] AS handed_off_pct_high
FROM per_ticket p
JOIN tickets t ON t.ticket_id = p.ticket_id
WHERE t.created_at >= $since AND t.created_at < $until
GROUP BY t.team
ORDER BY t.team

-- name: agent_work_time
-- description: Agent work time of solved tickets — the time spent new or open, i.e. waiting on the team, with
--   the clock stopped while pending on the customer or on hold — per channel and priority: median and 90th
--   percentile in hours, on the clock and in business hours on a calendar; tickets created in [since, until)
--   and resolved.
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
-- param: calendar VARCHAR = 'default'
WITH per_ticket AS (
  SELECT ticket_id,
         status_seconds(at, value, ['new', 'open']) AS clock_s,
         status_seconds(at, value, ['new', 'open'], NULL, $calendar) AS business_s
  FROM ticket_events
  WHERE field = 'status'
  GROUP BY ticket_id
)
SELECT t.channel, t.priority,
       count(*) AS solved,
       median(p.clock_s) / 3600 AS median_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY p.clock_s) / 3600 AS p90_hours,
       median(p.business_s) / 3600 AS median_business_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY p.business_s) / 3600 AS p90_business_hours
FROM per_ticket p
JOIN tickets t ON t.ticket_id = p.ticket_id
WHERE t.created_at >= $since AND t.created_at < $until AND t.resolved_at IS NOT NULL
GROUP BY t.channel, t.priority
ORDER BY t.channel, CASE t.priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 WHEN 'low' THEN 4 ELSE 5 END

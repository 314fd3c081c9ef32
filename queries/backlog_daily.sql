-- name: backlog_daily
-- description: Open tickets per channel at each step from start to stop (daily by default), and those open
--   longer than the SLA; one pass over the tickets with backlog_series, however many days.
-- param: start TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: stop TIMESTAMP = '2024-12-31T00:00:00Z'
-- param: step INTERVAL = '1 day'
-- param: sla INTERVAL = '3 days'
SELECT channel, o['at'] AS at, o['open'] AS open_tickets, l['open'] AS past_sla
FROM (
  SELECT channel,
         unnest(backlog_series(created_at, resolved_at, $start, $stop, $step)) AS o,
         unnest(backlog_series(created_at, resolved_at, $start, $stop, $step, $sla)) AS l
  FROM tickets
  GROUP BY channel
)
ORDER BY at, channel

-- name: backlog_by_status_daily
-- description: The backlog by status on each day: for each instant from start to stop by step (midnight UTC
--   daily by default), the tickets in each open status (new, open, pending, hold) then, from the status
--   history with status_at. Tickets closed before start are left out (closed is final).
-- param: start TIMESTAMP = '2024-12-01T00:00:00Z'
-- param: stop TIMESTAMP = '2024-12-31T00:00:00Z'
-- param: step INTERVAL = '1 day'
WITH days AS (
  SELECT unnest(generate_series(CAST($start AS TIMESTAMP), CAST($stop AS TIMESTAMP), CAST($step AS INTERVAL))) AS day
),
live AS (
  SELECT ticket_id, at, value
  FROM ticket_events
  WHERE field = 'status'
    AND ticket_id NOT IN (SELECT ticket_id FROM ticket_events WHERE field = 'status' AND value = 'closed' AND at < $start)
),
states AS (
  SELECT l.ticket_id, d.day, status_at(l.at, l.value, d.day) AS status
  FROM live l CROSS JOIN days d
  WHERE l.at <= d.day
  GROUP BY l.ticket_id, d.day
)
SELECT day,
       count(*) FILTER (WHERE status = 'new') AS new,
       count(*) FILTER (WHERE status = 'open') AS open,
       count(*) FILTER (WHERE status = 'pending') AS pending,
       count(*) FILTER (WHERE status = 'hold') AS hold,
       count(*) FILTER (WHERE status IN ('new', 'open', 'pending', 'hold')) AS backlog
FROM states
GROUP BY day
ORDER BY day

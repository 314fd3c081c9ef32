-- name: time_in_status
-- description: Average hours a ticket spends in each open status (new, open, pending on the customer, hold on a
--   third party) per channel, on the clock and in business hours on a calendar, from its status history
--   (ticket_events); tickets created in [since, until), each counted up to as_of (a ticket still open counts
--   its current status until then).
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
-- param: as_of TIMESTAMP = '2025-01-01T00:00:00Z'
-- param: calendar VARCHAR = 'default'
WITH per_ticket AS (
  SELECT ticket_id,
         status_seconds(at, value, 'new', $as_of) AS new_s,
         status_seconds(at, value, 'open', $as_of) AS open_s,
         status_seconds(at, value, 'pending', $as_of) AS pending_s,
         status_seconds(at, value, 'hold', $as_of) AS hold_s,
         status_seconds(at, value, 'new', $as_of, $calendar) AS new_b,
         status_seconds(at, value, 'open', $as_of, $calendar) AS open_b,
         status_seconds(at, value, 'pending', $as_of, $calendar) AS pending_b,
         status_seconds(at, value, 'hold', $as_of, $calendar) AS hold_b
  FROM ticket_events
  WHERE field = 'status'
  GROUP BY ticket_id
)
SELECT t.channel,
       count(*) AS tickets,
       avg(p.new_s) / 3600 AS new_hours,
       avg(p.open_s) / 3600 AS open_hours,
       avg(p.pending_s) / 3600 AS pending_hours,
       avg(p.hold_s) / 3600 AS hold_hours,
       avg(p.new_b) / 3600 AS new_business_hours,
       avg(p.open_b) / 3600 AS open_business_hours,
       avg(p.pending_b) / 3600 AS pending_business_hours,
       avg(p.hold_b) / 3600 AS hold_business_hours
FROM per_ticket p
JOIN tickets t ON t.ticket_id = p.ticket_id
WHERE t.created_at >= $since AND t.created_at < $until
GROUP BY t.channel
ORDER BY t.channel

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
  -- Every status's seconds in one pass (status_durations), on the clock and on the calendar.
  SELECT ticket_id,
         status_durations(at, value, $as_of) AS clock,
         status_durations(at, value, $as_of, $calendar) AS business
  FROM ticket_events
  WHERE field = 'status'
  GROUP BY ticket_id
),
p AS (
  -- A status a ticket never had is no key of its map: 0 seconds (a ticket with no event by as_of stays NULL).
  SELECT ticket_id,
         CASE WHEN clock IS NULL THEN NULL ELSE coalesce(clock['new'], 0) END AS new_s,
         CASE WHEN clock IS NULL THEN NULL ELSE coalesce(clock['open'], 0) END AS open_s,
         CASE WHEN clock IS NULL THEN NULL ELSE coalesce(clock['pending'], 0) END AS pending_s,
         CASE WHEN clock IS NULL THEN NULL ELSE coalesce(clock['hold'], 0) END AS hold_s,
         CASE WHEN business IS NULL THEN NULL ELSE coalesce(business['new'], 0) END AS new_b,
         CASE WHEN business IS NULL THEN NULL ELSE coalesce(business['open'], 0) END AS open_b,
         CASE WHEN business IS NULL THEN NULL ELSE coalesce(business['pending'], 0) END AS pending_b,
         CASE WHEN business IS NULL THEN NULL ELSE coalesce(business['hold'], 0) END AS hold_b
  FROM per_ticket
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
FROM p
JOIN tickets t ON t.ticket_id = p.ticket_id
WHERE t.created_at >= $since AND t.created_at < $until
GROUP BY t.channel
ORDER BY t.channel

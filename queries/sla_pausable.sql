-- name: sla_pausable
-- description: Pausable resolution SLAs per channel and priority against sla_policies (resolution_hours):
--   agent work time (the clock runs while new or open) and requester wait time (new, open or hold), with the
--   priority in force when the SLA started (the ticket's creation), not its last one; round the clock for
--   policies whose clock is 'calendar', else on the business calendar `calendar`. Tickets created in
--   [since, until), looked at as of as_of (a ticket still running counts as breached once past its target).
--   Breach rates in percent with their 95% Wilson interval.
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
-- param: as_of TIMESTAMP = '2025-01-01T00:00:00Z'
-- param: calendar VARCHAR = 'default'
WITH started AS (
  -- The priority in force at the ticket's creation, from the priority history.
  SELECT e.ticket_id, status_at(e.at, e.value, t.created_at) AS priority
  FROM ticket_events e
  JOIN tickets t ON t.ticket_id = e.ticket_id
  WHERE e.field = 'priority' AND t.created_at >= $since AND t.created_at < $until
  GROUP BY e.ticket_id
),
policy AS (
  SELECT t.ticket_id, t.channel, s.priority, p.resolution_hours * 3600 AS target, p.clock
  FROM started s
  JOIN tickets t ON t.ticket_id = s.ticket_id
  JOIN sla_policies p ON p.channel = t.channel AND p.priority = s.priority
),
clocks AS (
  SELECT e.ticket_id,
         sla_clock(e.at, e.value, ['new', 'open'], p.target, $as_of)['breached'] AS work_clock,
         sla_clock(e.at, e.value, ['new', 'open'], p.target, $as_of)['elapsed_seconds'] AS work_clock_seconds,
         sla_clock(e.at, e.value, ['new', 'open'], p.target, $as_of, $calendar)['breached'] AS work_business,
         sla_clock(e.at, e.value, ['new', 'open'], p.target, $as_of, $calendar)['elapsed_seconds'] AS work_business_seconds,
         sla_clock(e.at, e.value, ['new', 'open', 'hold'], p.target, $as_of)['breached'] AS wait_clock,
         sla_clock(e.at, e.value, ['new', 'open', 'hold'], p.target, $as_of, $calendar)['breached'] AS wait_business
  FROM ticket_events e
  JOIN policy p ON p.ticket_id = e.ticket_id
  WHERE e.field = 'status'
  GROUP BY e.ticket_id
),
flat AS (
  SELECT p.channel, p.priority, p.clock,
         CASE WHEN p.clock = 'calendar' THEN c.work_clock ELSE c.work_business END AS work_breached,
         CASE WHEN p.clock = 'calendar' THEN c.wait_clock ELSE c.wait_business END AS wait_breached,
         CASE WHEN p.clock = 'calendar' THEN c.work_clock_seconds ELSE c.work_business_seconds END AS work_seconds
  FROM clocks c
  JOIN policy p ON p.ticket_id = c.ticket_id
)
SELECT channel, priority,
       count(*) AS tickets,
       min(clock) AS clock,
       100.0 * avg(CASE WHEN work_breached THEN 1.0 ELSE 0.0 END) AS agent_work_breached_pct,
       rate_ci(work_breached)['low'] AS agent_work_breached_pct_low,
       rate_ci(work_breached)['high'] AS agent_work_breached_pct_high,
       100.0 * avg(CASE WHEN wait_breached THEN 1.0 ELSE 0.0 END) AS requester_wait_breached_pct,
       rate_ci(wait_breached)['low'] AS requester_wait_breached_pct_low,
       rate_ci(wait_breached)['high'] AS requester_wait_breached_pct_high,
       median(work_seconds) / 3600 AS median_agent_work_hours
FROM flat
GROUP BY channel, priority
ORDER BY channel, CASE priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 WHEN 'low' THEN 4 ELSE 5 END

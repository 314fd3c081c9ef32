-- name: tickets_past_sla
-- description: Tickets open at the instant at, per channel and priority, and those of them older than the
--   SLA (open longer than sla): the tickets not closed in time.
-- param: at TIMESTAMP = '2024-12-31T23:59:59Z'
-- param: sla INTERVAL = '3 days'
SELECT channel, priority,
       backlog_at(created_at, resolved_at, $at) AS open_tickets,
       backlog_at(created_at, resolved_at, $at, $sla) AS past_sla,
       100.0 * backlog_at(created_at, resolved_at, $at, $sla) / NULLIF(backlog_at(created_at, resolved_at, $at), 0) AS past_sla_pct
FROM tickets
GROUP BY channel, priority
ORDER BY channel, CASE priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 WHEN 'low' THEN 4 ELSE 5 END

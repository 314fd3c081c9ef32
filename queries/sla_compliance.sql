-- name: sla_compliance
-- description: SLA breach rates per channel and priority against the sla_policies table (targets in hours
--   per channel and priority, on the clock or on a business calendar): first reply and resolution, for
--   tickets created in [since, until). A ticket still waiting counts as breached once as_of is past its target.
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
-- param: as_of TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT t.channel, t.priority,
       count(*) AS tickets,
       100.0 * avg(CASE WHEN sla_breached(t.created_at, coalesce(t.first_response_at, $as_of),
                                           p.first_reply_hours * 3600, p.clock) THEN 1 ELSE 0 END) AS first_reply_breached_pct,
       100.0 * avg(CASE WHEN sla_breached(t.created_at, coalesce(t.resolved_at, $as_of),
                                           p.resolution_hours * 3600, p.clock) THEN 1 ELSE 0 END) AS resolution_breached_pct,
       min(p.clock) AS clock
FROM tickets t
JOIN sla_policies p ON p.channel = t.channel AND p.priority = t.priority
WHERE t.created_at >= $since AND t.created_at < $until
GROUP BY t.channel, t.priority
ORDER BY t.channel, CASE t.priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 WHEN 'low' THEN 4 ELSE 5 END

-- agent-work-time SLA breach rate: DuckDB window SQL computing the same (benches/history_compare.py)
WITH s AS (SELECT ticket_id, value, epoch(lead("at") OVER (PARTITION BY ticket_id ORDER BY "at", CASE value WHEN 'new' THEN 0 WHEN 'open' THEN 1 WHEN 'pending' THEN 2 WHEN 'hold' THEN 3 WHEN 'solved' THEN 4 WHEN 'closed' THEN 5 ELSE 6 END, value) - "at") AS secs FROM ticket_events WHERE field = 'status'),
w AS (
  SELECT ticket_id, coalesce(sum(secs) FILTER (WHERE value IN ('new', 'open')), 0) AS work_s
  FROM s GROUP BY ticket_id),
target AS (
  SELECT t.ticket_id, t.channel, t.priority, p.resolution_hours * 3600 AS target_s
  FROM tickets t JOIN sla_policies p ON p.channel = t.channel AND p.priority = t.priority)
SELECT x.channel, x.priority, count(*) AS tickets,
       100.0 * avg(CASE WHEN w.work_s >= x.target_s THEN 1.0 ELSE 0.0 END) AS breached_pct
FROM w JOIN target x ON x.ticket_id = w.ticket_id
GROUP BY x.channel, x.priority ORDER BY x.channel, x.priority

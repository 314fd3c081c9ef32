-- agent-work-time SLA breach rate: cxsql (benches/history_compare.py; also run on serve and --cluster by the tests)
WITH w AS (
  SELECT ticket_id, status_seconds(at, value, ['new', 'open']) AS work_s
  FROM ticket_events WHERE field = 'status' GROUP BY ticket_id),
target AS (
  SELECT t.ticket_id, t.channel, t.priority, p.resolution_hours * 3600 AS target_s
  FROM tickets t JOIN sla_policies p ON p.channel = t.channel AND p.priority = t.priority)
SELECT x.channel, x.priority, count(*) AS tickets,
       100.0 * avg(CASE WHEN w.work_s >= x.target_s THEN 1.0 ELSE 0.0 END) AS breached_pct
FROM w JOIN target x ON x.ticket_id = w.ticket_id
GROUP BY x.channel, x.priority ORDER BY x.channel, x.priority

-- time in status per channel: DuckDB window SQL computing the same (benches/history_compare.py)
WITH s AS (SELECT ticket_id, value, epoch(lead("at") OVER (PARTITION BY ticket_id ORDER BY "at", CASE value WHEN 'new' THEN 0 WHEN 'open' THEN 1 WHEN 'pending' THEN 2 WHEN 'hold' THEN 3 WHEN 'solved' THEN 4 WHEN 'closed' THEN 5 ELSE 6 END, value) - "at") AS secs FROM ticket_events WHERE field = 'status'),
p AS (
  SELECT ticket_id,
         coalesce(sum(secs) FILTER (WHERE value = 'new'), 0) AS new_s,
         coalesce(sum(secs) FILTER (WHERE value = 'open'), 0) AS open_s,
         coalesce(sum(secs) FILTER (WHERE value = 'pending'), 0) AS pending_s,
         coalesce(sum(secs) FILTER (WHERE value = 'hold'), 0) AS hold_s
  FROM s GROUP BY ticket_id)
SELECT t.channel, count(*) AS tickets, avg(new_s) / 3600 AS new_h, avg(open_s) / 3600 AS open_h,
       avg(pending_s) / 3600 AS pending_h, avg(hold_s) / 3600 AS hold_h
FROM p JOIN tickets t ON t.ticket_id = p.ticket_id GROUP BY t.channel ORDER BY t.channel

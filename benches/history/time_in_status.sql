-- time in status per channel: cxsql (benches/history_compare.py; also run on serve and --cluster by the tests)
WITH p AS (
  SELECT ticket_id, status_durations(at, value) AS d
  FROM ticket_events WHERE field = 'status' GROUP BY ticket_id),
s AS (
  SELECT ticket_id, coalesce(d['new'], 0) AS new_s, coalesce(d['open'], 0) AS open_s,
         coalesce(d['pending'], 0) AS pending_s, coalesce(d['hold'], 0) AS hold_s
  FROM p)
SELECT t.channel, count(*) AS tickets, avg(new_s) / 3600 AS new_h, avg(open_s) / 3600 AS open_h,
       avg(pending_s) / 3600 AS pending_h, avg(hold_s) / 3600 AS hold_h
FROM s JOIN tickets t ON t.ticket_id = s.ticket_id GROUP BY t.channel ORDER BY t.channel

-- name: backlog_month_end
-- description: Backlog at the end of each month (the last microsecond, UTC): tickets created by then and
--   not yet resolved, per channel, for the months from since up to until.
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
WITH months AS (
  SELECT unnest(generate_series(date_trunc('month', CAST($since AS TIMESTAMP)),
                                CAST($until AS TIMESTAMP) - INTERVAL '1 month',
                                INTERVAL '1 month')) + INTERVAL '1 month' - INTERVAL '1 microsecond' AS month_end
)
SELECT m.month_end, t.channel, backlog_at(t.created_at, t.resolved_at, m.month_end) AS open_tickets
FROM months m CROSS JOIN tickets t
GROUP BY m.month_end, t.channel
ORDER BY m.month_end, t.channel

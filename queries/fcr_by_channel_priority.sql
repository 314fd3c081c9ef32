-- name: fcr_by_channel_priority
-- description: First-contact resolution per channel and priority: the percentage of resolved tickets
--   (created in [since, until)) that took one contact, with its 95% Wilson interval (fcr_ci) as fcr_low and
--   fcr_high; open tickets (NULL contacts) are not counted.
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT channel, priority, fcr_rate(contacts) AS fcr,
       fcr_ci(contacts)['low'] AS fcr_low, fcr_ci(contacts)['high'] AS fcr_high,
       count(contacts) AS resolved_tickets
FROM tickets
WHERE created_at >= $since AND created_at < $until
GROUP BY channel, priority
ORDER BY channel, CASE priority WHEN 'urgent' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 WHEN 'low' THEN 4 ELSE 5 END

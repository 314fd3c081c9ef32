-- name: next_reply_time_by_agent
-- description: Next reply time credited to the agent who replied: every wait of a customer for a public agent
--   reply after the first one (reply_waits over messages: a wait starts at a customer message and ends at the
--   next public agent reply; notes and system messages never end one), asked in [since, until); median and
--   90th percentile in hours per replier, on the clock and in business hours on a calendar, busiest first.
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
-- param: calendar VARCHAR = 'default'
-- param: top BIGINT = 20
WITH per_ticket AS (
  SELECT ticket_id,
         reply_waits(sent_at, author_role, public, author_id) AS waits,
         reply_waits(sent_at, author_role, public, author_id, $calendar) AS business
  FROM messages
  GROUP BY ticket_id
),
waits AS (
  -- The first wait of a ticket is its first reply time, not a next reply.
  SELECT unnest(array_slice(waits, 2, CAST(cardinality(waits) AS BIGINT))) AS w,
         unnest(array_slice(business, 2, CAST(cardinality(business) AS BIGINT))) AS b
  FROM per_ticket
  WHERE cardinality(waits) > 1
),
credited AS (
  SELECT w['replier_id'] AS replier_id, w['asked_at'] AS asked_at, w['seconds'] AS seconds,
         b['seconds'] AS business_seconds
  FROM waits
)
SELECT c.replier_id AS agent_id,
       a.team,
       count(*) AS replies,
       median(c.seconds) / 3600 AS median_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY c.seconds) / 3600 AS p90_hours,
       median(c.business_seconds) / 3600 AS median_business_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY c.business_seconds) / 3600 AS p90_business_hours
FROM credited c
LEFT JOIN agents a ON a.agent_id = c.replier_id
WHERE c.replier_id IS NOT NULL AND c.asked_at >= $since AND c.asked_at < $until
GROUP BY c.replier_id, a.team
ORDER BY replies DESC, agent_id
LIMIT $top

-- name: churn_by_sla_experience
-- description: Do customers who waited past the SLA leave? The customers active at since, split by whether
--   one of their tickets created in the lookback before since (default 90 days) had, by since, been open
--   longer than its resolution target in sla_policies, on the policy's clock (past_sla) or not (none: no
--   ticket, or every ticket within its target), and their churn by until as in churn_by_segment. A ticket
--   resolved after since counts as past its SLA only if its target had already passed at since.
--   churn_pct_low and churn_pct_high are the rate's 95% Wilson interval (rate_ci).
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
-- param: lookback INTERVAL = '90 days'
WITH past_sla AS (
  SELECT DISTINCT t.customer_id
  FROM tickets t
  JOIN sla_policies p ON p.channel = t.channel AND p.priority = t.priority
  WHERE t.created_at >= $since - $lookback AND t.created_at < $since
    AND sla_breached(t.created_at, least(coalesce(t.resolved_at, $since), $since),
                     p.resolution_hours * 3600, p.clock)
),
experienced AS (
  SELECT c.signed_up_at, c.churned_at,
         CASE WHEN s.customer_id IS NULL THEN 'none' ELSE 'past_sla' END AS sla_experience
  FROM customers c LEFT JOIN past_sla s ON s.customer_id = c.customer_id
)
SELECT sla_experience,
       churn_rate(signed_up_at, churned_at, $since, $until) AS churn_pct,
       (rate_ci(coalesce(churned_at <= $until, false)) FILTER (WHERE signed_up_at <= $since AND (churned_at IS NULL OR churned_at > $since)))['low'] AS churn_pct_low,
       (rate_ci(coalesce(churned_at <= $until, false)) FILTER (WHERE signed_up_at <= $since AND (churned_at IS NULL OR churned_at > $since)))['high'] AS churn_pct_high,
       count(*) FILTER (WHERE signed_up_at <= $since AND (churned_at IS NULL OR churned_at > $since)) AS customers,
       count(*) FILTER (WHERE signed_up_at <= $since AND churned_at > $since AND churned_at <= $until) AS churned
FROM experienced
GROUP BY sla_experience
ORDER BY sla_experience DESC

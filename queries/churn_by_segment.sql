-- name: churn_by_segment
-- description: Customer churn per segment over the period from since to until: of the customers active at
--   since (signed up by then, not churned yet), how many churned by until (churned_at <= until, so that
--   consecutive periods count each churn once) and the churn rate in percent (churn_rate). Customers who
--   sign up during the period are in neither count.
--   churn_pct_low and churn_pct_high are the rate's 95% Wilson interval (rate_ci).
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT segment,
       churn_rate(signed_up_at, churned_at, $since, $until) AS churn_pct,
       (rate_ci(coalesce(churned_at <= $until, false)) FILTER (WHERE signed_up_at <= $since AND (churned_at IS NULL OR churned_at > $since)))['low'] AS churn_pct_low,
       (rate_ci(coalesce(churned_at <= $until, false)) FILTER (WHERE signed_up_at <= $since AND (churned_at IS NULL OR churned_at > $since)))['high'] AS churn_pct_high,
       count(*) FILTER (WHERE signed_up_at <= $since AND (churned_at IS NULL OR churned_at > $since)) AS customers,
       count(*) FILTER (WHERE signed_up_at <= $since AND churned_at > $since AND churned_at <= $until) AS churned
FROM customers
GROUP BY segment
ORDER BY CASE segment WHEN 'smb' THEN 1 WHEN 'mid_market' THEN 2 WHEN 'enterprise' THEN 3 ELSE 4 END, segment

-- name: customer_lifetime_value
-- description: Customer lifetime value per segment: the average monthly revenue of the customers active at
--   since, times the gross margin, divided by the monthly churn rate. The monthly rate is derived from the
--   churn over [since, until] (churn_rate, P) and the period's length in months M (days / 30.436875) as
--   1 - (1 - P)^(1/M), which assumes every customer of the segment is equally likely to churn in any month
--   (a constant rate, so that the expected lifetime is 1 / monthly churn months) and that revenue per customer
--   stays as it is at since. NULL where nobody churned (the formula has no finite value).
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
-- param: margin DOUBLE = '0.7'
WITH segments AS (
  SELECT segment,
         count(*) FILTER (WHERE signed_up_at <= $since AND (churned_at IS NULL OR churned_at > $since)) AS customers,
         avg(monthly_revenue) FILTER (WHERE signed_up_at <= $since AND (churned_at IS NULL OR churned_at > $since))
           AS avg_monthly_revenue,
         churn_rate(signed_up_at, churned_at, $since, $until) AS period_churn_pct
  FROM customers
  GROUP BY segment
),
monthly AS (
  SELECT *,
         100.0 * (1.0 - power(1.0 - period_churn_pct / 100.0,
                              1.0 / ((date_part('epoch', $until) - date_part('epoch', $since)) / 2629746.0)))
           AS monthly_churn_pct
  FROM segments
)
SELECT segment,
       avg_monthly_revenue * $margin / nullif(monthly_churn_pct / 100.0, 0) AS lifetime_value,
       customers, avg_monthly_revenue, period_churn_pct, monthly_churn_pct,
       1.0 / nullif(monthly_churn_pct / 100.0, 0) AS expected_lifetime_months
FROM monthly
ORDER BY CASE segment WHEN 'smb' THEN 1 WHEN 'mid_market' THEN 2 WHEN 'enterprise' THEN 3 ELSE 4 END, segment

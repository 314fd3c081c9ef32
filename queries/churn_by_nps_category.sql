-- name: churn_by_nps_category
-- description: Do detractors churn more? The customers active at since, by the category of their last NPS
--   answer submitted before since (promoter 9-10, passive 7-8, detractor 0-6; none: no answer), and their
--   churn by until (churned_at <= until) as in churn_by_segment. A customer's answers with a NULL score are
--   not answers; of two answers at the same instant, the one with the higher survey_id is the last.
--   churn_pct_low and churn_pct_high are the rate's 95% Wilson interval (rate_ci).
-- param: since TIMESTAMP = '2024-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
WITH last_answer AS (
  SELECT customer_id, last_value(nps_score ORDER BY submitted_at, survey_id) AS score
  FROM surveys
  WHERE submitted_at < $since AND nps_score IS NOT NULL
  GROUP BY customer_id
),
categorized AS (
  SELECT c.signed_up_at, c.churned_at,
         CASE WHEN l.score >= 9 THEN 'promoter' WHEN l.score >= 7 THEN 'passive'
              WHEN l.score >= 0 THEN 'detractor' ELSE 'none' END AS nps_category
  FROM customers c LEFT JOIN last_answer l ON l.customer_id = c.customer_id
)
SELECT nps_category,
       churn_rate(signed_up_at, churned_at, $since, $until) AS churn_pct,
       (rate_ci(coalesce(churned_at <= $until, false)) FILTER (WHERE signed_up_at <= $since AND (churned_at IS NULL OR churned_at > $since)))['low'] AS churn_pct_low,
       (rate_ci(coalesce(churned_at <= $until, false)) FILTER (WHERE signed_up_at <= $since AND (churned_at IS NULL OR churned_at > $since)))['high'] AS churn_pct_high,
       count(*) FILTER (WHERE signed_up_at <= $since AND (churned_at IS NULL OR churned_at > $since)) AS customers,
       count(*) FILTER (WHERE signed_up_at <= $since AND churned_at > $since AND churned_at <= $until) AS churned
FROM categorized
GROUP BY nps_category
ORDER BY CASE nps_category WHEN 'promoter' THEN 1 WHEN 'passive' THEN 2 WHEN 'detractor' THEN 3 ELSE 4 END

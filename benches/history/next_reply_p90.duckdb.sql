-- next reply time p90: DuckDB window SQL computing the same (benches/history_compare.py)
WITH m AS (
  SELECT ticket_id, sent_at, author_role = 'agent' AS is_reply,
         coalesce(sum(CASE WHEN author_role = 'agent' THEN 1 ELSE 0 END) OVER (PARTITION BY ticket_id
           ORDER BY sent_at, author_role = 'agent', author_id
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS replies_before
  FROM messages WHERE author_role = 'customer' OR (author_role = 'agent' AND public)),
w AS (
  SELECT min(sent_at) FILTER (WHERE NOT is_reply) AS asked_at,
         min(sent_at) FILTER (WHERE is_reply) AS replied_at
  FROM m GROUP BY ticket_id, replies_before)
SELECT count(*) AS waits, quantile_cont(epoch(replied_at - asked_at), 0.9) / 3600 AS p90_hours
FROM w WHERE asked_at IS NOT NULL AND replied_at IS NOT NULL

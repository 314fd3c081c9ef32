-- next reply time p90: cxsql (benches/history_compare.py; also run on serve and --cluster by the tests)
SELECT count(*) AS waits, percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) / 3600 AS p90_hours
FROM (SELECT w['seconds'] AS seconds
      FROM (SELECT unnest(reply_waits(sent_at, author_role, public, author_id)) AS w
            FROM messages GROUP BY ticket_id))
WHERE seconds IS NOT NULL

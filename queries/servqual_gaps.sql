-- name: servqual_gaps
-- description: SERVQUAL gap (perception minus expectation, on the 1-7 items) per dimension, with the mean
--   expectation and perception; negative gaps are where service falls short, worst first.
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
SELECT dimension,
       servqual_gap(perception, expectation) AS gap,
       avg(expectation) FILTER (WHERE perception IS NOT NULL) AS expectation,
       avg(perception) FILTER (WHERE expectation IS NOT NULL) AS perception,
       count(perception - expectation) AS responses
FROM servqual
WHERE submitted_at >= $since AND submitted_at < $until
GROUP BY dimension
ORDER BY gap

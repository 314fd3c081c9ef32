-- name: enps_by_team
-- description: Do teams with low eNPS have low CSAT? Per team: the employee NPS of the pulse answers
--   submitted in [since, until) with its confidence interval (nps_ci over enps_score) and the number of
--   answers, next to the CSAT of the surveys submitted in [since, until) about tickets its agents handled
--   (the team of the ticket's agent in agents) and their number.
-- param: since TIMESTAMP = '2021-01-01T00:00:00Z'
-- param: until TIMESTAMP = '2025-01-01T00:00:00Z'
-- param: confidence DOUBLE = '0.95'
WITH pulse AS (
  SELECT team, nps(enps_score) AS enps, nps_ci(enps_score, $confidence) AS ci,
         count(enps_score) AS pulse_answers
  FROM employee_pulse
  WHERE submitted_at >= $since AND submitted_at < $until
  GROUP BY team
),
satisfaction AS (
  SELECT a.team, csat(s.csat_score) AS csat, count(s.csat_score) AS csat_answers
  FROM surveys s
  JOIN tickets t ON t.ticket_id = s.ticket_id
  JOIN agents a ON a.agent_id = t.agent_id
  WHERE s.submitted_at >= $since AND s.submitted_at < $until
  GROUP BY a.team
)
SELECT coalesce(p.team, s.team) AS team, p.enps, p.ci['low'] AS enps_low, p.ci['high'] AS enps_high,
       p.pulse_answers, s.csat, s.csat_answers
FROM pulse p FULL OUTER JOIN satisfaction s ON s.team = p.team
ORDER BY team

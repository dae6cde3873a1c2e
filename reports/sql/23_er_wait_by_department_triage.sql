-- title: Average ER wait by department and triage level
-- source: SOURCE_SYSTEMS E: average wait per department x triage
-- chart: label=er_department,triage_level value=avg_wait_minutes
SELECT er_department, triage_level, count(*) AS visits, round(avg(wait_minutes), 1) AS avg_wait_minutes,
       max(wait_minutes) AS max_wait_minutes
FROM encounters
WHERE dt = '${day}' AND event = 'er_triage'
GROUP BY er_department, triage_level
ORDER BY er_department, triage_level

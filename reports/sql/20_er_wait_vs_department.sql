-- title: ER wait against the department average, ranked
-- source: SOURCE_SYSTEMS E: wait time vs department average with rank
-- chart: label=er_department,patient_id value=minutes_over_average
SELECT er_department, patient_id, triage_level, wait_minutes,
       round(avg(wait_minutes) OVER (PARTITION BY er_department), 1) AS department_avg_wait,
       round(wait_minutes - avg(wait_minutes) OVER (PARTITION BY er_department), 1) AS minutes_over_average,
       rank() OVER (PARTITION BY er_department ORDER BY wait_minutes DESC) AS wait_rank
FROM encounters
WHERE dt = '${day}' AND event = 'er_triage'
ORDER BY er_department, wait_rank, patient_id

-- title: Per-branch totals, critical count and average stay
-- source: SOURCE_SYSTEMS A report 12; dashboard Resource Utilization
-- chart: label=hospital_id value=admissions,critical
SELECT hospital_id, count_if(event = 'admission') AS admissions,
       count_if(event = 'admission' AND critical_condition) AS critical,
       round(avg(CASE WHEN event = 'discharge' THEN length_of_stay_days END), 2) AS avg_stay_days
FROM encounters
WHERE dt = '${day}' AND event IN ('admission', 'discharge')
GROUP BY hospital_id
ORDER BY hospital_id

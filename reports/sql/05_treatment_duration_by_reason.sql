-- title: Average treatment duration by reason (minutes)
-- source: SOURCE_SYSTEMS A report 5
-- chart: label=reason_for_visit value=avg_treatment_minutes
SELECT reason_for_visit, count(*) AS discharges, round(avg(treatment_minutes), 1) AS avg_treatment_minutes
FROM encounters
WHERE dt = '${day}' AND event = 'discharge'
GROUP BY reason_for_visit
ORDER BY avg_treatment_minutes DESC, reason_for_visit

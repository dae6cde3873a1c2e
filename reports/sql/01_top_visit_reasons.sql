-- title: Top 5 visit reasons
-- source: SOURCE_SYSTEMS A report 1; dashboard Patient Inflow
-- chart: label=reason_for_visit value=admissions
SELECT reason_for_visit, count(*) AS admissions
FROM encounters
WHERE dt = '${day}' AND event = 'admission'
GROUP BY reason_for_visit
ORDER BY admissions DESC, reason_for_visit
LIMIT 5

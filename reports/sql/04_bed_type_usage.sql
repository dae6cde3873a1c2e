-- title: Bed type usage
-- source: SOURCE_SYSTEMS A report 4; dashboard Resource Utilization
-- chart: label=bed_type value=admissions
SELECT bed_type, count(*) AS admissions
FROM encounters
WHERE dt = '${day}' AND event IN ('admission', 'transfer')
GROUP BY bed_type
ORDER BY admissions DESC, bed_type

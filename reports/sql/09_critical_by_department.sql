-- title: Critical cases by department
-- source: SOURCE_SYSTEMS A report 9; dashboard Hospital Load by Department
-- chart: label=department value=critical_cases
SELECT unit AS department, count_if(critical_condition) AS critical_cases, count(*) AS admissions
FROM encounters
WHERE dt = '${day}' AND event IN ('admission', 'er_triage')
GROUP BY unit
ORDER BY critical_cases DESC, department

-- title: Patients by department
-- source: SOURCE_SYSTEMS A report 2; dashboard Hospital Load by Department
-- chart: label=department value=patients
SELECT unit AS department, count(DISTINCT patient_id) AS patients
FROM encounters
WHERE dt = '${day}' AND event IN ('admission', 'transfer', 'er_triage')
GROUP BY unit
ORDER BY patients DESC, department

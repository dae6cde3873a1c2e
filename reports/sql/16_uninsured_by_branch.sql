-- title: Uninsured patients per branch
-- source: SOURCE_SYSTEMS A report 16; dashboard Financial Risk
-- chart: label=hospital_id value=uninsured_patients
SELECT hospital_id, count(DISTINCT patient_id) AS uninsured_patients
FROM encounters
WHERE dt = '${day}' AND event = 'admission' AND (insurance_provider IS NULL OR insurance_provider = 'none')
GROUP BY hospital_id
ORDER BY uninsured_patients DESC, hospital_id

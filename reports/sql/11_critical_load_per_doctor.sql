-- title: Critical load per doctor
-- source: SOURCE_SYSTEMS A report 11; dashboard Doctor Critical Load
-- chart: label=doctor_id value=critical_patients
SELECT doctor_id, count(*) AS patients, count_if(critical_condition) AS critical_patients,
       count_if(is_emergency) AS emergencies, count_if(readmission_30d) AS readmissions
FROM encounters
WHERE dt = '${day}' AND event = 'admission'
GROUP BY doctor_id
ORDER BY critical_patients DESC, doctor_id

-- title: Low-oxygen patients (SpO2 < 92)
-- source: SOURCE_SYSTEMS A report 10, from every reading rather than one value per visit
SELECT hospital_id, unit, bed, patient_id, min(spo2) AS lowest_spo2, count(*) AS readings_below_92,
       min(ts) AS first_below, max(ts) AS last_below
FROM vitals
WHERE dt = '${day}' AND spo2 < 92
GROUP BY hospital_id, unit, bed, patient_id
ORDER BY lowest_spo2, patient_id

-- title: Low-oxygen patients (SpO2 below target: < 92%, or < 88% on SpO2 scale 2)
-- source: SOURCE_SYSTEMS A report 10, from every reading rather than one value per visit. A patient
-- on NEWS2 SpO2 scale 2 (hypercapnic respiratory failure, prescribed target 88-92%, RCP NEWS2 2017)
-- is low only below 88%.
-- chart: label=hospital_id,unit,bed value=readings_below_target
SELECT hospital_id, unit, bed, patient_id, max(coalesce(spo2_scale, 1)) AS spo2_scale, min(spo2) AS lowest_spo2,
       count(*) AS readings_below_target, min(ts) AS first_below, max(ts) AS last_below
FROM vitals
WHERE dt = '${day}' AND spo2 < CASE WHEN spo2_scale = 2 THEN 88 ELSE 92 END
GROUP BY hospital_id, unit, bed, patient_id
ORDER BY lowest_spo2, patient_id

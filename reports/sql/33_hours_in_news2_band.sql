-- title: Patient-hours spent in each NEWS2 band
-- source: WardWatch KPI. Each monitored minute counts in the worst band seen in that minute.
-- chart: label=hospital_id,unit value=patient_hours series=band
SELECT hospital_id, unit, coalesce(news2_band_worst, 'not scored') AS band,
       round(CAST(count(*) AS DOUBLE) / 60, 2) AS patient_hours, count(DISTINCT patient_id) AS patients
FROM vitals_1m
WHERE dt = '${day}'
GROUP BY hospital_id, unit, coalesce(news2_band_worst, 'not scored')
ORDER BY hospital_id, unit, band

-- title: Sickest patients right now (latest NEWS2 per patient, last 60 minutes of the day's data)
-- source: WardWatch KPI; the ward view of the newest complete score per patient
-- chart: label=hospital_id,unit,bed value=news2_total
WITH latest AS (
  SELECT patient_id, max_by(hospital_id, ts) AS hospital_id, max_by(unit, ts) AS unit, max_by(bed, ts) AS bed,
         max_by(news2_total, ts) AS news2_total, max_by(news2_band, ts) AS news2_band, max(ts) AS last_reading
  FROM vitals
  WHERE dt = '${day}' AND news2_total IS NOT NULL
  GROUP BY patient_id
)
SELECT hospital_id, unit, bed, patient_id, news2_total, news2_band, last_reading
FROM latest
WHERE last_reading >= (SELECT max(last_reading) FROM latest) - INTERVAL '60' MINUTE
ORDER BY news2_total DESC, last_reading DESC, patient_id
LIMIT 20

-- title: Alert burden per 100 patient-hours
-- source: WardWatch KPI (CLINICAL.md alarm fatigue). Patient-hours = monitored patient-minutes / 60
-- from vitals_1m (a patient counts for a minute in which it sent a reading).
-- chart: label=hospital_id,unit value=alerts_per_100_patient_hours
WITH monitored AS (
  SELECT hospital_id, unit, count(*) AS patient_minutes
  FROM vitals_1m WHERE dt = '${day}' GROUP BY hospital_id, unit
), raised AS (
  SELECT hospital_id, unit, count(*) AS alerts
  FROM alerts WHERE dt = '${day}' AND status IN ('open', 'escalated', 're-alert') GROUP BY hospital_id, unit
)
SELECT m.hospital_id, m.unit, round(CAST(m.patient_minutes AS DOUBLE) / 60, 2) AS patient_hours,
       coalesce(r.alerts, 0) AS alerts,
       round(100 * CAST(coalesce(r.alerts, 0) AS DOUBLE) / (CAST(m.patient_minutes AS DOUBLE) / 60), 2)
         AS alerts_per_100_patient_hours
FROM monitored m
LEFT JOIN raised r ON r.hospital_id = m.hospital_id AND r.unit = m.unit
ORDER BY alerts_per_100_patient_hours DESC, m.hospital_id, m.unit

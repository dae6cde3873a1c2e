-- title: Count and average stay per bed type (discharged today)
-- source: SOURCE_SYSTEMS A report 17; dashboard Resource Utilization. Bed type from the visit's
-- admission or transfer in the 60 days before (partition-pruned).
-- chart: label=bed_type value=avg_stay_days
WITH beds AS (
  SELECT encounter_id, max_by(bed_type, ts) AS bed_type
  FROM encounters
  WHERE dt BETWEEN CAST(date_add('day', -60, DATE '${day}') AS varchar) AND '${day}'
    AND event IN ('admission', 'transfer') AND bed_type IS NOT NULL
  GROUP BY encounter_id
)
SELECT coalesce(b.bed_type, 'unknown') AS bed_type, count(*) AS discharges,
       round(avg(d.length_of_stay_days), 2) AS avg_stay_days
FROM encounters d
LEFT JOIN beds b ON b.encounter_id = d.encounter_id
WHERE d.dt = '${day}' AND d.event = 'discharge'
GROUP BY coalesce(b.bed_type, 'unknown')
ORDER BY discharges DESC, bed_type

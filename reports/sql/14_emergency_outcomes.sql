-- title: Emergency vs non-emergency outcomes (discharged today)
-- source: SOURCE_SYSTEMS A report 14. The visit's emergency flag comes from its admission or
-- triage event, looked up in the 60 days before (partition-pruned).
-- chart: label=visit_type value=avg_stay_days
WITH visits AS (
  SELECT encounter_id, bool_or(is_emergency) AS is_emergency
  FROM encounters
  WHERE dt BETWEEN CAST(date_add('day', -60, DATE '${day}') AS varchar) AND '${day}'
    AND event IN ('admission', 'er_triage')
  GROUP BY encounter_id
)
SELECT CASE WHEN v.is_emergency THEN 'emergency' ELSE 'non-emergency' END AS visit_type,
       count(*) AS discharges, round(avg(d.length_of_stay_days), 2) AS avg_stay_days,
       count_if(d.readmission_30d) AS readmissions
FROM encounters d
LEFT JOIN visits v ON v.encounter_id = d.encounter_id
WHERE d.dt = '${day}' AND d.event = 'discharge'
GROUP BY CASE WHEN v.is_emergency THEN 'emergency' ELSE 'non-emergency' END
ORDER BY visit_type
